using System.Text;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Bench.Storm;

/// <summary>What <see cref="StormOrder.Check"/> found.</summary>
/// <param name="KeystoreWrites">Keystore writes since the storm began.</param>
/// <param name="TruststoreWrites">Truststore writes since the storm began.</param>
/// <param name="OrderChecks">Certificate/dependent truststore pairs whose order was checked.</param>
internal sealed record StormVerdict(int KeystoreWrites, int TruststoreWrites, int OrderChecks);

/// <summary>
/// Checks the make-before-break order of every roll from the recorded writes: for each
/// certificate, the first keystore write serving its new certificate comes after a write of every
/// dependent truststore that holds the new certificate, and no write of those truststores before
/// it has dropped the old one (the service presents the old certificate until its keystore's write
/// lands): a failure otherwise. Certificates are compared by their DER (the base64 of the
/// PEM blocks in tls.crt and ca.crt, which are written with the store in the same Secret).
/// </summary>
internal static class StormOrder
{
    public static StormVerdict Check(Mesh mesh, PublicMaterial[] old, PublicMaterial[] renewed, IReadOnlyList<(long Sequence, StoreWrite Write)> writes)
    {
        var oldDer = old.Select(m => Der(m.CertificatePem).Single()).ToArray();
        var newDer = renewed.Select(m => Der(m.CertificatePem).Single()).ToArray();
        var switchedAt = new long?[mesh.Services.Count];
        var truststoreWrites = new Dictionary<ResourceKey, List<(long Sequence, HashSet<string> Trusted)>>();
        var keystores = 0;
        foreach (var (sequence, write) in writes)
        {
            if (write.Kind == ResourceKind.Keystore)
            {
                keystores++;
                var index = mesh.Index[new ResourceKey(write.Resource.Namespace, write.Resource.Name[..^"-ks".Length])];
                var served = Der(Encoding.UTF8.GetString(write.Files[StoreBuilder.TlsCrt]))[0];
                if (served == newDer[index])
                {
                    switchedAt[index] ??= sequence;
                }
                else if (served != oldDer[index])
                {
                    throw new InvalidOperationException($"Keystore {write.Resource} (write {sequence}) serves a certificate that is neither the old nor the new one");
                }
            }
            else
            {
                if (!truststoreWrites.TryGetValue(write.Resource, out var list))
                {
                    truststoreWrites[write.Resource] = list = [];
                }

                list.Add((sequence, Der(Encoding.UTF8.GetString(write.Files[StoreBuilder.CaCrt])).ToHashSet(StringComparer.Ordinal)));
            }
        }

        var checks = 0;
        for (var i = 0; i < mesh.Services.Count; i++)
        {
            var service = mesh.Services[i];
            var switched = switchedAt[i] ?? throw new InvalidOperationException($"Keystore {service.Keystore} never served the new certificate");
            foreach (var dependent in mesh.Dependents[i])
            {
                var truststore = mesh.Services[dependent].Truststore;
                var list = truststoreWrites.GetValueOrDefault(truststore) ?? [];
                var held = list.FirstOrDefault(w => w.Trusted.Contains(newDer[i]));
                if (held.Trusted is null || held.Sequence > switched)
                {
                    throw new InvalidOperationException(
                        $"Keystore {service.Keystore} switched (write {switched}) before Truststore {truststore} held the new certificate ({(held.Trusted is null ? "never" : $"write {held.Sequence}")})");
                }

                var dropped = list.FirstOrDefault(w => w.Sequence < switched && !w.Trusted.Contains(oldDer[i]));
                if (dropped.Trusted is not null)
                {
                    // Break: the service still presented its old certificate, which this peer no
                    // longer trusted (even with Overlap and PropagationDelay zero the overlap counts
                    // from the keystore's confirmed write, see CertificateGrain.Roll.cs).
                    throw new InvalidOperationException(
                        $"Truststore {truststore} dropped the old certificate of {service.Keystore} (write {dropped.Sequence}) before the keystore served the new one (write {switched})");
                }

                checks++;
            }
        }

        return new StormVerdict(keystores, writes.Count - keystores, checks);
    }

    /// <summary>The base64 DER of every PEM block of <paramref name="pem"/>, in order.</summary>
    private static List<string> Der(string pem)
    {
        var blocks = new List<string>();
        StringBuilder? current = null;
        foreach (var line in pem.Split('\n'))
        {
            var text = line.Trim();
            if (text.StartsWith("-----BEGIN", StringComparison.Ordinal))
            {
                current = new StringBuilder();
            }
            else if (text.StartsWith("-----END", StringComparison.Ordinal))
            {
                blocks.Add(current?.ToString() ?? string.Empty);
                current = null;
            }
            else
            {
                current?.Append(text);
            }
        }

        return blocks;
    }
}
