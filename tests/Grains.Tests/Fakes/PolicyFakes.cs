using System.Collections.Concurrent;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Tests.Fakes;

/// <summary>
/// Namespace labels as a real API server has them (<c>kubernetes.io/metadata.name</c>), plus
/// what a test sets. Namespaces named <c>p-…</c> (<see cref="ClusterFixture.NewPublicNamespace"/>)
/// carry <see cref="PublicLabel"/>, which the fixture's CertificatePolicy lets have Public certificates.
/// The test namespaces (t-…, p-…, l-…) exist, and those a test sets labels for; no other.
/// </summary>
public sealed class InMemoryNamespaceLabels : INamespaceLabelSource
{
    public const string PublicLabel = "notary.test/public";

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, string>> _labels = new(StringComparer.Ordinal);

    public void Set(string @namespace, string key, string value) =>
        _labels.GetOrAdd(@namespace, _ => new(StringComparer.Ordinal))[key] = value;

    public Task<IReadOnlyDictionary<string, string>?> GetLabelsAsync(string @namespace, CancellationToken cancellationToken)
    {
        if (!(@namespace.StartsWith("t-", StringComparison.Ordinal) || @namespace.StartsWith("p-", StringComparison.Ordinal) || @namespace.StartsWith("l-", StringComparison.Ordinal) || _labels.ContainsKey(@namespace)))
        {
            return Task.FromResult<IReadOnlyDictionary<string, string>?>(null);
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["kubernetes.io/metadata.name"] = @namespace };
        if (@namespace.StartsWith("p-", StringComparison.Ordinal))
        {
            labels[PublicLabel] = "true";
        }

        foreach (var (key, value) in _labels.GetValueOrDefault(@namespace) ?? new())
        {
            labels[key] = value;
        }

        return Task.FromResult<IReadOnlyDictionary<string, string>?>(labels);
    }
}

/// <summary>The CertificatePolicies' statuses as the grain last wrote them, by name.</summary>
public sealed class RecordingPolicyStatus : ICertificatePolicyStatusWriter
{
    private readonly ConcurrentDictionary<string, StatusCondition> _ready = new(StringComparer.Ordinal);

    public StatusCondition? Ready(string name) => _ready.GetValueOrDefault(name);

    public Task WriteAsync(string name, StatusCondition ready, long observedGeneration, CancellationToken cancellationToken)
    {
        _ready[name] = ready;
        return Task.CompletedTask;
    }
}
