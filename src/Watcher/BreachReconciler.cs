using Microsoft.Extensions.Logging;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.Watcher;

/// <summary>
/// Forwards Breaches to their breach grain (keyed "namespace/name"), whoever created them: with
/// kubectl (RBAC on breaches.notary.dev decides) or through Notary's HTTP API. Once per (uid,
/// generation), again on resync; the status the API server holds goes with it, so a grain that
/// lost its state adopts a finished breach instead of running it again. Notary's finalizer goes on
/// first; on deletion the grain lifts a quarantine (the certificate returns unless another
/// quarantine holds it) and clears its state, and only then is the finalizer removed.
/// <para>
/// <see cref="InitialListForwarded"/> completes once every Breach of the first list was forwarded:
/// the session starts forwarding Certificates and stores only then (see <see cref="WatchSession"/>).
/// </para>
/// </summary>
internal sealed partial class BreachReconciler(IResourceEventSink sink, ResourceFinalizers finalizers, ILogger logger) : IReconciler<Breach>
{
    private readonly ForwardedOrigins _forwarded = new();
    private readonly InitialListGate _initial = new();

    /// <summary>Every Breach of the first full list has been forwarded (or was gone by then).</summary>
    public Task InitialListForwarded => _initial.Forwarded;

    public void Observe(string key, Breach? current) => _initial.Observe(key, exists: current is not null);

    public Task ListedAsync(CancellationToken cancellationToken)
    {
        _initial.Listed();
        return Task.CompletedTask;
    }

    public async Task ReconcileAsync(string key, Breach? current, Breach? lastKnown, bool resync, CancellationToken cancellationToken)
    {
        await ForwardAsync(key, current, lastKnown, resync, cancellationToken).ConfigureAwait(false);
        _initial.Handled(key);
    }

    private async Task ForwardAsync(string key, Breach? current, Breach? lastKnown, bool resync, CancellationToken cancellationToken)
    {
        var breach = ResourceKey.Parse(key);
        var forwarded = _forwarded.Get(key);
        if (current is null)
        {
            // Gone without Notary's finalizer (forced): lift and clear all the same.
            var uid = forwarded?.Uid ?? lastKnown?.Metadata.Uid;
            if (uid is not null)
            {
                await sink.DeleteBreachAsync(breach, uid, lastKnown is null ? null : BreachMapping.ToRequest(lastKnown), cancellationToken).ConfigureAwait(false);
                BreachDeleted(logger, breach, uid);
            }

            _forwarded.Set(key, null);
            return;
        }

        var origin = ResourceMapping.OriginOf(current);
        if (forwarded is not null && forwarded.Uid != origin.Uid)
        {
            // Deleted and created again between two looks: the old incarnation is lifted first.
            await sink.DeleteBreachAsync(breach, forwarded.Uid, null, cancellationToken).ConfigureAwait(false);
            BreachDeleted(logger, breach, forwarded.Uid);
            _forwarded.Set(key, null);
            forwarded = null;
        }

        if (current.Metadata.DeletionTimestamp is not null)
        {
            if (!ResourceFinalizers.Has(current.Metadata))
            {
                return;
            }

            await sink.DeleteBreachAsync(breach, origin.Uid, BreachMapping.ToRequest(current), cancellationToken).ConfigureAwait(false);
            BreachDeleted(logger, breach, origin.Uid);
            await finalizers.PatchBreachAsync(breach, current.Metadata, add: false, cancellationToken).ConfigureAwait(false);
            _forwarded.Set(key, null);
            return;
        }

        if (!resync && forwarded is not null && forwarded.Generation >= origin.Generation)
        {
            return;
        }

        if (BreachMapping.ToRequest(current) is not { } request)
        {
            BreachUnreadable(logger, breach, current.Spec.Mode ?? "(none)");
            return;
        }

        if (!ResourceFinalizers.Has(current.Metadata)
            && !await finalizers.PatchBreachAsync(breach, current.Metadata, add: true, cancellationToken).ConfigureAwait(false))
        {
            // Gone, replaced or being deleted meanwhile: its next event says which.
            return;
        }

        await sink.ApplyBreachAsync(breach, request, cancellationToken).ConfigureAwait(false);
        _forwarded.Set(key, origin);
        BreachForwarded(logger, breach, origin.Uid, origin.Generation, resync);
    }

    [LoggerMessage(EventId = 3040, Level = LogLevel.Information, Message = "Forwarded Breach {Breach} (uid {Uid}, generation {Generation}, resync {Resync})")]
    private static partial void BreachForwarded(ILogger logger, ResourceKey breach, string uid, long generation, bool resync);

    [LoggerMessage(EventId = 3041, Level = LogLevel.Information, Message = "Breach {Breach} (uid {Uid}) deleted: its quarantine, if any, is lifted and its grain cleared")]
    private static partial void BreachDeleted(ILogger logger, ResourceKey breach, string uid);

    [LoggerMessage(EventId = 3042, Level = LogLevel.Warning, Message = "Breach {Breach} has the mode \"{Mode}\", neither rotate nor quarantine: not acted on")]
    private static partial void BreachUnreadable(ILogger logger, ResourceKey breach, string mode);
}
