using System.CommandLine;
using k8s;
using k8s.Autorest;
using Notary.Cli.Kube;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Grains.Issuers;
using Notary.Grains.Policies;
using Notary.Pki;

namespace Notary.Cli.Commands;

/// <summary>
/// <c>policy check NAMESPACE DNSNAME...</c>: whether a Certificate in NAMESPACE may obtain those
/// names, decided by the grains' own <see cref="NamePolicy"/> over the cluster's
/// CertificatePolicies and the namespace's labels read from the API server, so the answer is the
/// controller's. Exit 0 allowed (naming the policy that allows it), 1 refused (the refusal, as
/// the Certificate's PolicyDenied condition would say it, on stderr).
/// </summary>
public static class PolicyCommand
{
    public static Command Create()
    {
        var policy = new Command("policy", "Checks names against Notary's name policy (CertificatePolicies).");
        var check = new Command("check", "Whether a Certificate in NAMESPACE may obtain DNSNAME (and more names, as spec.alt), which policy allows or refuses it, and why. Exit 0 allowed, 1 refused.");
        var ns = new Argument<string>("NAMESPACE") { Description = "The namespace the Certificate would be in." };
        var names = new Argument<string[]>("DNSNAME") { Description = "The name (spec.fqdn), then any spec.alt names.", Arity = ArgumentArity.OneOrMore };
        var type = new Option<string>("--type") { Description = "Private (default) or Public.", DefaultValueFactory = _ => NamePolicy.Private };
        type.AcceptOnlyFromAmong(NamePolicy.Private, "Public");
        var issuer = new Option<string>("--issuer") { Description = "The issuer, as CertificatePolicy spec.issuers names it: a configured issuer (default builtin), Issuer/NAME or ClusterIssuer/NAME.", DefaultValueFactory = _ => BuiltInIssuer.DefaultName };
        var duration = new Option<string?>("--duration") { Description = $"The requested lifetime, a Go duration (default {GoDuration.Format(Grains.Policies.CertificatePolicy.DefaultLifetime)})." };
        var key = new Option<string>("--key-algorithm") { Description = "RSA (default) or ECDSA.", DefaultValueFactory = _ => "RSA" };
        key.AcceptOnlyFromAmong("RSA", "ECDSA");
        var domain = new Option<string>("--cluster-domain") { Description = $"The cluster's DNS domain, as Notary:Policy:ClusterDomain (default {NamePolicy.DefaultClusterDomain}).", DefaultValueFactory = _ => NamePolicy.DefaultClusterDomain };
        check.Arguments.Add(ns);
        check.Arguments.Add(names);
        check.Options.Add(type);
        check.Options.Add(issuer);
        check.Options.Add(duration);
        check.Options.Add(key);
        check.Options.Add(domain);
        CliAction.Set(check, async (parsed, cancellationToken) =>
        {
            var lifetime = Grains.Policies.CertificatePolicy.DefaultLifetime;
            if (parsed.GetValue(duration) is { } given && (!GoDuration.TryParse(given, out lifetime, out _) || lifetime <= TimeSpan.Zero))
            {
                throw new CliFailureException($"--duration \"{given}\" is not a positive duration such as 720h.", ExitCodes.BadArguments);
            }

            using var connection = KubeConnection.Open(parsed);
            var request = new NameRequest(parsed.GetValue(ns)!, parsed.GetValue(type)!, parsed.GetValue(names)!, parsed.GetValue(issuer)!, lifetime, parsed.GetValue(key)!);
            var (problem, allowedBy) = await CheckAsync(connection.Client, request, parsed.GetValue(domain)!, cancellationToken);
            var what = $"{string.Join(", ", request.Names)} ({request.Type}) in namespace {request.Namespace}";
            if (problem is not null)
            {
                await Console.Error.WriteLineAsync($"refused: {what}: {problem.Message}");
                return ExitCodes.Failed;
            }

            await Console.Out.WriteLineAsync($"allowed: {what}, by {allowedBy}.");
            return ExitCodes.Ok;
        });
        policy.Subcommands.Add(check);
        return policy;
    }

    /// <summary>The controller's decision for <paramref name="request"/>; when allowed, which policy allows it.</summary>
    public static async Task<(Problem? Problem, string AllowedBy)> CheckAsync(IKubernetes client, NameRequest request, string clusterDomain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        IReadOnlyDictionary<string, string> labels;
        try
        {
            var found = await client.CoreV1.ReadNamespaceAsync(request.Namespace, cancellationToken: cancellationToken);
            labels = found.Metadata?.Labels is { } present ? new Dictionary<string, string>(present, StringComparer.Ordinal) : new Dictionary<string, string>();
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            throw new CliFailureException($"Error from server (NotFound): namespaces \"{request.Namespace}\" not found");
        }

        var list = await client.CustomObjects.ListClusterCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, "certificatepolicies", cancellationToken: cancellationToken);
        var policies = KubernetesJson.Deserialize<CertificatePolicyList>(KubernetesJson.Serialize(list)).Items
            .Select(p => new NamedCertificatePolicy(p.Metadata.Name, CertificatePolicyMapping.ToSpec(p.Spec)))
            .ToList();

        // As the certificate grain does: which namespaces named by SERVICE.NAMESPACE names exist.
        var existing = new HashSet<string>(StringComparer.Ordinal) { request.Namespace };
        foreach (var candidate in NamePolicy.TwoLabelNamespaces(request.Names))
        {
            try
            {
                await client.CoreV1.ReadNamespaceAsync(candidate, cancellationToken: cancellationToken);
                existing.Add(candidate);
            }
            catch (HttpOperationException ex) when (ex.IsNotFound())
            {
            }
        }

        var problem = NamePolicy.Check(request, labels, policies, clusterDomain, existing.Contains);
        if (problem is not null)
        {
            return (problem, string.Empty);
        }

        var selecting = policies.Where(p => NamePolicy.Validate(p.Spec) is null && NamePolicy.Selects(p.Spec.NamespaceSelector, labels)).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        if (selecting.Count == 0)
        {
            return (null, "the default policy (no CertificatePolicy selects the namespace)");
        }

        var allowing = selecting.Where(p => NamePolicy.Check(request, labels, [p], clusterDomain, existing.Contains) is null).Select(p => $"\"{p.Name}\"");
        return (null, $"CertificatePolicy {string.Join(", ", allowing)}");
    }
}
