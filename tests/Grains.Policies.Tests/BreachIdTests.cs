using Notary.Grains.Abstractions;

namespace Notary.Grains.Policies.Tests;

/// <summary>
/// Breach ids are persisted (grain keys, status, the CLI's output): the same report must keep
/// its id across versions. The expected ids are literals, computed outside .NET with
/// <c>python3 -c 'import hashlib; print("b-" + hashlib.sha256(b"shop/web\nRotate\nkey on a stolen laptop").hexdigest()[:20])'</c>.
/// </summary>
public sealed class BreachIdTests
{
    [Theory]
    [InlineData("shop", "web", BreachMode.Rotate, "key on a stolen laptop", "b-67d88ed23d4b28949d1d")]
    [InlineData("shop", "web", BreachMode.Rotate, "  key on a stolen laptop\n", "b-67d88ed23d4b28949d1d")]
    [InlineData("shop", "web", BreachMode.Quarantine, "suspicious issuance", "b-a50340d60e94467edb87")]
    public void A_known_report_has_a_known_id(string @namespace, string name, BreachMode mode, string reason, string id)
    {
        Assert.Equal(id, BreachIds.For(new ResourceKey(@namespace, name), mode, reason));
        Assert.True(BreachIds.IsValid(id));
    }

    [Theory]
    [InlineData("b-67d88ed23d4b28949d1d", true)]
    [InlineData("b-67d88ed23d4b28949d1", false)]
    [InlineData("b-67d88ed23d4b28949d1dd", false)]
    [InlineData("b-67D88ED23D4B28949D1D", false)]
    [InlineData("c-67d88ed23d4b28949d1d", false)]
    [InlineData("b-67d88ed23d4b28949d1g", false)]
    public void Valid_ids_are_b_dash_and_20_lower_case_hex_digits(string id, bool valid) =>
        Assert.Equal(valid, BreachIds.IsValid(id));
}
