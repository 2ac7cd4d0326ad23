using Amazon.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Notary.Aws.Acm;
using Notary.Aws.Sts;
using Notary.Grains.Abstractions;

namespace Notary.Aws.Tests.Acm;

/// <summary>The assumed role's credentials: kept, refreshed before expiry, one STS call at a time; and the spec checks made before any call.</summary>
public sealed class AssumedRoleCredentialsTests
{
    private const string Role = "arn:aws:iam::111122223333:role/issuer";

    private sealed class ScriptedSts(FakeTimeProvider time) : IStsAssumeRole
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Exception? Fail { get; set; }

        public TimeSpan Delay { get; set; }

        public async Task<AssumedRole> AssumeRoleAsync(string roleArn, string sessionName, TimeSpan duration, AssumeRoleScope scope, CancellationToken cancellationToken)
        {
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, cancellationToken);
            }

            if (Fail is not null)
            {
                throw Fail;
            }

            var n = Interlocked.Increment(ref _calls);
            return new AssumedRole(new ImmutableCredentials($"ASIA{n:D16}", "secret", "token"), time.GetUtcNow() + duration, $"arn:aws:sts::111122223333:assumed-role/issuer/{sessionName}");
        }
    }

    [Fact]
    public async Task Credentials_are_kept_until_shortly_before_expiry_then_assumed_again()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var sts = new ScriptedSts(time);
        using var credentials = new AssumedRoleCredentials(sts, Role, "notary-x", TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), time);

        var first = await credentials.GetCredentialsAsync();
        time.Advance(TimeSpan.FromMinutes(54));
        var kept = await credentials.GetCredentialsAsync();
        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        var refreshed = await credentials.GetCredentialsAsync();

        Assert.Equal("ASIA0000000000000001", first.AccessKey);
        Assert.Equal(first.AccessKey, kept.AccessKey);
        Assert.Equal("ASIA0000000000000002", refreshed.AccessKey);
        Assert.Equal(2, sts.Calls);
    }

    [Fact]
    public async Task Concurrent_callers_share_one_STS_call()
    {
        var time = new FakeTimeProvider();
        var sts = new ScriptedSts(time) { Delay = TimeSpan.FromMilliseconds(50) };
        using var credentials = new AssumedRoleCredentials(sts, Role, "notary-x", TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), time);

        var all = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(credentials.GetCredentialsAsync)));

        Assert.Equal(1, sts.Calls);
        Assert.Single(all.Select(c => c.AccessKey).Distinct());
    }

    [Fact]
    public async Task A_failed_refresh_keeps_valid_credentials_and_throws_once_they_expired()
    {
        var time = new FakeTimeProvider();
        var sts = new ScriptedSts(time);
        using var credentials = new AssumedRoleCredentials(sts, Role, "notary-x", TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), time);
        var first = await credentials.GetCredentialsAsync();

        sts.Fail = new AmazonServiceException("Rate exceeded") { ErrorCode = "Throttling" };
        time.Advance(TimeSpan.FromMinutes(57));
        Assert.Equal(first.AccessKey, (await credentials.GetCredentialsAsync()).AccessKey);

        time.Advance(TimeSpan.FromMinutes(4));
        await Assert.ThrowsAsync<AmazonServiceException>(credentials.GetCredentialsAsync);
    }

    [Theory]
    [InlineData("us-west-2", "arn:aws:acm-pca:us-west-2:111122223333:certificate-authority/abc", "arn:aws:iam::111122223333:role/r", null)]
    [InlineData("us-west-2", "arn:aws:acm-pca:us-west-2:111122223333:certificate-authority/abc", null, null)]
    [InlineData("mars-1", "arn:aws:acm-pca:us-west-2:111122223333:certificate-authority/abc", null, "region")]
    [InlineData("us-west-2", "not-an-arn", null, "privateCaArn")]
    [InlineData("us-west-2", "arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/abc", null, "region eu-west-1")]
    [InlineData("us-west-2", "arn:aws:acm-pca:us-west-2:111122223333:certificate-authority/abc", "arn:aws:iam::111122223333:user/bob", "roleArn")]
    public async Task A_spec_that_cannot_work_is_InvalidSpec_without_calling_AWS(string region, string caArn, string? roleArn, string? problem)
    {
        var spec = new AcmIssuerSpec { Region = region, PrivateCaArn = caArn, RoleArn = roleArn, ServiceUrl = "http://127.0.0.1:9/" };
        Assert.Equal(problem is null, AcmIssuerFactory.Validate(spec) is null);
        if (problem is null)
        {
            return;
        }

        using var http = new HttpClient();
        using var factory = new AcmIssuerFactory(http, new AcmIssuerOptions(), NullLoggerFactory.Instance, sourceCredentials: new BasicAWSCredentials("AKIAEXAMPLE", "secret"));
        var check = await factory.CheckAsync(spec, CancellationToken.None);
        Assert.False(check.Readiness.Ready);
        Assert.Equal(AcmIssuerReasons.InvalidSpec, check.Readiness.Reason);
        Assert.Contains(problem, check.Readiness.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_session_name_says_Notary_and_the_CA_within_STS_limits()
    {
        var name = AcmIssuerFactory.SessionName(new AcmIssuerSpec { Region = "us-west-2", PrivateCaArn = "arn:aws:acm-pca:us-west-2:111122223333:certificate-authority/12345678-1234-1234-1234-123456789012" });
        Assert.Equal("notary-12345678-1234-1234-1234-123456789012", name);
        var longName = AcmIssuerFactory.SessionName(new AcmIssuerSpec { Region = "us-west-2", PrivateCaArn = "arn:aws:acm-pca:us-west-2:111122223333:certificate-authority/" + new string('a', 80) });
        Assert.True(longName.Length <= 64);
        Assert.Matches(@"^notary-[\w+=,.@-]+$", longName);
    }
}
