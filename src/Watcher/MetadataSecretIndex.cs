using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>
/// Which Secrets are metadata Secrets: those that some Keystore or Truststore (as last seen)
/// names in its namespace. Only their changes are forwarded; every other Secret is ignored.
/// </summary>
public sealed class MetadataSecretIndex
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(ResourceKind Kind, string Store), string> _byStore = [];
    private readonly Dictionary<string, int> _references = new(StringComparer.Ordinal);

    /// <summary>Records that the store names <paramref name="secretKey"/> ("namespace/name"), or nothing (null: the store is gone).</summary>
    public void Set(ResourceKind kind, string storeKey, string? secretKey)
    {
        lock (_lock)
        {
            if (_byStore.TryGetValue((kind, storeKey), out var previous))
            {
                if (previous == secretKey)
                {
                    return;
                }

                if (--_references[previous] == 0)
                {
                    _references.Remove(previous);
                }

                _byStore.Remove((kind, storeKey));
            }

            if (secretKey is not null)
            {
                _byStore[(kind, storeKey)] = secretKey;
                _references[secretKey] = _references.GetValueOrDefault(secretKey) + 1;
            }
        }
    }

    public bool IsReferenced(string secretKey)
    {
        lock (_lock)
        {
            return _references.ContainsKey(secretKey);
        }
    }
}
