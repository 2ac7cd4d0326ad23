using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Notary.CustomResources;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Watcher;

/// <summary>
/// How one Notary resource type is forwarded: its kind, the grain call, the metadata Secret a
/// store names, and a value outside the spec whose change is forwarded too although the
/// generation stays (a Certificate's annotation notary.dev/renew).
/// </summary>
internal sealed record NotaryKind<T>(
    ResourceKind Kind,
    Func<IResourceEventSink, ResourceKey, T, ResourceVersionInfo, CancellationToken, Task> ApplyAsync,
    Func<T, string?>? MetadataSecret = null,
    Func<T, string?>? Trigger = null);

/// <summary>
/// Forwards a Certificate, Keystore or Truststore to its grain, once per (uid, generation):
/// changes that leave the generation alone (Notary's own status writes, its finalizer, labels)
/// are skipped, except on resync and deletion, and except a new value of the kind's trigger
/// (a Certificate's notary.dev/renew annotation: an operator's "renew now"). Before the first apply it puts Notary's finalizer
/// on the object; when the object is being deleted it has the grain clean up, then takes the
/// finalizer off and records a "CleanedUp" Event. An object that disappears without the
/// finalizer (or is replaced by a new object of the same name) is deleted from its grain too.
/// </summary>
internal sealed class ResourceReconciler<T>(
    NotaryKind<T> kind,
    IResourceEventSink sink,
    ResourceFinalizers finalizers,
    IEventRecorder events,
    MetadataSecretIndex metadataSecrets,
    ILogger logger) : IReconciler<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    public const string CleanedUpReason = "CleanedUp";

    private readonly Lock _lock = new();

    // What was last forwarded per key: the incarnation (uid), its generation, and whether its deletion was.
    private readonly Dictionary<string, Forwarded> _forwarded = new(StringComparer.Ordinal);

    public void Observe(string key, T? current)
    {
        if (kind.MetadataSecret is { } secretOf)
        {
            var resource = ResourceKey.Parse(key);
            metadataSecrets.Set(kind.Kind, key, current is null ? null : $"{resource.Namespace}/{ResourceMapping.MetadataSecretOf(secretOf(current))}");
        }
    }

    public async Task ReconcileAsync(string key, T? current, T? lastKnown, bool resync, CancellationToken cancellationToken)
    {
        var resource = ResourceKey.Parse(key);
        var forwarded = Get(key);

        if (current is null)
        {
            var origin = forwarded?.Origin ?? (lastKnown is null ? null : ResourceMapping.OriginOf(lastKnown));
            if (origin is not null && forwarded?.Deleted != true)
            {
                await sink.DeleteAsync(kind.Kind, resource, origin, cancellationToken).ConfigureAwait(false);
                Log.ForwardedDelete(logger, kind.Kind, resource, origin.Uid);
            }

            Set(key, null);
            return;
        }

        var now = ResourceMapping.OriginOf(current);
        if (forwarded is not null && forwarded.Origin.Uid != now.Uid)
        {
            // Deleted and created again between two looks: the old incarnation goes first.
            if (!forwarded.Deleted)
            {
                await sink.DeleteAsync(kind.Kind, resource, forwarded.Origin, cancellationToken).ConfigureAwait(false);
                Log.ForwardedDelete(logger, kind.Kind, resource, forwarded.Origin.Uid);
            }

            Set(key, null);
            forwarded = null;
        }

        if (current.Metadata.DeletionTimestamp is not null)
        {
            await DeletingAsync(key, resource, current, now, forwarded, cancellationToken).ConfigureAwait(false);
            return;
        }

        var trigger = kind.Trigger?.Invoke(current);
        if (!resync && forwarded is { Deleted: false } && forwarded.Origin.Generation >= now.Generation && forwarded.Trigger == trigger)
        {
            Log.Skipped(logger, kind.Kind, resource, now.Uid, now.Generation);
            return;
        }

        if (!ResourceFinalizers.Has(current.Metadata)
            && !await finalizers.AddAsync(kind.Kind, resource, current.Metadata, cancellationToken).ConfigureAwait(false))
        {
            // Gone, replaced or being deleted meanwhile: its next event says which.
            return;
        }

        await kind.ApplyAsync(sink, resource, current, now, cancellationToken).ConfigureAwait(false);
        Set(key, new Forwarded(now, Deleted: false, trigger));
        Log.ForwardedApply(logger, kind.Kind, resource, now.Uid, now.Generation, resync);
    }

    private async Task DeletingAsync(string key, ResourceKey resource, T current, ResourceVersionInfo origin, Forwarded? forwarded, CancellationToken cancellationToken)
    {
        if (forwarded?.Deleted != true)
        {
            await sink.DeleteAsync(kind.Kind, resource, origin, cancellationToken).ConfigureAwait(false);
            Set(key, new Forwarded(origin, Deleted: true));
            Log.ForwardedDelete(logger, kind.Kind, resource, origin.Uid);
        }

        if (!ResourceFinalizers.Has(current.Metadata))
        {
            return;
        }

        if (await finalizers.RemoveAsync(kind.Kind, resource, current.Metadata, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await events.RecordAsync(
                    resource,
                    kind.Kind,
                    origin.Uid,
                    EventSeverity.Normal,
                    CleanedUpReason,
                    $"Cleaned up: Notary deleted what it kept for this {kind.Kind} and removed its finalizer {ResourceFinalizers.Finalizer}.",
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The cleanup is done and the finalizer off; a lost Event must not undo either.
                Log.EventFailed(logger, kind.Kind, resource, ex.GetType().Name, ex.Message);
            }
        }
    }

    private Forwarded? Get(string key)
    {
        lock (_lock)
        {
            return _forwarded.GetValueOrDefault(key);
        }
    }

    private void Set(string key, Forwarded? forwarded)
    {
        lock (_lock)
        {
            if (forwarded is null)
            {
                _forwarded.Remove(key);
            }
            else
            {
                _forwarded[key] = forwarded;
            }
        }
    }

    private sealed record Forwarded(ResourceVersionInfo Origin, bool Deleted, string? Trigger = null);
}

