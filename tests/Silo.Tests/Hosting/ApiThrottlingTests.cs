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
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2:aaaa:bbbb:cccc:dddd")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::1")]
    [InlineData("fe80::1%2", "fe80::1")]
    [InlineData("::1", "::1")]
    public void By_default_a_client_is_its_full_address_IPv6_included(string address, string client) =>
        Assert.Equal(client, ApiThrottling.ClientOf(IPAddress.Parse(address)));

    [Theory]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", 64, "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:3::1", 64, "2001:db8:1:3::/64")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 56, "2001:db8:1::/56")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 100, "2001:db8:1:2:aaaa:bbbb:c000:0/100")]
    [InlineData("10.1.2.3", 64, "10.1.2.3")]
    public void A_shorter_IPv6_prefix_groups_its_addresses_into_one_client(string address, int prefix, string client) =>
        Assert.Equal(client, ApiThrottling.ClientOf(IPAddress.Parse(address), prefix));

    [Fact]
    public void Two_pods_of_one_IPv6_64_have_separate_budgets_by_default()
    {
        // In an IPv6 cluster the pods of a node share a /64: one flooding pod must not throttle its neighbours.
        var partitions = new ApiThrottling.ClientPartitions(new FakeTimeProvider());
        var options = new ApiRateLimitOptions();

        var noisy = partitions.For(IPAddress.Parse("fd00:10:244:1::a"), options);
        var responder = partitions.For(IPAddress.Parse("fd00:10:244:1::b"), options);

        Assert.NotEqual(noisy, responder);
        Assert.Equal(128, options.Ipv6PrefixLength);
        Assert.Equal(
            partitions.For(IPAddress.Parse("fd00:10:244:1::a"), new ApiRateLimitOptions { Ipv6PrefixLength = 64 }),
            partitions.For(IPAddress.Parse("fd00:10:244:1::b"), new ApiRateLimitOptions { Ipv6PrefixLength = 64 }));
    }

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
        { "Ipv6PrefixLength", "16", "Notary:Api:RateLimit:Ipv6PrefixLength 16 must be between 32 and 128 (default 128" },
        { "Ipv6PrefixLength", "129", "Notary:Api:RateLimit:Ipv6PrefixLength 129 must be between 32 and 128" },
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
