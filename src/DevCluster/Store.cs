using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Notary.DevCluster;

/// <summary>One change as watchers see it; objects are never mutated once stored.</summary>
internal sealed record WatchEvent(string Type, JsonObject Object, JsonObject? Previous, long ResourceVersion)
{
    private WatchLine? _line;

    /// <summary>
    /// The event as one watch stream line for <paramref name="rt"/>, serialized once however many
    /// watches receive it (every controller and client watching a kind gets the same bytes).
    /// </summary>
    public byte[] LineFor(ResourceType rt, Func<JsonObject, byte[]> serialize)
    {
        // A copy made by `with` (a translated type or object) carries the field along: the check
        // on type and object keeps it from reusing the original's line.
        var line = Volatile.Read(ref _line);
        if (line is null || !ReferenceEquals(line.Rt, rt) || line.Type != Type || !ReferenceEquals(line.Object, Object))
        {
            line = new WatchLine(rt, Type, Object, serialize(Object));
            Volatile.Write(ref _line, line);
        }

        return line.Bytes;
    }

    private sealed record WatchLine(ResourceType Rt, string Type, JsonObject Object, byte[] Bytes);
}

/// <summary>A watch asked for a resourceVersion older than the kept history (a real server: 410 Expired).</summary>
internal sealed class ExpiredException(long requested, long oldest)
    : Exception($"too old resource version: {requested} ({oldest})");

/// <summary>One open watch: a bounded channel fed by writers without ever blocking them.</summary>
internal sealed class Watcher
{
    private readonly Store _store;

    public Watcher(Store store, string storageKey, string? ns, Func<JsonObject, bool> filter, int capacity)
    {
        _store = store;
        StorageKey = storageKey;
        Namespace = ns;
        Filter = filter;
        Channel = System.Threading.Channels.Channel.CreateBounded<WatchEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public string StorageKey { get; }

    public string? Namespace { get; }

    public Func<JsonObject, bool> Filter { get; }

    public Channel<WatchEvent> Channel { get; }

    /// <summary>Events to send before anything from the channel (synthetic ADDED, or history replay).</summary>
    public List<WatchEvent> Initial { get; } = [];

    /// <summary>Set by a fault: the stream is cut without a clean end.</summary>
    public bool Aborted { get; private set; }

    internal void Offer(WatchEvent e)
    {
        if (!Channel.Writer.TryWrite(e))
        {
            // A real server closes a watcher that cannot keep up; the client re-watches from its last resourceVersion.
            Channel.Writer.TryComplete();
        }
    }

    internal void Abort()
    {
        Aborted = true;
        Channel.Writer.TryComplete();
    }

    internal void Close() => Channel.Writer.TryComplete();

    public void Dispose() => _store.Unwatch(this);
}

/// <summary>
/// The storage: every object by storage key, namespace and name, one global resourceVersion counter, a bounded
/// event history per storage key for resuming watches, and the open watches. Callers hold <see cref="Gate"/>
/// around read-modify-write sequences; watchers are fed under the same lock, so they see events in order.
/// </summary>
internal sealed class Store(int historyLimit, int watchBufferSize)
{
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, History> _history = new(StringComparer.Ordinal);
    private readonly List<Watcher> _watchers = [];
    private long _rv;

    public Lock Gate { get; } = new();

    public long CurrentRv
    {
        get
        {
            lock (Gate)
            {
                return _rv;
            }
        }
    }

    public long NextRv() => ++_rv;

    private static string Key(string ns, string name) => ns + "/" + name;

    public JsonObject? Get(string storageKey, string ns, string name) =>
        _objects.TryGetValue(storageKey, out var map) && map.TryGetValue(Key(ns, name), out var o) ? o : null;

    public List<JsonObject> List(string storageKey, string? ns)
    {
        if (!_objects.TryGetValue(storageKey, out var map))
        {
            return [];
        }

        return ns is null ? [.. map.Values] : [.. map.Where(p => p.Key.StartsWith(ns + "/", StringComparison.Ordinal)).Select(p => p.Value)];
    }

    public bool AnyInNamespace(string ns) =>
        _objects.Any(kv => kv.Value.Keys.Any(k => k.StartsWith(ns + "/", StringComparison.Ordinal)));

    public IEnumerable<string> StorageKeys => _objects.Keys.ToList();

    /// <summary>Stores an object whose metadata.resourceVersion is already set to a fresh <see cref="NextRv"/>.</summary>
    public void Put(string storageKey, JsonObject obj, JsonObject? previous)
    {
        var meta = obj["metadata"]!;
        var key = Key(meta.Str("namespace") ?? "", meta.Str("name")!);
        if (!_objects.TryGetValue(storageKey, out var map))
        {
            map = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
            _objects[storageKey] = map;
        }

        map[key] = obj;
        Publish(storageKey, new WatchEvent(previous is null ? "ADDED" : "MODIFIED", obj, previous, RvOf(obj)));
    }

