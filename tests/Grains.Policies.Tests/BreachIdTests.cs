using Notary.Grains.Abstractions;

namespace Notary.Grains.Policies.Tests;

/// <summary>
/// Breach ids of the HTTP API are NAMESPACE.NAME of the Breach object: the namespace (a DNS
/// label, no dot) is known from the id alone, so the caller is authorised before anything is
/// looked up. Literals, not computed with the code under test.
/// </summary>
public sealed class BreachIdTests
{
    [Theory]
    [InlineData("shop", "web-1a2b3c4d", "shop.web-1a2b3c4d")]
    [InlineData("shop", "web.v2-1a2b3c4d", "shop.web.v2-1a2b3c4d")]
    public void An_id_is_the_namespace_a_dot_and_the_name(string @namespace, string name, string id)
    {
        Assert.Equal(id, BreachIds.For(new ResourceKey(@namespace, name)));
        Assert.True(BreachIds.TryParse(id, out var breach));
        Assert.Equal(new ResourceKey(@namespace, name), breach);
    }

    [Theory]
    [InlineData("b-67d88ed23d4b28949d1d")]
    [InlineData("shop.")]
    [InlineData(".web")]
    [InlineData("")]
    public void Without_a_namespace_and_a_name_around_the_first_dot_it_is_not_an_id(string id) =>
        Assert.False(BreachIds.TryParse(id, out _));

    [Fact]
    public void A_new_name_is_the_certificate_and_a_random_suffix_so_an_identical_report_is_a_new_breach()
    {
        var first = BreachIds.NewName("web");
        var second = BreachIds.NewName("web");
        Assert.Matches("^web-[0-9a-f]{8}$", first);
        Assert.NotEqual(first, second);
        Assert.True(BreachIds.NewName(new string('a', 253)).Length <= 49);
    }
}
