using System.Security.Cryptography.X509Certificates;

namespace Notary.Cli;

/// <summary>
/// How the CLI trusts Notary's HTTPS API: <c>--ca-file PATH</c> (or NOTARY_CA_FILE) names a PEM
/// file with Notary's CA certificate (the ConfigMap notary-ca, key ca.crt, in Notary's
/// namespace); the server's certificate must chain to it and name the host in <c>--server</c>.
/// Without it, the machine's trusted roots decide (and a plain http:// server needs none).
/// </summary>
public static class CliTls
{
    public const string Help = """
                  --ca-file   Notary's CA certificate, PEM (default NOTARY_CA_FILE), e.g. from
                              kubectl -n notary get configmap notary-ca -o jsonpath='{.data.ca\.crt}'
                              the server must chain to it and be named by --server's host, e.g.
                              https://notary.notary.svc:8080
        """;

    /// <summary>Takes <c>--ca-file PATH</c> out of <paramref name="args"/>; the CA file (else NOTARY_CA_FILE, else null) and the other arguments, or an error.</summary>
    public static (string? CaFile, string[] Others, string? Error) TakeCaFile(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var rest = new List<string>();
        string? caFile = null;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] != "--ca-file")
            {
                rest.Add(args[i]);
                continue;
            }

            if (i + 1 >= args.Count)
            {
                return (null, [], "Argument \"--ca-file\" needs a value.");
            }

            caFile = args[++i];
        }

        caFile ??= environment("NOTARY_CA_FILE") is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
        if (caFile is not null && !File.Exists(caFile))
        {
            return (null, [], $"--ca-file \"{caFile}\" does not exist: save Notary's CA certificate there, e.g. kubectl -n notary get configmap notary-ca -o jsonpath='{{.data.ca\\.crt}}' > {caFile}");
        }

        return (caFile, [.. rest], null);
    }

    /// <summary>An HTTP handler that trusts only the certificates of <paramref name="caFile"/> as roots; the default trust when null.</summary>
    public static HttpMessageHandler Handler(string? caFile)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false };
        if (caFile is null)
        {
            return handler;
        }

        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        if (roots.Count == 0)
        {
            throw new InvalidOperationException($"--ca-file \"{caFile}\" holds no PEM certificate.");
        }

        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(roots);
        // SslStream still checks that the certificate names the host being connected to.
        handler.SslOptions.CertificateChainPolicy = policy;
        return handler;
    }
}
