using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>Notary:Api's audiences and TokenReview cache: bad values refused on start with how to fix them.</summary>
public sealed class ApiAuthenticationOptionsTests
{
    public static TheoryData<string, string, string> BadOptions => new()
    {
        { "Audiences:0", " ", "Notary:Api:Audiences:0 is empty or has surrounding spaces" },
        { "TokenCache:Ttl", "00:10:00", "Notary:Api:TokenCache:Ttl 00:10:00 must be between 00:00:00 (no cache) and 00:05:00" },
        { "TokenCache:NegativeTtl", "00:00:30", "Notary:Api:TokenCache:NegativeTtl 00:00:30 must be between 00:00:00 and Ttl (00:00:10)" },
        { "TokenCache:MaxEntries", "0", "Notary:Api:TokenCache:MaxEntries 0 must be between 1 and 1000000" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_values_are_refused_saying_how_to_fix_them(string key, string value, string message)
    {
        var options = new ApiAuthenticationOptions();
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build().Bind(options);

        var failure = Assert.Single(new ApiAuthenticationOptionsValidator().Validate(null, options).Failures!);

        Assert.StartsWith(message, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Audiences_bind_from_the_environment_style_list_and_the_defaults_are_valid()
    {
        var options = new ApiAuthenticationOptions();
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Audiences:0"] = "notary", ["Audiences:1"] = "notary.example.com" }).Build().Bind(options);

        Assert.Equal(["notary", "notary.example.com"], options.Audiences);
        Assert.True(new ApiAuthenticationOptionsValidator().Validate(null, options).Succeeded);
        Assert.True(new ApiAuthenticationOptionsValidator().Validate(null, new ApiAuthenticationOptions()).Succeeded);
        Assert.Equal((TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), 1000), (options.TokenCache.Ttl, options.TokenCache.NegativeTtl, options.TokenCache.MaxEntries));
    }

    [Theory]
    [InlineData("notary", new[] { "notary" })]
    [InlineData("notary, notary.example.com,", new[] { "notary", "notary.example.com" })]
    public void One_comma_separated_value_as_Notary__Api__Audiences_is_a_list_too(string value, string[] audiences)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Notary:Api:Audiences"] = value }).Build();
        var services = new ServiceCollection();
        services.AddNotaryKubernetes(configuration);
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<ApiAuthenticationOptions>>().Value;

        Assert.Equal(audiences, options.Audiences);
    }
}
