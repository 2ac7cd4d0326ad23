using System.Security.Cryptography;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Protection;

/// <summary>
/// Data keys that live as long as this object: for grain state that lives no longer than the
/// process (in-process test clusters, benchmarks). Never behind a host whose state outlives it:
/// the production host uses the Secret-backed adapter.
/// </summary>
public sealed class EphemeralDataKeySource(string keyId = "ephemeral") : IDataKeySource
{
    private readonly List<DataKey> _older = [];

    public DataKey Current { get; private set; } = new(keyId, RandomNumberGenerator.GetBytes(DataKey.Size));

    public Task<DataKeyRing> GetAsync(CancellationToken cancellationToken) => Task.FromResult(Ring());

    /// <summary>Makes a new key current; the older ones still decrypt (tests of rotation).</summary>
    public DataKeyRing Rotate(string newKeyId)
    {
        _older.Add(Current);
        Current = new DataKey(newKeyId, RandomNumberGenerator.GetBytes(DataKey.Size));
        return Ring();
    }

    public DataKeyRing Ring() => new(Current, _older);
}
