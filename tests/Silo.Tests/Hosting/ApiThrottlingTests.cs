using System.Net;
using Microsoft.Extensions.Configuration;

namespace Notary.Silo.Tests.Hosting;

/// <summary>Who counts as one client, and the throttle's options.</summary>
public sealed class ApiThrottlingTests
{
    [Theory]
    [InlineData("10.1.2.3", "10.1.2.3")]
    [InlineData("::ffff:10.1.2.3", "10.1.2.3")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:3::1", "2001:db8:1:3::/64")]
    [InlineData("::1", "::/64")]
    public void A_client_is_its_IPv4_address_or_its_IPv6_64(string address, string client) =>
        Assert.Equal(client, ApiThrottling.ClientOf(IPAddress.Parse(address)));

    [Fact]
    public void Without_a_peer_address_every_request_shares_one_client() =>
        Assert.Equal(ApiThrottling.ClientOf(null), ApiThrottling.ClientOf(null));

    public static TheoryData<string, string, string> BadOptions => new()
    {
        { "PermitsPerWindow", "0", "Notary:Api:RateLimit:PermitsPerWindow 0 must be between 1 and 100000 (default 30); to turn throttling off, set Notary:Api:RateLimit:Enabled=false." },
        { "Window", "00:00:00", "Notary:Api:RateLimit:Window 00:00:00 must be between 00:00:00.1 and 01:00:00 (default 00:00:10)." },
        { "Window", "02:00:00", "Notary:Api:RateLimit:Window 02:00:00 must be between" },
        { "MaxClients", "0", "Notary:Api:RateLimit:MaxClients 0 must be between 1 and 1000000" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_limits_are_refused_saying_how_to_fix_them(string key, string value, string message)
    {
        var options = new ApiRateLimitOptions();
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build().Bind(options);

        var failure = Assert.Single(new ApiRateLimitOptionsValidator().Validate(null, options).Failures!);

        Assert.StartsWith(message, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_are_valid_and_throttle() =>
        Assert.True(new ApiRateLimitOptionsValidator().Validate(null, new ApiRateLimitOptions()).Succeeded && new ApiRateLimitOptions().Enabled);
}
