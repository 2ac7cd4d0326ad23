using System.Collections.Concurrent;

namespace Notary.Aws.Acm;

/// <summary>
/// A concurrent cache whose entries are dropped once nobody asked for them for
/// <c>idleTimeout</c> (swept on use, at most every tenth of it). A dropped value is not disposed:
/// whoever still holds it keeps working with it; the next request for its key makes a new one.
/// </summary>
internal sealed class IdleCache<TKey, TValue>(TimeProvider time, TimeSpan idleTimeout)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();
    private long _nextSweep = time.GetUtcNow().Add(idleTimeout / 10).UtcTicks;

    public int Count => _entries.Count;

    public IEnumerable<TValue> Values => _entries.Values.Select(e => e.Value);

    public TValue GetOrAdd(TKey key, Func<TKey, TValue> create)
    {
        var now = time.GetUtcNow().UtcTicks;
        Sweep(now);
        var entry = _entries.GetOrAdd(key, k => new Entry(create(k), now));
        Volatile.Write(ref entry.LastUsed, now);
        return entry.Value;
    }

    private void Sweep(long now)
    {
        var next = Volatile.Read(ref _nextSweep);
        if (now < next || Interlocked.CompareExchange(ref _nextSweep, now + (idleTimeout / 10).Ticks, next) != next)
        {
            return;
        }

        var oldest = now - idleTimeout.Ticks;
        foreach (var (key, entry) in _entries)
        {
            if (Volatile.Read(ref entry.LastUsed) < oldest)
            {
                _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
            }
        }
    }

    private sealed class Entry(TValue value, long lastUsed)
    {
        public TValue Value { get; } = value;

        public long LastUsed = lastUsed;
    }
}
