using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws.Tests;

/// <summary>Options: validation messages that say how to fix a value, region fallback, endpoints, DI registration.</summary>
public sealed class OptionsTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void A_missing_region_names_the_setting_and_the_environment_variable_to_set()
    {
        var failures = new SecretsManagerStoreOptions().Validate(NoEnvironment);
        var failure = Assert.Single(failures);
        Assert.Equal(
            "Notary:Store:SecretsManager:Region is not set and AWS_REGION is empty; set Notary__Store__SecretsManager__Region=us-west-2 (or AWS_REGION) to the region of the service.",
            failure);
    }

    [Theory]
    [InlineData("AWS_REGION")]
    [InlineData("AWS_DEFAULT_REGION")]
    public void The_region_falls_back_to_the_environment(string variable)
    {
        var options = new AwsClientOptions();
        Func<string, string?> environment = name => name == variable ? "eu-central-1" : null;
        Assert.Empty(options.Validate("Notary:Issuer:Acm", environment));
        Assert.Equal("eu-central-1", options.EffectiveRegion(environment));
        Assert.Equal("us-east-2", new AwsClientOptions { Region = "us-east-2" }.EffectiveRegion(environment));
    }

    [Fact]
    public void Every_bad_value_is_reported_with_how_to_fix_it()
    {
        var options = new SecretsManagerStoreOptions
        {
            Region = "Oregon",
            ServiceUrl = "ftp://example.com",
            RequestTimeout = TimeSpan.Zero,
            MaxAttempts = 0,
            BaseDelay = TimeSpan.FromSeconds(2),
            MaxDelay = TimeSpan.FromSeconds(1),
            Prefix = "notary store/",
            RecoveryWindowDays = 3,
        };

        var failures = options.Validate(NoEnvironment);

        Assert.Equal(7, failures.Count);
        Assert.Contains(failures, f => f.StartsWith("Notary:Store:SecretsManager:Region \"Oregon\" is not an AWS region name; use one such as us-west-2", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("ServiceUrl \"ftp://example.com\" is not an absolute http or https URL", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("RequestTimeout 00:00:00 must be positive", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("MaxAttempts 0 must be between 1 (no retries) and 20; e.g. Notary__Store__SecretsManager__MaxAttempts=5", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("MaxDelay 00:00:01 must be at least BaseDelay (00:00:02)", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Prefix \"notary store/\" may hold at most 128 letters, digits and /_+=.@-", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("RecoveryWindowDays 3 must be between 7 and 30", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("us-west-2", "https://acm.us-west-2.amazonaws.com/")]
    [InlineData("cn-north-1", "https://acm.cn-north-1.amazonaws.com.cn/")]
    [InlineData("us-gov-west-1", "https://acm.us-gov-west-1.amazonaws.com/")]
    public void The_endpoint_is_the_regional_one_in_the_region_partition(string region, string endpoint)
    {
        using var http = new HttpClient();
        var client = new AwsJsonClient(http, AwsServiceInfo.Acm, new AwsClientOptions { Region = region }, new Amazon.Runtime.AnonymousAWSCredentials());
        Assert.Equal(endpoint, client.Endpoint.AbsoluteUri);
        Assert.Equal(region, client.Region);
    }

    [Fact]
    public void A_service_url_replaces_the_regional_endpoint()
    {
        using var http = new HttpClient();
        var client = new AwsJsonClient(http, AwsServiceInfo.SecretsManager, new AwsClientOptions { Region = "us-west-2", ServiceUrl = "http://127.0.0.1:4566" }, new Amazon.Runtime.AnonymousAWSCredentials());
        Assert.Equal("http://127.0.0.1:4566/", client.Endpoint.AbsoluteUri);
    }

    [Fact]
    public void A_client_without_any_region_fails_at_construction_saying_what_to_set()
    {
        using var http = new HttpClient();
        var error = Assert.Throws<InvalidOperationException>(() =>
            new AwsJsonClient(http, AwsServiceInfo.Acm, new AwsClientOptions(), new Amazon.Runtime.AnonymousAWSCredentials(), environment: NoEnvironment));
        Assert.Contains("AWS_REGION", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_store_is_registered_from_configuration_and_validated()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Notary:Store:SecretsManager:Region"] = "eu-west-1",
            ["Notary:Store:SecretsManager:Prefix"] = "teams/notary/",
            ["Notary:Store:SecretsManager:RecoveryWindowDays"] = "7",
            ["Notary:Store:SecretsManager:MaxAttempts"] = "3",
            ["Notary:Store:SecretsManager:RequestTimeout"] = "00:00:05",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddNotarySecretsManagerStore(configuration);
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<SecretsManagerStoreOptions>>().Value;
        Assert.Equal("teams/notary/", options.Prefix);
        Assert.Equal(7, options.RecoveryWindowDays);
        Assert.Equal(TimeSpan.FromSeconds(5), options.ToClientOptions().RequestTimeout);
        var store = Assert.IsType<SecretsManagerStore>(provider.GetRequiredService<ISecretStore>());
        Assert.Equal("teams/notary/ns/web", store.SecretName(new Grains.Abstractions.ResourceKey("ns", "web")));
        Assert.Equal("https://secretsmanager.eu-west-1.amazonaws.com/", provider.GetRequiredService<SecretsManagerClient>().Transport.Endpoint.AbsoluteUri);
    }

    [Fact]
    public void Invalid_store_configuration_is_refused_with_the_messages()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Notary:Store:SecretsManager:Region"] = "us-west-2",
            ["Notary:Store:SecretsManager:RecoveryWindowDays"] = "90",
        }).Build();
        using var provider = new ServiceCollection().AddLogging(b => b.ClearProviders()).AddNotarySecretsManagerStore(configuration).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SecretsManagerStoreOptions>>().Value);
        Assert.Contains("RecoveryWindowDays 90 must be between 7 and 30", error.Message, StringComparison.Ordinal);
    }
}
