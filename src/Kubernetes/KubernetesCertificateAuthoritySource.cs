using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="ICertificateAuthoritySource"/>: the built-in CA's root, kept in the
/// Secret <see cref="NotaryKubernetesOptions.CaSecretName"/> (default notary-ca) of Notary's
/// namespace (default notary) as a kubernetes.io/tls Secret with keys tls.crt and tls.key. The
/// first instance to start creates it (ECDSA P-384, ten years); when several start at once, the
/// API server's create-if-absent picks one root and the others read it. Loaded once, then cached.
/// <para>
/// To use your own CA instead, create the Secret before Notary first starts:
/// <c>kubectl -n notary create secret tls notary-ca --cert=ca.crt --key=ca.key</c>.
/// tls.crt may hold an intermediate CA followed by its issuers (root last); tls.key is its PEM
/// private key (PKCS#8, PKCS#1 or SEC1). A Secret that is present but unusable is reported, never
/// replaced.
/// </para>
/// </summary>
public sealed class KubernetesCertificateAuthoritySource(
    IKubernetes client,
    IOptions<NotaryKubernetesOptions> options,
    TimeProvider time,
    ILogger<KubernetesCertificateAuthoritySource> logger) : ICertificateAuthoritySource, IDisposable
{
    public const string CommonName = "Notary Built-in Root CA";
    public const string CertificateKey = "tls.crt";
    public const string PrivateKeyKey = "tls.key";
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(3650);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private CertificateAuthority? _authority;

    public async Task<CertificateAuthority> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _authority) is { } cached)
        {
            return cached;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A failure is not cached: the next issuance tries again.
            if (_authority is null)
            {
                Volatile.Write(ref _authority, await LoadOrCreateAsync(cancellationToken).ConfigureAwait(false));
            }

            return _authority!;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _authority?.Dispose();
        _gate.Dispose();
    }

    private string SecretName => $"{options.Value.Namespace}/{options.Value.CaSecretName}";

    private async Task<CertificateAuthority> LoadOrCreateAsync(CancellationToken cancellationToken)
    {
        var existing = await ReadAsync(cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return Load(existing);
        }

        await KubernetesNamespaces.EnsureAsync(client, options.Value.Namespace, logger, cancellationToken).ConfigureAwait(false);
        var created = CertificateAuthority.CreateRoot(CommonName, Lifetime, time.GetUtcNow(),
            options.Value.CaKey() ?? throw new InvalidOperationException(options.Value.CaKeyProblem()));
        try
        {
            var secret = new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Metadata = new V1ObjectMeta
                {
                    Name = options.Value.CaSecretName,
                    NamespaceProperty = options.Value.Namespace,
                    Labels = new Dictionary<string, string>
                    {
                        [KubernetesSecretStore.ManagedByLabel] = KubernetesSecretStore.ManagedByValue,
                        ["app.kubernetes.io/component"] = "built-in-ca",
                    },
                },
                Type = "kubernetes.io/tls",
                Data = new Dictionary<string, byte[]>
                {
                    [CertificateKey] = Encoding.ASCII.GetBytes(created.CertificatePem),
                    [PrivateKeyKey] = Encoding.ASCII.GetBytes(created.ExportPrivateKeyPem()),
                },
            };
            await client.CoreV1.CreateNamespacedSecretAsync(secret, options.Value.Namespace, fieldManager: options.Value.Component, cancellationToken: cancellationToken).ConfigureAwait(false);
            Log.CaCreated(logger, SecretName, created);
            return created;
        }
        catch (HttpOperationException ex) when (ex.IsConflict())
        {
            created.Dispose();
            Log.CaLostRace(logger, SecretName);
            var winner = await ReadAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Secret {SecretName} was created by another instance and deleted again before Notary could read it; Notary tries again on the next issuance.");
            return Load(winner);
        }
        catch (HttpOperationException ex)
        {
            created.Dispose();
            throw KubernetesApiErrors.Sanitize(ex, $"Creating the built-in CA Secret {SecretName}");
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    private CertificateAuthority Load(V1Secret secret)
    {
        var certificate = Value(secret, CertificateKey);
        var key = Value(secret, PrivateKeyKey);
        try
        {
            var authority = CertificateAuthority.FromPem(certificate, key);
            Log.CaLoaded(logger, SecretName, authority);
            return authority;
        }
        catch (PkiException ex)
        {
            throw new InvalidOperationException($"Secret {SecretName} does not hold a usable CA ({ex.Message}). Fix or delete it; Notary creates a new root only when the Secret is absent.", ex);
        }
    }

    private string Value(V1Secret secret, string key) =>
        secret.Data is not null && secret.Data.TryGetValue(key, out var bytes) && bytes is { Length: > 0 }
            ? Encoding.UTF8.GetString(bytes)
            : throw new InvalidOperationException($"Secret {SecretName} has no key {key}. Import a CA with \"kubectl -n {options.Value.Namespace} create secret tls {options.Value.CaSecretName} --cert=ca.crt --key=ca.key\", or delete the Secret to let Notary create a root.");

    private Task<V1Secret?> ReadAsync(CancellationToken cancellationToken) =>
        client.ReadSecretOrNullAsync(options.Value.Namespace, options.Value.CaSecretName, $"Reading the built-in CA Secret {SecretName}", cancellationToken);
}