    /// <summary>Removes an object; <paramref name="final"/> carries the resourceVersion of the deletion.</summary>
    public void Remove(string storageKey, JsonObject final)
    {
        var meta = final["metadata"]!;
        if (_objects.TryGetValue(storageKey, out var map))
        {
            map.Remove(Key(meta.Str("namespace") ?? "", meta.Str("name")!));
        }

        Publish(storageKey, new WatchEvent("DELETED", final, null, RvOf(final)));
    }

    public static long RvOf(JsonObject obj) =>
        long.TryParse(obj["metadata"].Str("resourceVersion"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var rv) ? rv : 0;

    private void Publish(string storageKey, WatchEvent e)
    {
        var history = HistoryOf(storageKey);
        history.Events.Enqueue(e);
        while (history.Events.Count > historyLimit)
        {
            history.CompactedRv = history.Events.Dequeue().ResourceVersion;
        }

        foreach (var w in _watchers)
        {
            if (w.StorageKey == storageKey)
            {
                Deliver(w, e);
            }
        }
    }

    private History HistoryOf(string storageKey)
    {
        if (!_history.TryGetValue(storageKey, out var h))
        {
            h = new History();
            _history[storageKey] = h;
        }

        return h;
    }

    private static bool InScope(Watcher w, JsonObject o) =>
        w.Namespace is null || o["metadata"].Str("namespace") == w.Namespace;

    /// <summary>Translates an event for one watcher's filter as the watch cache does (leaving the filter is a DELETED).</summary>
    private static WatchEvent? ForWatcher(Watcher w, WatchEvent e)
    {
        var now = InScope(w, e.Object) && w.Filter(e.Object);
        if (e.Type != "MODIFIED" || e.Previous is null)
        {
            return now ? e : null;
        }

        var before = InScope(w, e.Previous) && w.Filter(e.Previous);
        return (before, now) switch
        {
            (true, true) => e,
            (false, true) => e with { Type = "ADDED" },
            (true, false) => e with { Type = "DELETED", Object = WithRv(e.Previous, e.ResourceVersion) },
            _ => null,
        };
    }

    private static JsonObject WithRv(JsonObject o, long rv)
    {
        var copy = (JsonObject)o.DeepClone();
        copy.Obj("metadata")["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        return copy;
    }

    private static void Deliver(Watcher w, WatchEvent e)
    {
        if (ForWatcher(w, e) is { } translated)
        {
            w.Offer(translated);
        }
    }

    /// <summary>
    /// Opens a watch. <paramref name="fromRv"/> null: synthetic ADDED for every current object, then changes
    /// (resourceVersion unset or "0"); otherwise the events after that resourceVersion.
    /// </summary>
    public Watcher Watch(string storageKey, string? ns, Func<JsonObject, bool> filter, long? fromRv)
    {
        var w = new Watcher(this, storageKey, ns, filter, watchBufferSize);
        if (fromRv is null)
        {
            foreach (var o in List(storageKey, ns).Where(filter))
            {
                w.Initial.Add(new WatchEvent("ADDED", o, null, RvOf(o)));
            }
        }
        else
        {
            var history = HistoryOf(storageKey);
            if (fromRv.Value < history.CompactedRv)
            {
                throw new ExpiredException(fromRv.Value, history.CompactedRv);
            }

            foreach (var e in history.Events.Where(e => e.ResourceVersion > fromRv.Value))
            {
                if (ForWatcher(w, e) is { } translated)
                {
                    w.Initial.Add(translated);
                }
            }
        }

        _watchers.Add(w);
        return w;
    }

    internal void Unwatch(Watcher w)
    {
        lock (Gate)
        {
            _watchers.Remove(w);
        }
    }

    /// <summary>The resourceVersion a BOOKMARK may carry now for this watcher, or null while it has events pending.</summary>
    public long? BookmarkRv(Watcher w)
    {
        lock (Gate)
        {
            return w.Channel.Reader.Count == 0 ? _rv : null;
        }
    }

    public int OpenWatches
    {
        get
        {
            lock (Gate)
            {
                return _watchers.Count;
            }
        }
    }

    public void AbortWatches()
    {
        lock (Gate)
        {
            foreach (var w in _watchers)
            {
                w.Abort();
            }
        }
    }

    public void CloseWatches()
    {
        lock (Gate)
        {
            foreach (var w in _watchers)
            {
                w.Close();
            }
        }
    }

    public void CompactHistory()
    {
        lock (Gate)
        {
            foreach (var key in _objects.Keys.Concat(_history.Keys).Distinct().ToList())
            {
                var h = HistoryOf(key);
                h.Events.Clear();
                h.CompactedRv = _rv;
            }
        }
    }

    private sealed class History
    {
        public Queue<WatchEvent> Events { get; } = new();

        public long CompactedRv { get; set; }
    }
}
