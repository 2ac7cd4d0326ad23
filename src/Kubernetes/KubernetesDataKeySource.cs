using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="IDataKeySource"/>: the data keys that encrypt private keys in grain
/// state, kept in the Secret <see cref="StateKeyOptions.SecretName"/> (default notary-state-key)
/// of Notary's namespace. The first silo to start creates it with one key; when several start at
/// once, the API server's create-if-absent picks one and the others read it, so every silo
/// encrypts with the same key.
/// <para>
/// Layout: <c>current</c> names the key that encrypts; <c>&lt;id&gt;.key</c> holds a key's 32
/// bytes in the clear, <c>&lt;id&gt;.kms</c> (with an <see cref="IDataKeyWrapper"/>, AWS KMS)
/// its wrapped form, unwrapped at start with an encryption context naming the Secret and the
/// id. Every key listed decrypts; keep a rotated-out key until every grain was written again.
/// With a wrapper configured, entries in the clear are refused unless
/// <see cref="StateKeyOptions.AllowPlaintextKeys"/> (the migration window when KMS is turned on
/// later: a wrapped key is then added and made current; the clear one stays to read older state).
/// Entries that are neither (e.g. notes.txt) are ignored with a warning.
/// </para>
/// <para>
/// Notary has run before when the CA Secret carries the annotation <see cref="MarkerAnnotation"/>
/// (set on every start once both Secrets exist): then a missing key Secret is refused with a
/// fix-it message instead of silently created anew, which would make every private key in grain
/// state unreadable. The marker lives on the CA Secret because losing that one already means a
/// new CA and every certificate issued again, and because it lives outside Redis, in the same
/// backups as the key Secret.
/// </para>
/// </summary>
public sealed partial class KubernetesDataKeySource(
    IKubernetes client,
    IOptions<NotaryKubernetesOptions> kubernetes,
    IOptions<StateKeyOptions> options,
    IEnumerable<IDataKeyWrapper> wrappers,
    TimeProvider time,
    ILogger<KubernetesDataKeySource> logger) : IDataKeySource
{
    public const string CurrentEntry = "current";
    public const string PlainSuffix = ".key";
    /// <summary>On the CA Secret: the state key Secret was created here, with this key id first current.</summary>
    public const string MarkerAnnotation = "notary.dev/state-key";

    private readonly IDataKeyWrapper? _wrapper = wrappers.LastOrDefault();

    private string Namespace => kubernetes.Value.Namespace;

    private string Name => options.Value.SecretName;

    private string SecretName => $"{Namespace}/{Name}";

    public async Task<DataKeyRing> GetAsync(CancellationToken cancellationToken)
    {
        // A lost race (create or update) starts over from what the winner wrote.
        for (var attempt = 0; ; attempt++)
        {
            var secret = await ReadAsync(cancellationToken).ConfigureAwait(false);
            if (secret is null)
            {
                await RefuseIfRunBeforeAsync(cancellationToken).ConfigureAwait(false);
                await KubernetesNamespaces.EnsureAsync(client, Namespace, logger, cancellationToken).ConfigureAwait(false);
                var (id, key, data) = await NewKeyAsync(cancellationToken).ConfigureAwait(false);
                data[CurrentEntry] = Encoding.ASCII.GetBytes(id);
                if (await CreateAsync(data, cancellationToken).ConfigureAwait(false))
                {
                    Created(logger, SecretName, id, _wrapper?.Kind ?? "none");
                    await MarkAsync(id, cancellationToken).ConfigureAwait(false);
                    return new DataKeyRing(key, []);
                }
            }
            else
            {
                var ring = await LoadAsync(secret, cancellationToken).ConfigureAwait(false);
                if (_wrapper is null || secret.Data!.ContainsKey(ring.Current.Id + "." + _wrapper.Kind))
                {
                    await MarkAsync(ring.Current.Id, cancellationToken).ConfigureAwait(false);
                    return ring;
                }

                // The wrapper was configured after the Secret was created: a wrapped key becomes current.
                var (id, key, data) = await NewKeyAsync(cancellationToken).ConfigureAwait(false);
                foreach (var (entry, value) in data)
                {
                    secret.Data[entry] = value;
                }

                secret.Data[CurrentEntry] = Encoding.ASCII.GetBytes(id);
                if (await UpdateAsync(secret, cancellationToken).ConfigureAwait(false))
                {
                    Wrapped(logger, SecretName, id, _wrapper.Kind, ring.Current.Id);
                    await MarkAsync(id, cancellationToken).ConfigureAwait(false);
                    return new DataKeyRing(key, ring.All.Values);
                }
            }

            if (attempt >= 4)
            {
                throw new InvalidOperationException($"Secret {SecretName} kept changing while Notary created or updated its state keys; Notary stops so that the silo is restarted and reads it again.");
            }

            LostRace(logger, SecretName);
        }
    }

    public async Task<DataKeyRing> ReloadAsync(CancellationToken cancellationToken)
    {
        var secret = await ReadAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The state key Secret {SecretName} is gone: restore it from your backup.");
        return await LoadAsync(secret, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A key Secret missing where Notary ran before is lost, not new: refuse to start.</summary>
    private async Task RefuseIfRunBeforeAsync(CancellationToken cancellationToken)
    {
        var ca = await ReadSecretAsync(kubernetes.Value.CaSecretName, cancellationToken).ConfigureAwait(false);
        if (ca?.Metadata?.Annotations?.TryGetValue(MarkerAnnotation, out var first) == true)
        {
            throw new InvalidOperationException(
                $"The state key Secret {SecretName} is missing, but Notary has run here before (Secret {Namespace}/{kubernetes.Value.CaSecretName} carries the annotation {MarkerAnnotation}={first}): "
                + $"a new key would make every private key in grain state unreadable and every certificate be issued again. Restore the Secret {Name} from your backup. "
                + $"If it is lost for good, remove the marker to let Notary create a new key: kubectl -n {Namespace} annotate secret {kubernetes.Value.CaSecretName} {MarkerAnnotation}-");
        }
    }

    /// <summary>Marks the CA Secret (when it exists) as belonging to a Notary that created its state keys.</summary>
    private async Task MarkAsync(string keyId, CancellationToken cancellationToken)
    {
        var ca = await ReadSecretAsync(kubernetes.Value.CaSecretName, cancellationToken).ConfigureAwait(false);
        if (ca is null || ca.Metadata?.Annotations?.ContainsKey(MarkerAnnotation) == true)
        {
            return;
        }

        // An update (the verb Notary's Role already has on Secrets), carrying the resourceVersion read.
        ca.Metadata!.Annotations ??= new Dictionary<string, string>();
        ca.Metadata.Annotations[MarkerAnnotation] = keyId;
        try
        {
            await client.CoreV1.ReplaceNamespacedSecretAsync(ca, kubernetes.Value.CaSecretName, Namespace, fieldManager: kubernetes.Value.Component, cancellationToken: cancellationToken).ConfigureAwait(false);
            Marked(logger, Namespace, kubernetes.Value.CaSecretName, MarkerAnnotation);
        }
        catch (HttpOperationException ex) when (ex.IsConflict())
        {
            // Changed meanwhile (another silo marking it): the next start marks it if still needed.
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            // Deleted meanwhile: the next start marks the new one.
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Annotating the CA Secret {Namespace}/{kubernetes.Value.CaSecretName}");
        }
    }

    private async Task<(string Id, DataKey Key, Dictionary<string, byte[]> Data)> NewKeyAsync(CancellationToken cancellationToken)
    {
        var id = string.Create(CultureInfo.InvariantCulture, $"k{time.GetUtcNow():yyyyMMdd}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        if (_wrapper is null)
        {
            var material = RandomNumberGenerator.GetBytes(DataKey.Size);
            return (id, new DataKey(id, material), new Dictionary<string, byte[]> { [id + PlainSuffix] = material });
        }

        var generated = await _wrapper.GenerateAsync(Context(id), cancellationToken).ConfigureAwait(false);
        return (id, new DataKey(id, generated.Plaintext), new Dictionary<string, byte[]> { [id + "." + _wrapper.Kind] = generated.Wrapped });
    }

    /// <summary>What a wrapped key is bound to: it unwraps only as this key of this Secret.</summary>
    private Dictionary<string, string> Context(string id) => new(StringComparer.Ordinal)
    {
        ["notary.dev/state-key"] = $"{SecretName}/{id}",
    };

    private async Task<DataKeyRing> LoadAsync(V1Secret secret, CancellationToken cancellationToken)
    {
        var data = secret.Data ?? new Dictionary<string, byte[]>();
        if (!data.TryGetValue(CurrentEntry, out var currentBytes) || currentBytes is not { Length: > 0 })
        {
            throw new InvalidOperationException($"Secret {SecretName} has no entry \"{CurrentEntry}\" naming the state key that encrypts. Restore it from your backup; Notary creates a new one only when the Secret is absent (and then cannot read state encrypted before).");
        }

        var current = Encoding.ASCII.GetString(currentBytes).Trim();
        var keys = new List<DataKey>();
        foreach (var (entry, value) in data.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var dot = entry.LastIndexOf('.');
            if (entry == CurrentEntry || dot <= 0)
            {
                continue;
            }

            var id = entry[..dot];
            var kind = entry[(dot + 1)..];
            if (kind == PlainSuffix[1..])
            {
                if (_wrapper is not null && !options.Value.AllowPlaintextKeys)
                {
                    throw new InvalidOperationException($"Secret {SecretName} holds the state key \"{id}\" in the clear ({entry}) while Notary wraps its keys with {_wrapper.Kind}: anyone who reads the Secret can read state under it. "
                        + $"While migrating to {_wrapper.Kind}, set Notary__State__AllowPlaintextKeys=true (chart: state.allowPlaintextKeys) until every certificate was written again under a wrapped key, then remove the entry (kubectl -n {Namespace} patch secret {Name} --type json -p '[{{\"op\":\"remove\",\"path\":\"/data/{id}.key\"}}]') and the setting.");
                }

                keys.Add(Key(id, value));
            }
            else if (_wrapper is not null && kind == _wrapper.Kind)
            {
                keys.Add(Key(id, await _wrapper.UnwrapAsync(value, Context(id), cancellationToken).ConfigureAwait(false)));
            }
            else
            {
                // Not a key this silo can use (a note, or a key wrapped by a KMS not configured
                // here): state under it fails to activate (it is kept), nothing else stops.
                Ignored(logger, SecretName, entry);
            }
        }

        var currentKey = keys.FirstOrDefault(k => k.Id == current)
            ?? throw new InvalidOperationException($"Secret {SecretName} names \"{current}\" as the current state key but holds no entry {current}{PlainSuffix} or {current}.{_wrapper?.Kind ?? "kms"} that Notary can use (a key wrapped by KMS needs Notary__State__KmsKeyId, chart: state.kmsKeyId). Restore the entry, or set \"current\" to a key it holds.");
        var ring = new DataKeyRing(currentKey, keys);
        Loaded(logger, SecretName, ring.Current.Id, ring.All.Count);
        return ring;
    }

    private DataKey Key(string id, byte[] material) => material.Length == DataKey.Size
        ? new DataKey(id, material)
        : throw new InvalidOperationException($"Secret {SecretName}: state key \"{id}\" is {material.Length} bytes long; a state key is {DataKey.Size} random bytes (e.g. \"head -c 32 /dev/urandom\").");

    private async Task<bool> CreateAsync(Dictionary<string, byte[]> data, CancellationToken cancellationToken)
    {
        var secret = new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta
            {
                Name = Name,
                NamespaceProperty = Namespace,
                Labels = new Dictionary<string, string>
                {
                    [KubernetesSecretStore.ManagedByLabel] = KubernetesSecretStore.ManagedByValue,
                    ["app.kubernetes.io/component"] = "state-key",
                },
            },
            Type = "Opaque",
            Data = data,
        };
        try
        {
            await client.CoreV1.CreateNamespacedSecretAsync(secret, Namespace, fieldManager: kubernetes.Value.Component, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException ex) when (ex.IsConflict())
        {
            return false;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Creating the state key Secret {SecretName}");
        }
    }

    private async Task<bool> UpdateAsync(V1Secret secret, CancellationToken cancellationToken)
    {
        try
        {
            // Carries the resourceVersion read: a concurrent change answers 409 and this silo reads again.
            await client.CoreV1.ReplaceNamespacedSecretAsync(secret, Name, Namespace, fieldManager: kubernetes.Value.Component, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException ex) when (ex.IsConflict())
        {
            return false;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Updating the state key Secret {SecretName}");
        }
    }

    private Task<V1Secret?> ReadAsync(CancellationToken cancellationToken) => ReadSecretAsync(Name, cancellationToken);

    private Task<V1Secret?> ReadSecretAsync(string name, CancellationToken cancellationToken) =>
        client.ReadSecretOrNullAsync(Namespace, name, $"Reading the Secret {Namespace}/{name}", cancellationToken);

    [LoggerMessage(EventId = 2094, Level = LogLevel.Warning, Message = "Secret {Secret}: entry {Entry} is not a state key this silo can use (neither <id>.key nor a key wrapped by the configured KMS); ignored")]
    private static partial void Ignored(ILogger logger, string secret, string entry);

    [LoggerMessage(EventId = 2095, Level = LogLevel.Information, Message = "Marked the CA Secret {Namespace}/{Secret} with {Annotation}: a missing state key Secret will be refused from now on, not created anew")]
    private static partial void Marked(ILogger logger, string @namespace, string secret, string annotation);

    [LoggerMessage(EventId = 2090, Level = LogLevel.Information, Message = "Created the state key Secret {Secret} with key {KeyId} (wrapped by: {Wrapper})")]
    private static partial void Created(ILogger logger, string secret, string keyId, string wrapper);

    [LoggerMessage(EventId = 2091, Level = LogLevel.Information, Message = "Another Notary instance changed the state key Secret {Secret} first; reading it again")]
    private static partial void LostRace(ILogger logger, string secret);

    [LoggerMessage(EventId = 2092, Level = LogLevel.Information, Message = "State keys read from Secret {Secret}: current {KeyId}, {Count} known")]
    private static partial void Loaded(ILogger logger, string secret, string keyId, int count);

    [LoggerMessage(EventId = 2093, Level = LogLevel.Warning, Message = "Secret {Secret}: added state key {KeyId} wrapped by {Wrapper} and made it current; the key {Previous} kept in the clear still decrypts older state: remove it once every certificate was written again")]
    private static partial void Wrapped(ILogger logger, string secret, string keyId, string wrapper, string previous);
}
