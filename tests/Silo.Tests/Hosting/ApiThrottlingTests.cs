using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;

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

    [Fact]
    public void Beyond_MaxClients_new_addresses_share_one_overflow_partition_until_idle_ones_are_forgotten()
    {
        var time = new FakeTimeProvider();
        var partitions = new ApiThrottling.ClientPartitions(time);
        var options = new ApiRateLimitOptions { MaxClients = 2, Window = TimeSpan.FromSeconds(10) };

        Assert.Equal("10.0.0.1", partitions.For(IPAddress.Parse("10.0.0.1"), options));
        Assert.Equal("10.0.0.2", partitions.For(IPAddress.Parse("10.0.0.2"), options));
        Assert.Equal(ApiThrottling.ClientPartitions.Overflow, partitions.For(IPAddress.Parse("10.0.0.3"), options));
        Assert.Equal(ApiThrottling.ClientPartitions.Overflow, partitions.For(IPAddress.Parse("10.0.0.4"), options));
        // A counted client keeps its own partition.
        Assert.Equal("10.0.0.1", partitions.For(IPAddress.Parse("10.0.0.1"), options));

        // Idle for a minute (at least two windows), a client is forgotten and its place is free.
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("10.0.0.3", partitions.For(IPAddress.Parse("10.0.0.3"), options));
    }

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
