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
    public const string Help = "Notary's CA certificate, PEM (default NOTARY_CA_FILE), e.g. from kubectl -n notary get configmap notary-ca -o jsonpath='{.data.ca\\.crt}'; the server must chain to it and be named by --server's host, e.g. https://notary.notary.svc:8080.";

    /// <summary>The CA file of <c>--ca-file</c> (else NOTARY_CA_FILE, else null), or an error when it does not exist.</summary>
    public static (string? CaFile, string? Error) ResolveCaFile(string? flag, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var caFile = flag is { Length: > 0 } ? flag
            : environment("NOTARY_CA_FILE") is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
        if (caFile is not null && !File.Exists(caFile))
        {
            return (null, $"--ca-file \"{caFile}\" does not exist: save Notary's CA certificate there, e.g. kubectl -n notary get configmap notary-ca -o jsonpath='{{.data.ca\\.crt}}' > {caFile}");
        }

        return (caFile, null);
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
