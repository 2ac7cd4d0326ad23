using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.Aws.Acm;
using Notary.Grains.Abstractions;

namespace Notary.Aws.Tests.Acm;

/// <summary>The factory is registered on its own (the default issuer may be the built-in one) and its shared settings are validated.</summary>
public sealed class AcmIssuerFactoryRegistrationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings) =>
        new ServiceCollection().AddLogging(b => b.ClearProviders())
            .AddNotaryAcmIssuerFactory(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();

    [Fact]
    public void Without_any_ACM_setting_the_factory_exists_and_no_region_is_required()
    {
        using var provider = Build([]);

        Assert.IsType<AcmIssuerFactory>(provider.GetRequiredService<IAcmIssuerFactory>());
        var options = provider.GetRequiredService<IOptionsMonitor<AcmIssuerOptions>>().Get(AcmIssuerOptions.PerIssuer);
        Assert.Equal(TimeSpan.FromHours(1), options.AssumeRoleDuration);
    }

    [Fact]
    public void The_shared_settings_bind_from_the_default_issuers_section_and_a_wrong_one_is_refused()
    {
        using var provider = Build(new Dictionary<string, string?>
        {
            ["Notary:Issuer:Acm:StsServiceUrl"] = "http://127.0.0.1:5000",
            ["Notary:Issuer:Acm:OnRetire"] = "Keep",
        });
        var options = provider.GetRequiredService<IOptionsMonitor<AcmIssuerOptions>>().Get(AcmIssuerOptions.PerIssuer);
        Assert.Equal("http://127.0.0.1:5000", options.StsServiceUrl);
        Assert.Equal("Keep", options.For(new AcmIssuerSpec { Region = "eu-west-1", PrivateCaArn = "arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/x" }).OnRetire);

        using var wrong = Build(new Dictionary<string, string?>
        {
            ["Notary:Issuer:Acm:StsServiceUrl"] = "sts.example",
            ["Notary:Issuer:Acm:AssumeRoleDuration"] = "00:05:00",
        });
        var error = Assert.Throws<OptionsValidationException>(() => wrong.GetRequiredService<IOptionsMonitor<AcmIssuerOptions>>().Get(AcmIssuerOptions.PerIssuer));
        Assert.Contains("StsServiceUrl \"sts.example\" is not an absolute http or https URL", error.Message, StringComparison.Ordinal);
        Assert.Contains("AssumeRoleDuration 00:05:00 must be between 00:15:00 and 12:00:00", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Region is not set", error.Message, StringComparison.Ordinal);
    }
}
