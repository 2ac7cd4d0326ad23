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
/// With a wrapper configured and a current key in the clear (KMS turned on later), a wrapped key
/// is added and made current; the clear one stays to read older state.
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
                await KubernetesNamespaces.EnsureAsync(client, Namespace, logger, cancellationToken).ConfigureAwait(false);
                var (id, key, data) = await NewKeyAsync(cancellationToken).ConfigureAwait(false);
                data[CurrentEntry] = Encoding.ASCII.GetBytes(id);
                if (await CreateAsync(data, cancellationToken).ConfigureAwait(false))
                {
                    Created(logger, SecretName, id, _wrapper?.Kind ?? "none");
                    return new DataKeyRing(key, []);
                }
            }
            else
            {
                var ring = await LoadAsync(secret, cancellationToken).ConfigureAwait(false);
                if (_wrapper is null || secret.Data!.ContainsKey(ring.Current.Id + "." + _wrapper.Kind))
                {
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
                keys.Add(Key(id, value));
            }
            else if (_wrapper is not null && kind == _wrapper.Kind)
            {
                keys.Add(Key(id, await _wrapper.UnwrapAsync(value, Context(id), cancellationToken).ConfigureAwait(false)));
            }
            else
            {
                throw new InvalidOperationException($"Secret {SecretName} holds the state key \"{id}\" wrapped by \"{kind}\", but Notary is not configured to unwrap it: set Notary__State__KmsKeyId (chart: state.kmsKeyId) to the KMS key that wrapped it.");
            }
        }

        var currentKey = keys.FirstOrDefault(k => k.Id == current)
            ?? throw new InvalidOperationException($"Secret {SecretName} names \"{current}\" as the current state key but holds no entry {current}{PlainSuffix} or {current}.{_wrapper?.Kind ?? "kms"}. Restore the entry, or set \"current\" to a key it holds.");
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

    private async Task<V1Secret?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(Name, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, $"Reading the state key Secret {SecretName}");
        }
    }

    [LoggerMessage(EventId = 2090, Level = LogLevel.Information, Message = "Created the state key Secret {Secret} with key {KeyId} (wrapped by: {Wrapper})")]
    private static partial void Created(ILogger logger, string secret, string keyId, string wrapper);

    [LoggerMessage(EventId = 2091, Level = LogLevel.Information, Message = "Another Notary instance changed the state key Secret {Secret} first; reading it again")]
    private static partial void LostRace(ILogger logger, string secret);

    [LoggerMessage(EventId = 2092, Level = LogLevel.Information, Message = "State keys read from Secret {Secret}: current {KeyId}, {Count} known")]
    private static partial void Loaded(ILogger logger, string secret, string keyId, int count);

    [LoggerMessage(EventId = 2093, Level = LogLevel.Warning, Message = "Secret {Secret}: added state key {KeyId} wrapped by {Wrapper} and made it current; the key {Previous} kept in the clear still decrypts older state: remove it once every certificate was written again")]
    private static partial void Wrapped(ILogger logger, string secret, string keyId, string wrapper, string previous);
}
