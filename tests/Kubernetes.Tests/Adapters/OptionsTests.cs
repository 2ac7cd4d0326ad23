using Notary.CustomResources;
namespace Notary.Adapters.Kubernetes.Tests.Adapters;

public sealed class OptionsTests
{
    [Fact]
    public void Default_options_are_valid() =>
        Assert.True(new NotaryKubernetesOptionsValidator().Validate(null, new NotaryKubernetesOptions()).Succeeded);

    public static TheoryData<string, Action<NotaryKubernetesOptions>, string> BadOptions => new()
    {
        { "upper-case namespace", o => o.Namespace = "Notary", "Namespace \"Notary\" is not a namespace name" },
        { "namespace longer than a label", o => o.Namespace = new string('n', 64), "Namespace" },
        { "Secret name with a slash", o => o.CaSecretName = "notary/ca", "CaSecretName" },
        { "no correlation window", o => o.EventCorrelationWindow = TimeSpan.Zero, "EventCorrelationWindow" },
        { "empty component", o => o.Component = " ", "Component" },
        { "unknown CA key algorithm", o => o.CaKeyAlgorithm = "Ed25519", "CaKeyAlgorithm \"Ed25519\" is not a key algorithm: use ECDSA or RSA" },
        { "CA key size the algorithm has not", o => o.CaKeySize = 521, "CaKeySize: ECDSA key size 521 is not supported; use 256 (P-256) or 384 (P-384)" },
        { "RSA CA key too small", o => { o.CaKeyAlgorithm = "RSA"; o.CaKeySize = 1024; }, "CaKeySize: RSA key size 1024 is not supported" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_options_are_refused_with_a_message_that_says_how_to_fix_them(string because, Action<NotaryKubernetesOptions> change, string mentions)
    {
        var options = new NotaryKubernetesOptions();
        change(options);

        var result = new NotaryKubernetesOptionsValidator().Validate(null, options);

        Assert.True(result.Failed, because);
        Assert.Contains(result.Failures!, failure => failure.Contains(mentions, StringComparison.Ordinal) && failure.Contains("Notary:Kubernetes:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("api", true)]
    [InlineData("api.shop", false)]
    [InlineData("-api", false)]
    [InlineData("", false)]
    public void Namespace_names_are_RFC_1123_labels(string name, bool valid) => Assert.Equal(valid, KubernetesNames.IsDnsLabel(name));

    [Theory]
    [InlineData("api", true)]
    [InlineData("API_x.1", true)]
    [InlineData("", true)]
    [InlineData("-api", false)]
    [InlineData("a/b", false)]
    public void Label_values(string value, bool valid) => Assert.Equal(valid, KubernetesNames.IsLabelValue(value));
}
