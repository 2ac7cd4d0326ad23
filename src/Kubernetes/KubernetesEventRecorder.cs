using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="IEventRecorder"/>: records core/v1 Events on Notary's resources, as
/// <c>kubectl describe</c> lists them (by involvedObject.uid, so the uid is looked up and cached
/// for a minute). Like client-go's correlator, a repeat of the same type, reason and message on
/// the same object within <see cref="NotaryKubernetesOptions.EventCorrelationWindow"/> increments
/// the count and last timestamp of the existing Event instead of creating another.
/// </summary>
public sealed class KubernetesEventRecorder : IEventRecorder, IDisposable
{
    /// <summary>Longer messages are cut: Events are for people, and events.k8s.io caps a note at 1 kB.</summary>
    public const int MaxMessageLength = 1024;

    private static readonly TimeSpan UidLifetime = TimeSpan.FromMinutes(1);
    private const int MaxRemembered = 4096;

    private readonly IKubernetes _client;
    private readonly NotaryKubernetesOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<KubernetesEventRecorder> _logger;
    private readonly string _instance;
    private readonly ConcurrentDictionary<(ResourceKind Kind, ResourceKey Resource), (string Uid, DateTimeOffset Until)> _uids = new();
    private readonly ConcurrentDictionary<Correlation, Recorded> _recent = new();

