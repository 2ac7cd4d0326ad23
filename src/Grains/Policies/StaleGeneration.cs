using Notary.Grains.Abstractions;

namespace Notary.Grains.Policies;

/// <summary>
/// The stale-generation guard every grain applies first: an apply that arrives after a newer
/// generation of the same object (the watcher's retry of an old event, a resync racing a
/// change) is ignored. An object deleted and created again (another uid) is never stale.
/// </summary>
public static class StaleGeneration
{
    public static bool IsStale(ResourceVersionInfo? current, ResourceVersionInfo applied) =>
        current is { } held && held.Uid == applied.Uid && applied.Generation < held.Generation;
}
