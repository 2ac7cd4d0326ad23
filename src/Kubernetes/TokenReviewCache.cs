using System.Security.Cryptography;
using System.Text;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// TokenReview answers by the SHA-256 of the token: the token itself is never a key nor kept
/// beyond the call. Bounded (<see cref="TokenCacheOptions.MaxEntries"/>, oldest out first), with
/// a short life for an answer (<see cref="TokenCacheOptions.Ttl"/>) and a shorter one for a refusal
/// (<see cref="TokenCacheOptions.NegativeTtl"/>). Failures to get an answer are never cached.
/// </summary>
internal sealed class TokenReviewCache(TokenCacheOptions options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _order = new();

    /// <summary>The cache key of a token: its SHA-256, hex.</summary>
    public static string KeyOf(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Whether an answer for <paramref name="key"/> is fresh; <paramref name="user"/> is null for a cached refusal.</summary>
    public bool TryGet(string key, out AuthenticatedUser? user)
    {
        user = null;
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var node))
            {
                return false;
            }

            if (node.Value.Expires <= now)
            {
                _entries.Remove(key);
                _order.Remove(node);
                return false;
            }

            user = node.Value.User;
            return true;
        }
    }

    public void Add(string key, AuthenticatedUser? user)
    {
        var ttl = user is null ? options.NegativeTtl : options.Ttl;
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        var entry = new Entry(key, user, time.GetUtcNow() + ttl);
        lock (_lock)
        {
            if (_entries.Remove(key, out var old))
            {
                _order.Remove(old);
            }

            while (_entries.Count >= options.MaxEntries && _order.First is { } oldest)
            {
                _entries.Remove(oldest.Value.Key);
                _order.RemoveFirst();
            }

            _entries[key] = _order.AddLast(entry);
        }
    }

    private sealed record Entry(string Key, AuthenticatedUser? User, DateTimeOffset Expires);
}
