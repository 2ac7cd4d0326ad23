using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>
/// The index of Certificates named TAG across namespaces, one grain per name so that lookups
/// spread over the cluster. Truststores whose references carry no namespace resolve here and
/// are told (one-way) when a Certificate of that name appears, changes fqdn or goes away.
/// </summary>
public sealed class CertificateTagGrain(
    [PersistentState("tag", GrainStorage.Name)] IPersistentState<CertificateTagState> state) : Grain, ICertificateTagGrain
{
    public async Task RegisterAsync(TagRegistration registration)
    {
        var uid = string.IsNullOrEmpty(registration.Uid) ? null : registration.Uid;
        if (state.State.Registrations.TryGetValue(registration.Namespace, out var fqdn) && fqdn == registration.Fqdn
            && state.State.Uids.GetValueOrDefault(registration.Namespace) == uid)
        {
            return;
        }

        state.State.Registrations[registration.Namespace] = registration.Fqdn;
        if (uid is null)
        {
            state.State.Uids.Remove(registration.Namespace);
        }
        else
        {
            state.State.Uids[registration.Namespace] = uid;
        }

        await SaveAsync();
        NotifyWatchers(registration.Namespace);
        LeaveWhenAlone();
    }

    public async Task UnregisterAsync(string @namespace)
    {
        state.State.Uids.Remove(@namespace);
        if (state.State.Registrations.Remove(@namespace))
        {
            await SaveAsync();
            NotifyWatchers(@namespace);
        }

        LeaveWhenAlone();
    }

    /// <summary>
    /// A certificate registers once, when issued (and again only when its fqdn changes or it is
    /// deleted), so an activation kept for the idle collection would sit in memory for minutes,
    /// 2-3 KB per certificate whose name no other certificate shares: all of them right after a
    /// mass issuance. Everything this grain needs is in its state (registrations, and the
    /// watchers it notifies), so it deactivates as soon as it is idle, and the next call reads
    /// that state again (one storage read per registration). A name several certificates share
    /// keeps its activation, which then serves them all: their registrations, often made at the
    /// same time, do not each read the whole index again.
    /// </summary>
    private void LeaveWhenAlone()
    {
        if (state.State.Registrations.Count <= 1)
        {
            DeactivateOnIdle();
        }
    }

    public async Task<IReadOnlyList<TagRegistration>> ResolveAndWatchAsync(SubscriberRef watcher)
    {
        if (state.State.Watchers.Add(watcher))
        {
            await SaveAsync();
        }

        return [.. state.State.Registrations.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => new TagRegistration(r.Key, r.Value, state.State.Uids.GetValueOrDefault(r.Key)))];
    }

    public async Task UnwatchAsync(SubscriberRef watcher)
    {
        if (state.State.Watchers.Remove(watcher))
        {
            await SaveAsync();
        }
    }

    private void NotifyWatchers(string @namespace)
    {
        var key = new ResourceKey(@namespace, this.GetPrimaryKeyString()).ToString();
        foreach (var watcher in state.State.Watchers)
        {
            // Revision 0: "something changed", the watcher re-resolves.
            _ = Subscribers.Get(GrainFactory, watcher).OnCertificateChangedAsync(key, 0);
        }
    }

    private Task SaveAsync() => Persistence.SaveAsync(state, DeactivateOnIdle);
}
