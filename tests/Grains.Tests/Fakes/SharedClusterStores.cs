using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace Notary.Grains.Tests.Fakes;

/// <summary>
/// Grain state that outlives any silo, as Redis does in production: one store shared by every
/// silo of an in-process cluster (Orleans' memory storage keeps state in grains, which die with
/// their silo). Each silo serializes with its own serializer, so no object is shared.
/// </summary>
public sealed class SharedGrainState
{
    private readonly ConcurrentDictionary<(string State, GrainId Grain), (byte[] Bytes, string ETag)> _rows = new();
    private long _etag;

    /// <summary>One silo's view of the shared state (register it as that silo's grain storage).</summary>
    public IGrainStorage For(Serializer serializer) => new Storage(this, serializer);

    private sealed class Storage(SharedGrainState shared, Serializer serializer) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            if (shared._rows.TryGetValue((stateName, grainId), out var row))
            {
                grainState.State = serializer.Deserialize<T>(row.Bytes);
                grainState.ETag = row.ETag;
                grainState.RecordExists = true;
            }

            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            var etag = Interlocked.Increment(ref shared._etag).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var bytes = serializer.SerializeToArray(grainState.State);
            var key = (stateName, grainId);
            lock (shared._rows)
            {
                var current = shared._rows.TryGetValue(key, out var row) ? row.ETag : null;
                if (current != grainState.ETag)
                {
                    throw new InconsistentStateException($"ETag mismatch for {grainId}", current, grainState.ETag);
                }

                shared._rows[key] = (bytes, etag);
            }

            grainState.ETag = etag;
            grainState.RecordExists = true;
            return Task.CompletedTask;
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            shared._rows.TryRemove((stateName, grainId), out _);
            grainState.ETag = null;
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }
    }
}

/// <summary>
/// A reminder table shared by every silo of an in-process cluster, as Redis is in production
/// (Orleans' in-memory reminder table is a grain, lost with its silo).
/// </summary>
public sealed class SharedReminderTable : IReminderTable
{
    private readonly ConcurrentDictionary<(GrainId Grain, string Name), ReminderEntry> _rows = new();
    private long _etag;

    public Task Init() => Task.CompletedTask;

    public Task<ReminderTableData> ReadRows(GrainId grainId) =>
        Task.FromResult(new ReminderTableData(_rows.Values.Where(r => r.GrainId == grainId).Select(Copy)));

    public Task<ReminderTableData> ReadRows(uint begin, uint end) =>
        Task.FromResult(new ReminderTableData(_rows.Values.Where(r => InRange(r.GrainId.GetUniformHashCode(), begin, end)).Select(Copy)));

    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) =>
        Task.FromResult(_rows.TryGetValue((grainId, reminderName), out var row) ? Copy(row) : null);

    public Task<string?> UpsertRow(ReminderEntry entry)
    {
        var copy = Copy(entry);
        copy.ETag = Interlocked.Increment(ref _etag).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _rows[(entry.GrainId, entry.ReminderName)] = copy;
        return Task.FromResult<string?>(copy.ETag);
    }

    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        lock (_rows)
        {
            return Task.FromResult(_rows.TryGetValue((grainId, reminderName), out var row) && row.ETag == eTag && _rows.TryRemove((grainId, reminderName), out _));
        }
    }

    public Task TestOnlyClearTable()
    {
        _rows.Clear();
        return Task.CompletedTask;
    }

    /// <summary>The ring range (begin, end], wrapping when begin is not below end, as Orleans' own tables read it.</summary>
    private static bool InRange(uint hash, uint begin, uint end) =>
        begin < end ? hash > begin && hash <= end : hash > begin || hash <= end;

    private static ReminderEntry Copy(ReminderEntry entry) => new()
    {
        GrainId = entry.GrainId,
        ReminderName = entry.ReminderName,
        StartAt = entry.StartAt,
        Period = entry.Period,
        ETag = entry.ETag,
    };
}
