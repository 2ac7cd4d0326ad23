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
/// <para>
/// Rotation (<see cref="RotateIfDueAsync"/>): when the Secret's annotation
/// <see cref="RotateAnnotation"/> carries a value Notary has not acted on yet (kept in
/// <see cref="RotatedAnnotation"/>), or the root expires within the given threshold, a new root is
/// created and the Secret replaced with its read resourceVersion (optimistic concurrency: of
/// several instances at once, one wins, the others re-read and adopt its root). The previous root
/// moves to <see cref="PreviousCertificateKey"/> (and its key to <see cref="PreviousPrivateKeyKey"/>,
/// overwritten at the next rotation) so that every instance, after a restart too, knows both and
/// trusts both. Only a root Notary created (label app.kubernetes.io/component=built-in-ca) is
/// rotated; an imported CA is the operator's to replace.
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
    public const string PreviousCertificateKey = "previous.crt";
    public const string PreviousPrivateKeyKey = "previous.key";
    public const string RotateAnnotation = "notary.dev/rotate-ca";
    public const string RotatedAnnotation = "notary.dev/rotated-ca";
    /// <summary>
    /// Written by Notary's own rotation beside previous.crt/previous.key: the SHA-256 fingerprint of
    /// the root it wrote into tls.crt. previous.key is used only while tls.crt is still that root;
    /// a tls.crt replaced by hand since (a compromised root's answer) leaves previous.key unused.
    /// </summary>
    public const string PreviousKeyForAnnotation = "notary.dev/previous-key-for";
    public const string ComponentLabel = "app.kubernetes.io/component";
    public const string ComponentValue = "built-in-ca";
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(3650);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private CertificateAuthority? _authority;
    private IReadOnlyList<string> _previous = [];
    // Roots the current one replaced by Notary's own rotation whose key this instance holds
    // (previous.key of the Secret, or a root this instance or another rotated away from): the
    // built-in root's CA rotation signs with the previous root until every store trusts the new
    // one. A root replaced by hand is never among them (treated as compromised), and replacing by
    // hand drops them all. Disposed when they drop out.
    private IReadOnlyList<CertificateAuthority> _replaced = [];

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

    /// <summary>The roots the current one replaced (public certificates, PEM) that peers still trust: none before the first rotation.</summary>
    public async Task<IReadOnlyList<string>> GetPreviousAsync(CancellationToken cancellationToken)
    {
        await GetAsync(cancellationToken).ConfigureAwait(false);
        return Volatile.Read(ref _previous);
    }

    /// <inheritdoc />
    public async Task<CertificateAuthority?> FindAsync(string fingerprint, CancellationToken cancellationToken)
    {
        var current = await GetAsync(cancellationToken).ConfigureAwait(false);
        return new[] { current }.Concat(Volatile.Read(ref _replaced)).FirstOrDefault(a => ICertificateAuthoritySource.Fingerprint(a) == fingerprint);
    }

    /// <summary>Re-reads the Secret and takes its root when another instance rotated it or it was replaced by hand; never rotates.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await GetAsync(cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await ReadAsync(cancellationToken).ConfigureAwait(false) is { } secret)
            {
                Adopt(secret);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Re-reads the Secret: adopts a root another instance rotated to, and rotates the root when
    /// <see cref="RotateAnnotation"/> asks for it or it expires within <paramref name="rotateBefore"/>.
    /// True when the root in use changed.
    /// </summary>
    public async Task<bool> RotateIfDueAsync(TimeSpan rotateBefore, CancellationToken cancellationToken)
    {
        await GetAsync(cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var changed = false;
            for (var attempt = 0; attempt < 5; attempt++)
            {
                if (await ReadAsync(cancellationToken).ConfigureAwait(false) is not { } secret)
                {
                    // Deleted: the next issuance's GetAsync does not re-create it while cached; nothing to rotate.
                    return changed;
                }

                changed |= Adopt(secret);
                var requested = Annotation(secret, RotateAnnotation);
                var asked = !string.IsNullOrEmpty(requested) && requested != Annotation(secret, RotatedAnnotation);
                var current = _authority!;
                var due = current.NotAfter - time.GetUtcNow() < rotateBefore;
                if (!asked && !due)
                {
                    return changed;
                }

                var why = asked ? $"{RotateAnnotation}={requested}" : $"it expires {current.NotAfter:O}, within {rotateBefore.TotalDays:0.#} days";
                if (secret.Metadata.Labels?.TryGetValue(ComponentLabel, out var component) != true || component != ComponentValue)
                {
                    Log.CaNotRotatedImported(logger, SecretName, why);
                    return changed;
                }

                if (await TryRotateAsync(secret, current, asked ? requested! : $"expiry {current.NotAfter:O}", why, cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }
            }

            throw new InvalidOperationException($"Secret {SecretName} kept changing while Notary rotated the built-in root; Notary tries again at its next check.");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Replaces the Secret read as <paramref name="secret"/> with a new root; false when another writer changed it first (the caller re-reads).</summary>
    private async Task<bool> TryRotateAsync(V1Secret secret, CertificateAuthority current, string marker, string why, CancellationToken cancellationToken)
    {
        var created = CertificateAuthority.CreateRoot(CommonName, Lifetime, time.GetUtcNow(),
            options.Value.CaKey() ?? throw new InvalidOperationException(options.Value.CaKeyProblem()));
        try
        {
            // The read object, with its resourceVersion: the API server refuses the write (409) when anyone changed it since.
            secret.Data ??= new Dictionary<string, byte[]>();
            secret.Data[PreviousCertificateKey] = secret.Data[CertificateKey];
            secret.Data[PreviousPrivateKeyKey] = secret.Data[PrivateKeyKey];
            secret.Data[CertificateKey] = Encoding.ASCII.GetBytes(created.CertificatePem);
            secret.Data[PrivateKeyKey] = Encoding.ASCII.GetBytes(created.ExportPrivateKeyPem());
            secret.Metadata.Annotations ??= new Dictionary<string, string>();
            secret.Metadata.Annotations[RotatedAnnotation] = marker;
            secret.Metadata.Annotations[PreviousKeyForAnnotation] = ICertificateAuthoritySource.Fingerprint(created);
            await client.CoreV1.ReplaceNamespacedSecretAsync(secret, options.Value.CaSecretName, options.Value.Namespace, fieldManager: options.Value.Component, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.IsConflict())
        {
            created.Dispose();
            return false;
        }
        catch (HttpOperationException ex)
        {
            created.Dispose();
            throw KubernetesApiErrors.Sanitize(ex, $"Rotating the built-in CA in Secret {SecretName}");
        }
        catch
        {
            created.Dispose();
            throw;
        }

        // The replaced authority is not disposed: an issuance may still be signing with it, and
        // the built-in root's CA rotation signs with it until every store trusts the new root.
        Remember(current);
        Volatile.Write(ref _previous, [current.CertificatePem]);
        Volatile.Write(ref _authority, created);
        Log.CaRotated(logger, SecretName, why, created);
        return true;
    }

    /// <summary>Takes the Secret's root when it is not the one in use (another instance rotated it). True when it was not.</summary>
    private bool Adopt(V1Secret secret)
    {
        var pem = Value(secret, CertificateKey);
        if (_authority is { } cached && pem.Trim().StartsWith(cached.CertificatePem.Trim(), StringComparison.Ordinal))
        {
            return false;
        }

        var loaded = Load(secret);
        if (_authority is { } before)
        {
            // Notary's own rotation wrote previous.crt (the root in use here) AND marked the root it
            // wrote (previous-key-for): a hand replacement that copies the old root into
            // previous.crt to keep it trusted is still a hand replacement.
            if (_previous.Any(p => p.Trim() == before.CertificatePem.Trim())
                && Annotation(secret, PreviousKeyForAnnotation) == ICertificateAuthoritySource.Fingerprint(loaded))
            {
                // Notary's own rotation (another instance wrote previous.crt/previous.key): the
                // replaced root keeps signing while the new one is not trusted everywhere yet.
                Remember(before);
            }
            else
            {
                // Replaced by hand (no previous.crt naming the root in use, or no mark of Notary's
                // rotation on the root now in tls.crt): the natural response
                // to a compromised root, so the replaced root signs nothing more (no hold signer:
                // issuances wait until the new root is trusted) and this instance lets go of
                // every replaced key it held. The root in use stays trusted (public part only),
                // so silos that have not seen the change yet are not refused.
                Forget(keep: null);
                Volatile.Write(ref _previous, [.. _previous, before.CertificatePem]);
                Log.CaReplacedByHand(logger, SecretName, before);
                // An issuance that took it just before may still be signing: it fails and is retried.
                before.Dispose();
            }
        }

        Volatile.Write(ref _authority, loaded);
        Log.CaRotatedElsewhere(logger, SecretName, loaded);
        return true;
    }

    /// <summary>Keeps <paramref name="authority"/> findable by <see cref="FindAsync"/> (the three most recent; older ones and duplicates are disposed).</summary>
    private void Remember(CertificateAuthority authority)
    {
        var fingerprint = ICertificateAuthoritySource.Fingerprint(authority);
        var before = Volatile.Read(ref _replaced);
        IReadOnlyList<CertificateAuthority> kept = [authority, .. before.Where(a => ICertificateAuthoritySource.Fingerprint(a) != fingerprint).Take(2)];
        Volatile.Write(ref _replaced, kept);
        foreach (var dropped in before.Where(a => !kept.Contains(a)))
        {
            dropped.Dispose();
        }
    }

    /// <summary>Drops (and disposes) every replaced root's key this instance holds.</summary>
    private void Forget(CertificateAuthority? keep)
    {
        var before = Interlocked.Exchange(ref _replaced, []);
        foreach (var dropped in before.Where(a => !ReferenceEquals(a, keep)))
        {
            dropped.Dispose();
        }
    }

    private static string? Annotation(V1Secret secret, string name) =>
        secret.Metadata.Annotations is { } annotations && annotations.TryGetValue(name, out var value) ? value : null;

    public void Dispose()
    {
        _authority?.Dispose();
        Forget(keep: _authority);
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
                        [ComponentLabel] = ComponentValue,
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
            // The root the current one replaced, public part only (trusted until the next rotation).
            Volatile.Write(ref _previous, secret.Data!.TryGetValue(PreviousCertificateKey, out var previous) && previous is { Length: > 0 }
                ? [Encoding.UTF8.GetString(previous)]
                : []);
            var previousKey = secret.Data.TryGetValue(PreviousPrivateKeyKey, out var storedKey) ? storedKey : null;
            if (previous is { Length: > 0 } && previousKey is { Length: > 0 }
                && Annotation(secret, PreviousKeyForAnnotation) != ICertificateAuthoritySource.Fingerprint(authority))
            {
                // previous.key is Notary's only beside the root its rotation wrote: tls.crt was
                // replaced since (by hand, how a compromised root is answered; or written by a
                // Notary from before this annotation), so the key signs nothing. New certificates
                // wait until every store trusts the root in use instead.
                Log.CaPreviousUnusable(logger, SecretName, $"tls.crt is not the root Notary's rotation wrote beside previous.key ({PreviousKeyForAnnotation}); its key is not used");
            }
            else if (previous is { Length: > 0 } && previousKey is { Length: > 0 })
            {
                try
                {
                    // Its key too: a restarted instance signs with the previous root while the
                    // rotation's first phase lasts (the new root is not trusted everywhere yet).
                    Remember(CertificateAuthority.FromPem(Encoding.UTF8.GetString(previous), Encoding.UTF8.GetString(previousKey)));
                }
                catch (PkiException ex)
                {
                    Log.CaPreviousUnusable(logger, SecretName, ex.Message);
                }
            }
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
