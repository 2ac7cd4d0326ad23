using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Notary.Grains.Tests;

/// <summary>
/// Grain state saved by an earlier Notary must load in this one. Fixtures/frozen-state.txt holds
/// bytes written once by the serializer of commit 0b8c3ef, before the serialized types carried
/// [Alias]; they are never regenerated (the point is that today's code did not produce them).
/// Each must load to exactly the values <see cref="FrozenStateSamples"/> spells out.
/// </summary>
public sealed class FrozenStateTests : IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { IncludeFields = false, WriteIndented = true };
    private readonly ServiceProvider _services = new ServiceCollection().AddSerializer().BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    private T Load<T>(string name)
    {
        var line = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", "frozen-state.txt"))
            .Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        var bytes = Convert.FromBase64String(line[(name.Length + 1)..]);
        return _services.GetRequiredService<Serializer>().Deserialize<T>(bytes) ?? throw new InvalidDataException($"{name}: nothing loaded");
    }

    [Fact]
    public void A_certificate_state_saved_before_aliases_loads_with_every_value()
    {
        var loaded = Load<CertificateState>("certificate");

        Assert.Equal(JsonSerializer.Serialize(FrozenStateSamples.Certificate(), Json), JsonSerializer.Serialize(loaded, Json));
        // Spot checks in literals, so that a sample edited to match a broken load is noticed.
        Assert.Equal("orders.orders.svc.cluster.local", loaded.Spec!.Fqdn);
        Assert.Equal(7, loaded.Revision);
        Assert.Equal("0A1B2C", loaded.Material!.SerialNumber);
        Assert.Equal(new byte[] { 0, 1, 2, 3 }, loaded.Material.Key);
        Assert.Equal("ticket-1", loaded.Pending!.Ticket);
        Assert.Equal(2, loaded.Pending.Steps);
        Assert.True(loaded.Quarantined);
        Assert.Equal([TimeSpan.FromDays(30)], loaded.AlertsSent);
        Assert.Equal("orders/orders-truststore", Assert.Single(loaded.Subscribers).Key);
    }

    [Fact]
    public void A_truststore_state_saved_before_aliases_loads_with_every_value()
    {
        var loaded = Load<StoreState<Abstractions.TruststoreSpec>>("truststore");

        Assert.Equal(JsonSerializer.Serialize(FrozenStateSamples.Truststore(), Json), JsonSerializer.Serialize(loaded, Json));
        Assert.Equal("payments", Assert.Single(loaded.Spec!.Upstream).Tag);
        Assert.Equal(7, loaded.BuiltFrom["orders/orders"]);
        Assert.Equal("k8s://orders/secrets/orders-truststore", loaded.Stored!.Location);
        Assert.Contains("payments/payments", loaded.Excluded);
    }

    [Fact]
    public void A_breach_state_saved_before_aliases_loads_with_every_value()
    {
        var loaded = Load<BreachState>("breach");

        Assert.Equal(JsonSerializer.Serialize(FrozenStateSamples.Breach(), Json), JsonSerializer.Serialize(loaded, Json));
        Assert.Equal("alice", loaded.Report!.RequestedBy);
        Assert.Equal("orders-truststore", Assert.Single(loaded.Report.Items).Name);
    }

    // Frozen from the commit that introduced IssuerState (issue 18), with the aliases it has.
    [Fact]
    public void An_issuer_state_saved_by_the_first_issuers_loads_with_every_value()
    {
        var loaded = Load<IssuerState>("issuer");

        Assert.Equal(JsonSerializer.Serialize(FrozenStateSamples.Issuer(), Json), JsonSerializer.Serialize(loaded, Json));
        Assert.Equal("team-ca", loaded.Spec!.Ca!.SecretName);
        Assert.Equal("AB01", loaded.Issued["orders/orders"]);
        Assert.Contains("orders/late", loaded.Waiting);
        Assert.True(loaded.RetryRegistered);
    }
}
