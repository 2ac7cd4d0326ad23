namespace Notary.Aws.Tests.Support;

/// <summary>
/// One moto_server for the tests that talk to it directly (ACM and Secrets Manager), plus an
/// ACM Private CA made once through ACM-PCA's own JSON API.
/// </summary>
public sealed class MotoFixture : IAsyncLifetime
{
    public MotoServer Moto { get; } = new();

    public HttpClient Http { get; } = AwsClients.CreateHttpClient();

    /// <summary>A ROOT ACM Private CA to issue private certificates from.</summary>
    public string CertificateAuthorityArn { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Moto.InitializeAsync();
        CertificateAuthorityArn = await CreatePrivateCaAsync(Moto, Http);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Moto.DisposeAsync();
    }

    /// <summary>Creates a ROOT CA through ACM-PCA's JSON API, reusing <see cref="AwsJsonClient"/> with the tests' own shapes.</summary>
    public static async Task<string> CreatePrivateCaAsync(MotoServer moto, HttpMessageInvoker http)
    {
        var pca = new AwsJsonClient(http, new AwsServiceInfo("acm-pca", "ACMPrivateCA", "acm-pca"), moto.ClientOptions(), MotoServer.Credentials);
        var response = await pca.InvokeAsync(
            "CreateCertificateAuthority",
            new CreateCertificateAuthorityRequest
            {
                CertificateAuthorityType = "ROOT",
                CertificateAuthorityConfiguration = new PcaConfiguration
                {
                    KeyAlgorithm = "RSA_2048",
                    SigningAlgorithm = "SHA256WITHRSA",
                    Subject = new PcaSubject { CommonName = "Notary test CA", Organization = "Notary" },
                },
            },
            TestJsonContext.Default.CreateCertificateAuthorityRequest,
            TestJsonContext.Default.CreateCertificateAuthorityResponse,
            CancellationToken.None);
        return response.CertificateAuthorityArn ?? throw new InvalidOperationException("CreateCertificateAuthority answered no ARN");
    }
}

[CollectionDefinition(Name)]
public sealed class MotoCollection : ICollectionFixture<MotoFixture>
{
    public const string Name = "AWS clients against moto";
}

/// <summary>A moto_server of its own for the fault tests, so their proxies and slow answers do not slow the others.</summary>
public sealed class FaultFixture : IAsyncLifetime
{
    public MotoServer Moto { get; } = new();

    public HttpClient Http { get; } = AwsClients.CreateHttpClient();

    public string CertificateAuthorityArn { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Moto.InitializeAsync();
        CertificateAuthorityArn = await MotoFixture.CreatePrivateCaAsync(Moto, Http);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Moto.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class FaultCollection : ICollectionFixture<FaultFixture>
{
    public const string Name = "AWS clients through FaultProxy";
}