    // Recording one correlation key at a time keeps counts exact; unrelated Events use other stripes.
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, 16).Select(_ => new SemaphoreSlim(1, 1))];
    private long _lastSuffix;

    public KubernetesEventRecorder(IKubernetes client, IOptions<NotaryKubernetesOptions> options, TimeProvider time, ILogger<KubernetesEventRecorder> logger)
    {
        _client = client;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _instance = Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod ? pod : Environment.MachineName;
    }

    public Task RecordAsync(ResourceKey resource, ResourceKind kind, EventSeverity severity, string reason, string message, CancellationToken cancellationToken) =>
        RecordAsync(kind, resource, uid: null, severity, reason, message, cancellationToken);

    public Task RecordAsync(ResourceKey resource, ResourceKind kind, string? uid, EventSeverity severity, string reason, string message, CancellationToken cancellationToken) =>
        RecordAsync(kind, resource, uid, severity, reason, message, cancellationToken);

    /// <summary>
    /// Records an Event on an object whose uid the caller already knows (or null to look it up),
    /// e.g. one that is about to disappear once its finalizer is removed.
    /// </summary>
    public async Task RecordAsync(ResourceKind kind, ResourceKey resource, string? uid, EventSeverity severity, string reason, string message, CancellationToken cancellationToken)
    {
        uid ??= await LookUpUidAsync(kind, resource, reason, cancellationToken).ConfigureAwait(false);
        var involved = new V1ObjectReference
        {
            ApiVersion = NotaryResources.ApiVersion,
            Kind = ResourceKinds.KubeKind(kind),
            Name = resource.Name,
            // A cluster-scoped object (a ClusterIssuer) has no namespace: kubectl describe finds
            // its Events by involvedObject.namespace="" (and they are stored in "default").
            NamespaceProperty = ResourceKinds.IsClusterScoped(kind) ? null : resource.Namespace,
            Uid = uid,
        };
        await RecordAsync(involved, severity, reason, message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records an Event on any object (a cluster-scoped one without a namespace, stored in "default"), such as a Deployment Notary restarted, named by
    /// the caller (apiVersion, kind, namespace, name and, so that <c>kubectl describe</c> lists it,
    /// uid). Repeats are correlated as for Notary's own resources.
    /// </summary>
    public async Task RecordAsync(V1ObjectReference involvedObject, EventSeverity severity, string reason, string message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(involvedObject);
        if (message.Length > MaxMessageLength)
        {
            message = string.Concat(message.AsSpan(0, MaxMessageLength - 1), "…");
        }

        var type = severity == EventSeverity.Warning ? "Warning" : "Normal";
        var eventNamespace = EventNamespace(involvedObject);
        var key = new Correlation(involvedObject.ApiVersion ?? string.Empty, involvedObject.Kind ?? string.Empty, eventNamespace, involvedObject.Name, involvedObject.Uid ?? string.Empty, type, reason, message);
        var target = $"{involvedObject.NamespaceProperty}/{involvedObject.Name}";
        var stripe = _stripes[(key.GetHashCode() & int.MaxValue) % _stripes.Length];
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = TruncateToSeconds(_time.GetUtcNow());
            Forget(now);
            if (_recent.TryGetValue(key, out var seen) && now - seen.Last < _options.EventCorrelationWindow
                && await TryIncrementAsync(eventNamespace, seen, now, cancellationToken).ConfigureAwait(false))
            {
                _recent[key] = seen with { Count = seen.Count + 1, Last = now };
                Log.EventRecorded(_logger, type, reason, key.Kind, target, seen.Count + 1);
                return;
            }

            var name = await CreateAsync(involvedObject, type, reason, message, now, cancellationToken).ConfigureAwait(false);
            _recent[key] = new Recorded(name, 1, now);
            Log.EventRecorded(_logger, type, reason, key.Kind, target, 1);
        }
        finally
        {
            stripe.Release();
        }
    }

    public void Dispose()
    {
        foreach (var stripe in _stripes)
        {
            stripe.Dispose();
        }
    }

    private async Task<bool> TryIncrementAsync(string @namespace, Recorded seen, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var patch = new JsonObject
        {
            ["count"] = seen.Count + 1,
            ["lastTimestamp"] = JsonNode.Parse(KubernetesJson.Serialize(now.UtcDateTime)),
        };
        try
        {
            await _client.CoreV1.PatchNamespacedEventAsync(
                new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
                seen.Name,
                @namespace,
                fieldManager: _options.Component,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            // The Event expired (the API server keeps them for an hour by default): start a new one.
            return false;
        }
    }

    private async Task<string> CreateAsync(V1ObjectReference involvedObject, string type, string reason, string message, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var @namespace = EventNamespace(involvedObject);
        for (var attempt = 0; ; attempt++)
        {
            var name = EventName(involvedObject.Name, now);
            var body = new Corev1Event
            {
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace },
                InvolvedObject = involvedObject,
                Type = type,
                Reason = reason,
                Message = message,
                Source = new V1EventSource { Component = _options.Component, Host = _instance },
                ReportingComponent = _options.Component,
                ReportingInstance = _instance,
                FirstTimestamp = now.UtcDateTime,
                LastTimestamp = now.UtcDateTime,
                Count = 1,
            };
            try
            {
                await _client.CoreV1.CreateNamespacedEventAsync(body, @namespace, fieldManager: _options.Component, cancellationToken: cancellationToken).ConfigureAwait(false);
                return name;
            }
            catch (HttpOperationException ex) when (ex.IsConflict() && attempt < 3)
            {
                // Two Events in the same instant: the next name is unique.
            }
        }
    }

    /// <summary>
    /// Where an Event on the object is stored: its own namespace, or "default" for a cluster-scoped
    /// object (as the API server and client-go do for Nodes; core/v1 validation accepts only that).
    /// </summary>
    public static string EventNamespace(V1ObjectReference involvedObject)
    {
        ArgumentNullException.ThrowIfNull(involvedObject);
        return string.IsNullOrEmpty(involvedObject.NamespaceProperty) ? "default" : involvedObject.NamespaceProperty;
    }

    /// <summary>NAME.HEX as client-go names Events; the suffix grows strictly, so names never repeat in-process.</summary>
    private string EventName(string resourceName, DateTimeOffset now)
    {
        var nanos = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        long suffix;
        long last;
        do
        {
            last = Interlocked.Read(ref _lastSuffix);
            suffix = Math.Max(nanos, last + 1);
        }
        while (Interlocked.CompareExchange(ref _lastSuffix, suffix, last) != last);

        var hex = suffix.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        var prefix = resourceName.Length + 1 + hex.Length > 253 ? resourceName[..(252 - hex.Length)].TrimEnd('.', '-') : resourceName;
        return $"{prefix}.{hex}";
    }

    private async Task<string?> LookUpUidAsync(ResourceKind kind, ResourceKey resource, string reason, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_uids.TryGetValue((kind, resource), out var cached) && cached.Until > now)
        {
            return cached.Uid;
        }

        try
        {
            var found = ResourceKinds.IsClusterScoped(kind)
                ? await _client.CustomObjects.GetClusterCustomObjectAsync(
                    NotaryResources.Group, NotaryResources.Version, ResourceKinds.Plural(kind), resource.Name, cancellationToken).ConfigureAwait(false)
                : await _client.CustomObjects.GetNamespacedCustomObjectAsync(
                    NotaryResources.Group, NotaryResources.Version, resource.Namespace, ResourceKinds.Plural(kind), resource.Name, cancellationToken).ConfigureAwait(false);
            var uid = KubernetesJson.Deserialize<PartialObject>(KubernetesJson.Serialize(found)).Metadata?.Uid;
            if (!string.IsNullOrEmpty(uid))
            {
                _uids[(kind, resource)] = (uid, now + UidLifetime);
            }

            return uid;
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            _uids.TryRemove((kind, resource), out _);
            Log.EventTargetGone(_logger, kind, resource, reason);
            return null;
        }
    }

    private void Forget(DateTimeOffset now)
    {
        if (_recent.Count < MaxRemembered)
        {
            return;
        }

        foreach (var (key, recorded) in _recent)
        {
            if (now - recorded.Last >= _options.EventCorrelationWindow)
            {
                _recent.TryRemove(key, out _);
            }
        }

        // Still full of recent Events: forget the oldest half rather than grow without bound.
        if (_recent.Count >= MaxRemembered)
        {
            foreach (var (key, _) in _recent.OrderBy(pair => pair.Value.Last).Take(_recent.Count / 2))
            {
                _recent.TryRemove(key, out _);
            }
        }

        foreach (var (key, value) in _uids)
        {
            if (value.Until <= now)
            {
                _uids.TryRemove(key, out _);
            }
        }
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private sealed record Correlation(string ApiVersion, string Kind, string Namespace, string Name, string Uid, string Type, string Reason, string Message);

    private sealed record Recorded(string Name, int Count, DateTimeOffset Last);

    /// <summary>Just the metadata of any object.</summary>
    private sealed class PartialObject
    {
        [System.Text.Json.Serialization.JsonPropertyName("metadata")]
        public V1ObjectMeta? Metadata { get; set; }
    }
}
