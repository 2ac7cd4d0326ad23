using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;

namespace Notary.Grains;

// The breach grain's small decisions and calls: which recorded status it adopts, the quarantine's
// hold, a store's rebuild asked again on a timeout, the CA that vouched for the certificate.
public sealed partial class BreachGrain
{
    /// <summary>
    /// Whether a status the API server holds is this Breach's own record: not a dry run's answer,
    /// and of the spec's mode and certificate (spec is immutable; a record that disagrees is not trusted).
    /// </summary>
    private static bool Adoptable(BreachReport recorded, BreachRequest request) =>
        recorded.Phase != BreachPhase.DryRun
        && recorded.Mode == request.Mode
        && recorded.Certificate == request.Certificate
        && (recorded.IsFinished || recorded.Phase == BreachPhase.InProgress);

    /// <summary>
    /// Reports a saved report to the metrics: its items while it runs here, and its finish once
    /// (a report saved again in the same end phase, e.g. re-published, is not another finish).
    /// </summary>
    private void Observe(BreachReport? before, BreachReport after)
    {
        metrics.BreachObserved(ResourceKey.Parse(Key), after.Mode, after.Items);
        if (after.IsFinished && after.Phase != BreachPhase.DryRun
            && !(before is { IsFinished: true } && before.Phase == after.Phase && before.Uid == after.Uid))
        {
            metrics.BreachFinished(after.Mode, after.Phase);
        }
    }

    /// <summary>Another silo reports this breach from its next activation on: this one drops its series.</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_report is not null)
        {
            metrics.BreachObserved(ResourceKey.Parse(Key), _report.Mode, null);
        }

        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    /// <summary>Holds the certificate out of every truststore for this Breach (idempotent; counted even before the certificate exists).</summary>
    private async Task HoldAsync(BreachRequest request) =>
        await GrainFactory.GetGrain<ICertificateGrain>(request.Certificate.ToString())
            .HoldQuarantineAsync(Key, true, $"breach {BreachIds.For(ResourceKey.Parse(Key))}: {request.Reason}");

    /// <summary>The issuer's subject of the certificate's current leaf, or a description when none is issued.</summary>
    private static string IssuerOf(CertificateSnapshot snapshot)
    {
        if (snapshot.Material is null)
        {
            return "unknown (no certificate is issued)";
        }

        using var leaf = X509Certificate2.CreateFromPem(snapshot.Material.CertificatePem);
        return leaf.Issuer;
    }

    /// <summary>
    /// Asks one store to rebuild. In a large fan-out every dependent store is busy at once (the
    /// certificate's change notification starts the same rebuilds), so a store can be too busy
    /// to answer within Orleans' response timeout while its rebuild is on its way: with 1,000
    /// truststores on a loaded 2-core machine, 971 of them were reported Failed that way although
    /// every one was rebuilt. Rebuilding is idempotent (a store already built from the current
    /// revisions writes nothing), so a timed-out call is asked again, a few times.
    /// </summary>
    private static async Task<StoreStatus> RebuildAsync(ICertificateSubscriber store)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await store.RebuildAsync();
            }
            catch (TimeoutException) when (attempt < RebuildAttempts)
            {
            }
        }
    }
}
