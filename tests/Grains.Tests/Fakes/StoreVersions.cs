using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Grains.Tests.Fakes;

/// <summary>
/// What the roll and CA rotation tests read back from the writes <see cref="InMemorySecretStore"/>
/// recorded: each version of a store and the time pods could read it, its entries and
/// <c>ca.crt</c>, which versions were readable together, and a batch of real Java mutual-TLS
/// handshakes between them (java/MutualTlsBatch.java).
/// </summary>
public static class StoreVersions
{
    /// <summary>One write of a store: from <see cref="At"/> until the next write (<see cref="Until"/>; null for the last).</summary>
    public sealed record StoreVersion(StoreWrite Write, DateTimeOffset At, DateTimeOffset? Until);

    /// <summary>Every version of one store, in the order written.</summary>
    public static List<StoreVersion> Versions(InMemorySecretStore store, ResourceKind kind, ResourceKey key)
    {
        var history = store.History(kind, key);
        return [.. history.Select((h, i) => new StoreVersion(h.Write, h.At!.Value, i + 1 < history.Count ? history[i + 1].At!.Value : null))];
    }

    /// <summary>
    /// Pairs (index in <paramref name="first"/>, index in <paramref name="second"/>) of versions
    /// readable at one of <paramref name="moments"/>: a version is read by pods from its write
    /// until <paramref name="delay"/> (the propagation delay) after the next one.
    /// </summary>
    public static List<(int, int)> ReadableTogether(IReadOnlyList<DateTimeOffset> moments, List<StoreVersion> first, List<StoreVersion> second, DateTimeOffset end, TimeSpan delay)
    {
        bool Readable(StoreVersion v, DateTimeOffset t) => v.At <= t && t < (v.Until ?? end) + delay;
        return [.. moments.SelectMany(t => Enumerable.Range(0, first.Count).Where(i => Readable(first[i], t))
            .SelectMany(i => Enumerable.Range(0, second.Count).Where(j => Readable(second[j], t)).Select(j => (i, j)))).Distinct()];
    }

    /// <summary>A store's PKCS#12 entries.</summary>
    public static X509Certificate2Collection Entries(StoreWrite write, string password) =>
        X509CertificateLoader.LoadPkcs12Collection(write.Files[write.PrimaryFileName], password, X509KeyStorageFlags.EphemeralKeySet);

    /// <summary>The certificates of a store's <c>ca.crt</c>.</summary>
    public static X509Certificate2Collection CaCrtCertificates(StoreWrite write)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPem(System.Text.Encoding.UTF8.GetString(write.Files["ca.crt"]));
        return collection;
    }

    /// <summary>The thumbprints of a store's <c>ca.crt</c>.</summary>
    public static HashSet<string> CaCrt(StoreWrite write) => [.. CaCrtCertificates(write).Select(c => c.Thumbprint)];

    public static string Thumbprint(CertificateAuthority ca) => X509Certificate2.CreateFromPem(ca.CertificatePem).Thumbprint;

    /// <summary>Fires a grain's reminder as the reminder service would at <paramref name="now"/>.</summary>
    public static Task FireAsync(IAddressable grain, string reminder, DateTimeOffset now) =>
        grain.AsReference<IRemindable>().ReceiveReminder(reminder, new TickStatus(now.UtcDateTime, TimeSpan.FromMinutes(1), now.UtcDateTime));

    /// <summary>
    /// Runs one Java mutual-TLS handshake per line of <paramref name="lines"/> (MutualTlsBatch's
    /// tab-separated format) and asserts that Java ran, answered every line, and every handshake
    /// succeeded. The pairs file goes into <paramref name="directory"/>.
    /// </summary>
    public static async Task AssertJavaHandshakesAsync(IReadOnlyCollection<string> lines, string directory)
    {
        var pairs = Path.Combine(directory, "pairs.tsv");
        await File.WriteAllLinesAsync(pairs, lines);
        using var java = Process.Start(new ProcessStartInfo("java", ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", Path.Combine(AppContext.BaseDirectory, "java", "MutualTlsBatch.java"), pairs])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = java.StandardOutput.ReadToEndAsync();
        var errors = await java.StandardError.ReadToEndAsync();
        await java.WaitForExitAsync();
        Assert.True(java.ExitCode == 0, errors);
        var results = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(lines.Count, results.Length);
        var failed = results.Where(r => !r.StartsWith("OK ", StringComparison.Ordinal)).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of {results.Length} handshakes failed: {string.Join("; ", failed.Take(5))}");
    }
}
