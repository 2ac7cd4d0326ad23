using Microsoft.Extensions.Configuration;

namespace Notary.Silo.Tests.Hosting;

/// <summary>
/// A silo refuses to start on a Redis connection without a password and TLS to a server off
/// loopback, unless Notary:Cluster:Redis:AllowInsecure says it is on purpose (the chart refuses
/// the same for a connection string it can see; this catches one in an existing Secret).
/// </summary>
public sealed class RedisConnectionSecurityTests
{
    private static (bool Valid, string Message) Validate(string connectionString, string? allowInsecure = null)
    {
        var options = NotaryClusterOptions.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Notary:Cluster:Provider"] = "redis",
            ["Notary:Cluster:Redis:ConnectionString"] = connectionString,
            ["Notary:Cluster:Redis:AllowInsecure"] = allowInsecure,
        }).Build());
        var result = new NotaryClusterOptionsValidator().Validate(null, options);
        return (result.Succeeded, result.FailureMessage ?? "");
    }

    [Theory]
    [InlineData("redis.data.svc:6379", "no password and no TLS (ssl=true)")]
    [InlineData("redis.data.svc:6379,password=s3cret", "no TLS (ssl=true)")]
    [InlineData("redis.data.svc:6380,ssl=true", "no password")]
    [InlineData("10.0.0.7:6379,password=s3cret,ssl=false", "no TLS (ssl=true)")]
    [InlineData("127.0.0.1:6379,redis.data.svc:6379", "no password and no TLS (ssl=true)")]
    // A repeated option: the last one wins (the chart's check reads it the same way, ChartRedisSecurityTests).
    [InlineData("redis.data.svc:6380,password=s3cret,ssl=true,ssl=false", "no TLS (ssl=true)")]
    [InlineData("redis.data.svc:6380,password=s3cret,ssl=true,password=", "no password")]
    public void A_connection_off_loopback_without_password_and_TLS_is_refused_with_how_to_fix_it(string connectionString, string missing)
    {
        var (valid, message) = Validate(connectionString);

        Assert.False(valid);
        Assert.Contains($"has {missing}:", message, StringComparison.Ordinal);
        Assert.Contains("Notary__Cluster__Redis__AllowInsecure=true", message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis.data.svc:6380,password=s3cret,ssl=true", null)]
    [InlineData("redis.data.svc:6380,user=notary,password=s3cret,ssl=True", null)]
    [InlineData("redis.data.svc:6380,ssl=false,password=,password=s3cret,ssl=true", null)]
    [InlineData("redis.data.svc:6379", "true")]
    [InlineData("127.0.0.1:6379", null)]
    [InlineData("localhost:6379", null)]
    [InlineData("[::1]:6379", null)]
    public void Password_and_TLS_loopback_or_an_explicit_allowance_are_accepted(string connectionString, string? allowInsecure)
    {
        var (valid, message) = Validate(connectionString, allowInsecure);

        Assert.True(valid, message);
    }
}