/// <summary>
/// Forwards a change of a metadata Secret (one that some store names) to its
/// IMetadataSecretGrain, once per (uid, resourceVersion): Secrets have no generation, and a
/// Secret's resourceVersion changes only when the Secret does.
/// </summary>
internal sealed class MetadataSecretReconciler(IResourceEventSink sink, MetadataSecretIndex metadataSecrets, ILogger logger, CaSecretIndex? caSecrets = null) : IReconciler<V1Secret>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string? Uid, string? ResourceVersion)> _forwarded = new(StringComparer.Ordinal);

    public void Observe(string key, V1Secret? current)
    {
    }

    public async Task ReconcileAsync(string key, V1Secret? current, V1Secret? lastKnown, bool resync, CancellationToken cancellationToken)
    {
        // A store's own Secret deleted by someone else: its grain writes it again. (Our own
        // deletes come after the grain forgot the store, so they change nothing there.)
        if (current is null && StoreOf(lastKnown) is { } store)
        {
            await sink.StoredSecretDeletedAsync(store.Kind, store.Resource, cancellationToken).ConfigureAwait(false);
            Log.ForwardedSecret(logger, store.Resource, "store deleted");
        }

        // A metadata Secret (named by a store) or a CA Secret (named by a ca issuer), or both.
        var isMetadata = metadataSecrets.IsReferenced(key);
        var issuers = caSecrets?.IssuersOf(key) ?? [];
        if (!isMetadata && issuers.Count == 0)
        {
            Forget(key);
            return;
        }

        var secret = ResourceKey.Parse(key);
        if (current is null)
        {
            await ForwardAsync(secret, isMetadata, issuers, "deleted", cancellationToken).ConfigureAwait(false);
            Forget(key);
            return;
        }

        var version = (current.Metadata?.Uid, current.Metadata?.ResourceVersion);
        lock (_lock)
        {
            if (!resync && _forwarded.TryGetValue(key, out var known) && known == version)
            {
                return;
            }
        }

        await ForwardAsync(secret, isMetadata, issuers, resync ? "resync" : "changed", cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _forwarded[key] = version;
        }
    }

    private async Task ForwardAsync(ResourceKey secret, bool isMetadata, IReadOnlyList<string> issuers, string change, CancellationToken cancellationToken)
    {
        if (isMetadata)
        {
            await sink.MetadataSecretChangedAsync(secret, cancellationToken).ConfigureAwait(false);
            Log.ForwardedSecret(logger, secret, change);
        }

        foreach (var issuer in issuers)
        {
            await sink.CaSecretChangedAsync(issuer, cancellationToken).ConfigureAwait(false);
            Log.ForwardedCaSecret(logger, secret, issuer, change);
        }
    }

    private void Forget(string key)
    {
        lock (_lock)
        {
            _forwarded.Remove(key);
        }
    }

    /// <summary>The Keystore or Truststore a Secret holds, by the labels the Secret store writes; null for any other Secret.</summary>
    internal static (ResourceKind Kind, ResourceKey Resource)? StoreOf(V1Secret? secret)
    {
        var labels = secret?.Metadata?.Labels;
        if (labels is null
            || !labels.TryGetValue(SecretLabels.ManagedBy, out var managedBy) || managedBy != SecretLabels.ManagedByValue
            || !labels.TryGetValue(SecretLabels.Kind, out var kind)
            || !Enum.TryParse<ResourceKind>(kind, out var parsed) || parsed == ResourceKind.Certificate)
        {
            return null;
        }

        // The Secret is named after its store.
        return (parsed, new ResourceKey(secret!.Metadata.NamespaceProperty, secret.Metadata.Name));
    }
}
