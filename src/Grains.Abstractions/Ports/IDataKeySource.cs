namespace Notary.Grains.Abstractions.Ports;

/// <summary>
/// Port: the data keys that encrypt key material in grain state (AES-256-GCM), so that the grain
/// storage (Redis) never holds a readable private key. The Kubernetes adapter keeps them in a
/// Secret of Notary's namespace, created on first start (concurrent silos agree on one), each
/// key in the clear or, with an <see cref="IDataKeyWrapper"/> (AWS KMS), wrapped. Loaded once
/// when a silo starts, before any grain activates, and read again (<see cref="ReloadAsync"/>)
/// when grain state names a key the silo does not know (a key added since it started).
/// </summary>
public interface IDataKeySource
{
    /// <summary>The keys, creating the first one when there is none (silo start).</summary>
    Task<DataKeyRing> GetAsync(CancellationToken cancellationToken);

    /// <summary>The keys as stored now, creating or changing nothing; throws when they cannot be read.</summary>
    Task<DataKeyRing> ReloadAsync(CancellationToken cancellationToken) => GetAsync(cancellationToken);
}

/// <summary>
/// Port: wraps data keys under a key the silo cannot read (AWS KMS GenerateDataKey / Decrypt),
/// so that the Secret holding them is not enough to read grain state.
/// </summary>
public interface IDataKeyWrapper
{
    /// <summary>Names the wrapping in the Secret (e.g. "kms"), so that keys wrapped differently are told apart.</summary>
    string Kind { get; }

    /// <summary>A new 256-bit key: its plaintext and its wrapped form, bound to <paramref name="context"/>.</summary>
    Task<WrappedDataKey> GenerateAsync(IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken);

    /// <summary>The plaintext of a key <see cref="GenerateAsync"/> wrapped with the same <paramref name="context"/>.</summary>
    Task<byte[]> UnwrapAsync(byte[] wrapped, IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken);
}

/// <summary>A generated data key: a class, not a record, so that no ToString prints it.</summary>
public sealed class WrappedDataKey(byte[] plaintext, byte[] wrapped)
{
    public byte[] Plaintext { get; } = plaintext;

    public byte[] Wrapped { get; } = wrapped;
}

/// <summary>One AES-256 data key and the id that every ciphertext made with it carries. Its ToString names the id only.</summary>
public sealed class DataKey
{
    public const int Size = 32;

    public DataKey(string id, byte[] material)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (material is not { Length: Size })
        {
            throw new ArgumentException($"Data key {id} is {material?.Length ?? 0} bytes long; AES-256 needs {Size}.", nameof(material));
        }

        Id = id;
        Material = material;
    }

    public string Id { get; }

    public byte[] Material { get; }

    public override string ToString() => $"DataKey {{ Id = {Id} }}";
}

/// <summary>
/// The data keys a silo knows: <see cref="Current"/> encrypts; every key in <see cref="All"/>
/// (the current one included) decrypts, so a rotated key keeps older state readable until it
/// is written again.
/// </summary>
public sealed class DataKeyRing
{
    public DataKeyRing(DataKey current, IEnumerable<DataKey> others)
    {
        ArgumentNullException.ThrowIfNull(current);
        Current = current;
        var all = new Dictionary<string, DataKey>(StringComparer.Ordinal) { [current.Id] = current };
        foreach (var key in others)
        {
            all.TryAdd(key.Id, key);
        }

        All = all;
    }

    public DataKey Current { get; }

    public IReadOnlyDictionary<string, DataKey> All { get; }

    public override string ToString() => $"DataKeyRing {{ Current = {Current.Id}, Keys = {string.Join(", ", All.Keys)} }}";
}
