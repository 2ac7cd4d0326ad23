using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;
using Notary.Grains.Protection;
using Notary.Pki;

namespace Notary.Grains;

/// <summary>
/// One Keystore: the service's private key and full chain under one alias (the certificate's
/// name), encrypted with the keystore password from the metadata Secret, rebuilt whenever its
/// Certificate is re-issued.
/// </summary>
public sealed class KeystoreGrain(
    [PersistentState("keystore", GrainStorage.Name)] IPersistentState<StoreState<KeystoreSpec>> state,
    IServiceMetadataSource metadataSource,
    ISecretStore secretStore,
    IStatusWriter statusWriter,
    IEventRecorder events,
    INotaryMetrics metrics,
    IWorkloadRestarter restarter,
    StoreWriteGate gate,
    TimeProvider time,
    StateProtector protector,
    ILogger<KeystoreGrain> logger)
    : StoreGrain<KeystoreSpec>(state, metadataSource, secretStore, statusWriter, events, metrics, restarter, gate, time, protector, logger, ResourceKind.Keystore), IKeystoreGrain
{
    protected override string? Format(KeystoreSpec spec) => spec.Format;

    protected override Task OnHoldsAsync(IReadOnlyDictionary<string, long> rolling)
    {
        foreach (var (certificate, revision) in rolling)
        {
            // One-way, like a truststore's acknowledgement: neither grain waits on the other.
            _ = GrainFactory.GetGrain<ICertificateGrain>(certificate).AcknowledgeKeystoreAsync(Self, revision);
        }

        return Task.CompletedTask;
    }

    protected override string? MetadataSecretName(KeystoreSpec spec) => spec.MetadataSecret;

    protected override bool SameSpec(KeystoreSpec a, KeystoreSpec b) => a == b;

    protected override async Task<(StoreBuild? Build, Problem? Problem)> BuildAsync(KeystoreSpec spec, StoreFormat format, ServiceMetadata metadata)
    {
        var certificate = new ResourceKey(Resource.Namespace, spec.CertName);
        var key = certificate.ToString();
        await SyncCertificatesAsync(new HashSet<string>(StringComparer.Ordinal) { key });
        var snapshot = (await SnapshotsAsync([certificate]))[certificate];
        if (!snapshot.Exists)
        {
            return (null, State.BuiltFrom.ContainsKey(key)
                ? new Problem(Reasons.CertificateDeleted, $"spec.certName: Certificate {key} was deleted; the store keeps its last contents")
                : new Problem(Reasons.CertificateNotFound, $"spec.certName: Certificate {key} does not exist"));
        }

        if (!string.Equals(snapshot.Fqdn, spec.Fqdn, StringComparison.OrdinalIgnoreCase))
        {
            return (null, new Problem(Reasons.FqdnMismatch, $"spec.fqdn \"{spec.Fqdn}\" does not match Certificate {key}, whose fqdn is \"{snapshot.Fqdn}\""));
        }

        if (snapshot.Material is null)
        {
            return (null, new Problem(Reasons.CertificateNotReady, $"spec.certName: Certificate {key} has not been issued yet"));
        }

        // Only keystores fetch the private key, and only of the revision just checked: the one it
        // serves, which stays behind the newest during a make-before-break roll.
        var material = await GrainFactory.GetGrain<ICertificateGrain>(key).GetIssuedMaterialAsync(snapshot.ServedRevision);
        if (material is null)
        {
            return (null, new Problem(Reasons.CertificateNotReady, $"spec.certName: Certificate {key} changed while the keystore was being built; it is rebuilt when the new certificate is issued"));
        }

        // A CA rotation's CAs (ca.crt beside the chain): their fingerprints are the build key, so
        // a change rebuilds the keystore without a new revision; null outside a rotation.
        var issuerCas = CaFingerprints.Distinct(snapshot.IssuerCas);
        return (new StoreBuild(
            new Dictionary<string, long> { [key] = snapshot.ServedRevision },
            () => (StoreBuilder.Keystore(Resource, spec.Fqdn, format, metadata, spec.CertName, material, snapshot.IssuerCas), [spec.CertName]))
        {
            Key = issuerCas.Count == 0 ? null : "cas:" + string.Join(",", issuerCas),
            // After a switch the certificate waits for every keystore to serve it before the
            // previous one's overlap starts: confirmed once stored (or found stored).
            Rolling = snapshot.AwaitsKeystores ? new Dictionary<string, long>(StringComparer.Ordinal) { [key] = snapshot.ServedRevision } : new Dictionary<string, long>(StringComparer.Ordinal),
            OnStored = () => State.IssuerCas = issuerCas.Count == 0 ? null : [.. issuerCas],
        }, null);
    }
}
