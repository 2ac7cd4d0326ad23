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
/// <c>policy check NAMESPACE DNSNAME... | --certificate NS/NAME</c>: whether a Certificate in
/// NAMESPACE may obtain those names (or an existing Certificate its spec), validated as the
/// controller validates a spec and decided by the grains' own <see cref="NamePolicy"/> over the cluster's
/// CertificatePolicies and the namespace's labels read from the API server, so the answer is the
/// controller's. Exit 0 allowed (naming the policy that allows it), 1 refused (the refusal, as
/// the Certificate's PolicyDenied condition would say it, on stderr). The first line states what
/// it assumed and cannot read from the cluster: the default issuer (builtin, acm with the ACM
/// backend) and the cluster domain.
/// </summary>
public static class PolicyCommand
{
    public static Command Create()
    {
        var policy = new Command("policy", "Checks names against Notary's name policy (CertificatePolicies).");
        var check = new Command("check", "Whether a Certificate in NAMESPACE may obtain DNSNAME (and more names, as spec.alt), which policy allows or refuses it, and why. Exit 0 allowed, 1 refused.");
        var ns = new Argument<string?>("NAMESPACE") { Description = "The namespace the Certificate would be in (not with --certificate).", Arity = ArgumentArity.ZeroOrOne };
        var names = new Argument<string[]>("DNSNAME") { Description = "The name (spec.fqdn), then any spec.alt names (not with --certificate).", Arity = ArgumentArity.ZeroOrMore };
        var certificate = new Option<string?>("--certificate") { Description = "NAMESPACE/NAME of an existing Certificate: checks its real spec (names, type, issuer, duration, key) instead of NAMESPACE DNSNAME and the options." };
        var type = new Option<string>("--type") { Description = "Private (default) or Public.", DefaultValueFactory = _ => NamePolicy.Private };
        type.AcceptOnlyFromAmong(NamePolicy.Private, "Public");
        var issuer = new Option<string?>("--issuer") { Description = $"The issuer, as CertificatePolicy spec.issuers names it: a configured issuer, Issuer/NAME or ClusterIssuer/NAME. Default: the controller's default issuer, assumed {BuiltInIssuer.DefaultName} ({AcmDefaultIssuer} when Notary runs with the ACM backend: pass --issuer {AcmDefaultIssuer})." };
        var duration = new Option<string?>("--duration") { Description = $"The requested lifetime, a Go duration (default {GoDuration.Format(Grains.Policies.CertificatePolicy.DefaultLifetime)})." };
        var key = new Option<string>("--key-algorithm") { Description = "RSA (default) or ECDSA.", DefaultValueFactory = _ => "RSA" };
        key.AcceptOnlyFromAmong("RSA", "ECDSA");
        var domain = new Option<string?>("--cluster-domain") { Description = $"The cluster's DNS domain, as Notary:Policy:ClusterDomain (default {NamePolicy.DefaultClusterDomain})." };
        check.Arguments.Add(ns);
        check.Arguments.Add(names);
        check.Options.Add(certificate);
        check.Options.Add(type);
        check.Options.Add(issuer);
        check.Options.Add(duration);
        check.Options.Add(key);
        check.Options.Add(domain);
        check.Validators.Add(result =>
        {
            var byCertificate = !string.IsNullOrEmpty(result.GetValue(certificate));
            var byNames = result.GetValue(ns) is not null;
            if (byCertificate == byNames || (byNames && (result.GetValue(names) ?? []).Length == 0))
            {
                result.AddError("policy check takes NAMESPACE DNSNAME... or --certificate NAMESPACE/NAME.");
            }
        });
        CliAction.Set(check, async (parsed, cancellationToken) =>
        {
            using var connection = KubeConnection.Open(parsed);
            var (namespaceName, spec, source) = await SpecAsync(connection.Client, parsed, certificate, ns, names, type, issuer, duration, key, cancellationToken);

            // The same validation the controller runs before the name policy (CertificateGrain.Policy.cs).
            var (valid, invalid) = Grains.Policies.CertificatePolicy.Validate(spec);
            var what = $"{string.Join(", ", [spec.Fqdn, .. spec.Alt])} ({spec.Type}) in namespace {namespaceName}";
            var issuerName = spec.IssuerRef is { } issuerRef ? NamePolicy.IssuerName(issuerRef) : spec.Issuer;
            var assumedIssuer = issuerName is null;
            issuerName ??= BuiltInIssuer.DefaultName;
            await Console.Out.WriteLineAsync(
                $"checking {source}: issuer {issuerName}{(assumedIssuer ? $" (assumed: the controller's default; {AcmDefaultIssuer} when Notary runs with the ACM backend, then pass --issuer {AcmDefaultIssuer})" : string.Empty)}, "
                + $"cluster domain {parsed.GetValue(domain) ?? NamePolicy.DefaultClusterDomain}{(parsed.GetValue(domain) is null ? " (assumed; Notary's Notary:Policy:ClusterDomain may differ: --cluster-domain)" : string.Empty)}.");
            if (valid is null)
            {
                await Console.Error.WriteLineAsync($"refused: {what}: {invalid!.Message}");
                return ExitCodes.Failed;
            }

            var request = new NameRequest(namespaceName, spec.Type, [spec.Fqdn, .. spec.Alt], issuerName, valid.Lifetime, valid.Key.Algorithm);
            var (problem, allowedBy) = await CheckAsync(connection.Client, request, parsed.GetValue(domain) ?? NamePolicy.DefaultClusterDomain, cancellationToken);
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

    /// <summary>The ACM backend's default issuer (AcmIssuer.DefaultName; the CLI does not reference the AWS adapters).</summary>
    private const string AcmDefaultIssuer = "acm";

    /// <summary>The spec to check: the Certificate's own (--certificate), or one made of the arguments and options.</summary>
    private static async Task<(string Namespace, Grains.Abstractions.CertificateSpec Spec, string Source)> SpecAsync(
        IKubernetes client, ParseResult parsed, Option<string?> certificate, Argument<string?> ns, Argument<string[]> names,
        Option<string> type, Option<string?> issuer, Option<string?> duration, Option<string> key, CancellationToken cancellationToken)
    {
        if (parsed.GetValue(certificate) is { Length: > 0 } reference)
        {
            var slash = reference.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || slash == reference.Length - 1 || reference.IndexOf('/', slash + 1) >= 0)
            {
                throw new CliFailureException($"--certificate \"{reference}\" is not NAMESPACE/NAME.", ExitCodes.BadArguments);
            }

            var (namespaceName, name) = (reference[..slash], reference[(slash + 1)..]);
            Certificate found;
            try
            {
                found = await client.CustomObjects.GetNamespacedCustomObjectAsync<Certificate>(Certificate.KubeGroup, Certificate.KubeApiVersion, namespaceName, Certificate.KubePluralName, name, cancellationToken);
            }
            catch (HttpOperationException ex) when (ex.IsNotFound())
            {
                throw new CliFailureException($"Error from server (NotFound): certificates.notary.dev \"{name}\" not found in namespace {namespaceName}");
            }

            var spec = ResourceMapping.ToSpec(found.Spec);
            return (namespaceName, parsed.GetValue(issuer) is { } overridden && spec.Issuer is null && spec.IssuerRef is null ? spec with { Issuer = overridden } : spec, $"certificate {namespaceName}/{name}");
        }

        var given = parsed.GetValue(names)!;
        var made = new Grains.Abstractions.CertificateSpec
        {
            Type = parsed.GetValue(type)!,
            Fqdn = given[0],
            Alt = given[1..],
            Issuer = parsed.GetValue(issuer),
            Duration = parsed.GetValue(duration),
            KeyAlgorithm = parsed.GetValue(key),
        };
        return (parsed.GetValue(ns)!, made, "the names given");
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
