using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging.Abstractions;
using Notary.Aws.Tests.Support;

namespace Notary.EndToEnd.Tests.Aws;

/// <summary>
/// Notary in dev mode (in process, real kubectl) with the AWS backends: the ACM issuer and the
/// Secrets Manager store, both pointed at one <see cref="FaultProxy"/> in front of a real
/// moto_server that also holds an ACM Private CA. The proxy forwards everything until a test
/// gives it a plan, and records every request (operation, resource, Authorization header).
/// The tests look at AWS directly through <see cref="Acm"/> and <see cref="SecretsManager"/>,
/// which talk to moto without the proxy. One per collection.
/// </summary>
public sealed class AwsFixture : DevFixture
{
    /// <summary>Seconds moto keeps a Public certificate in PENDING_VALIDATION.</summary>
    public const int ValidationWaitSeconds = 6;

    /// <summary>HTTP attempts per AWS call, the first included (Notary's MaxAttempts for both clients).</summary>
    public const int MaxAttempts = 4;

    /// <summary>How long one HTTP attempt may take before Notary abandons and retries it.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);

    private readonly HttpClient _http = Notary.Aws.AwsClients.CreateHttpClient();

    public MotoServer Moto { get; private set; } = null!;

    /// <summary>Between Notary and moto, for ACM and Secrets Manager alike.</summary>
    public FaultProxy Proxy { get; private set; } = null!;

    /// <summary>The ACM Private CA that issues the Private certificates.</summary>
    public string PrivateCaArn { get; private set; } = "";

    /// <summary>ACM as the tests see it (straight to moto).</summary>
    public Notary.Aws.AcmClient Acm { get; private set; } = null!;

    /// <summary>Secrets Manager as the tests see it (straight to moto).</summary>
    public Notary.Aws.SecretsManagerClient SecretsManager { get; private set; } = null!;

    /// <summary>Shared with the child-process tests: a Private CA they can issue from.</summary>
    public HttpClient Http => _http;

    protected override async Task<IReadOnlyDictionary<string, string?>> StartDependenciesAsync()
    {
        // The in-process silo finds its credentials where a pod would: the SDK's default chain,
        // here the environment. Safe to set for the whole test process: these are moto's fake
        // keys, and every in-process test uses the same ones. Child silos get their own environment.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", MotoServer.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "moto-test-secret-key");

        Moto = await MotoServer.StartAsync(new Dictionary<string, string>
        {
            ["MOTO_ACM_VALIDATION_WAIT"] = ValidationWaitSeconds.ToString(CultureInfo.InvariantCulture),
        });
        Proxy = await FaultProxy.StartAsync(Moto.Url);
        var direct = Moto.ClientOptions();
        Acm = Notary.Aws.AwsClients.CreateAcm(direct, _http, NullLoggerFactory.Instance, credentials: MotoServer.Credentials);
        SecretsManager = Notary.Aws.AwsClients.CreateSecretsManager(direct, _http, NullLoggerFactory.Instance, credentials: MotoServer.Credentials);
        PrivateCaArn = await CreatePrivateCaAsync(Moto, _http);
        return Configuration(Proxy.Url, PrivateCaArn);
    }

    protected override async Task StopDependenciesAsync()
    {
        if (Proxy is not null)
        {
            await Proxy.DisposeAsync();
        }

        if (Moto is not null)
        {
            await Moto.DisposeAsync();
        }

        _http.Dispose();
    }

    /// <summary>
    /// Notary's settings for the AWS backends at <paramref name="serviceUrl"/>: short polls (moto
    /// issues Private certificates at once), a short per-attempt timeout so slow answers are
    /// abandoned quickly, and fast retries.
    /// </summary>
    public static Dictionary<string, string?> Configuration(Uri serviceUrl, string privateCaArn)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Notary:Issuer:Type"] = "acm",
            ["Notary:Store:Type"] = "secretsmanager",
            ["Notary:Issuer:Acm:PrivateCaArn"] = privateCaArn,
            ["Notary:Issuer:Acm:PollInterval"] = "00:00:00.200",
            ["Notary:Issuer:Acm:ValidationPollInterval"] = "00:00:01",
            ["Notary:Issuer:Acm:MaxPollInterval"] = "00:00:02",
            ["Notary:Store:SecretsManager:RecoveryWindowDays"] = "7",
            // Make-before-break in seconds, and no overlap: a re-issue switches the keystore 1 s
            // after its truststores hold the new certificate, and the replaced one leaves them
            // (and ACM) at once rather than at its expiry.
            ["Notary:Rotation:PropagationDelay"] = "00:00:01",
            ["Notary:Rotation:Overlap"] = "00:00:00",
        };
        foreach (var section in new[] { "Notary:Issuer:Acm", "Notary:Store:SecretsManager" })
        {
            settings[$"{section}:Region"] = MotoServer.Region;
            settings[$"{section}:ServiceUrl"] = serviceUrl.AbsoluteUri;
            settings[$"{section}:RequestTimeout"] = RequestTimeout.ToString("c", CultureInfo.InvariantCulture);
            settings[$"{section}:MaxAttempts"] = MaxAttempts.ToString(CultureInfo.InvariantCulture);
            settings[$"{section}:BaseDelay"] = "00:00:00.050";
            settings[$"{section}:MaxDelay"] = "00:00:00.500";
        }

        return settings;
    }

    /// <summary>A ROOT ACM Private CA in moto, made through ACM-PCA's JSON API.</summary>
    public static async Task<string> CreatePrivateCaAsync(MotoServer moto, HttpClient http)
    {
        var pca = new Notary.Aws.AwsJsonClient(http, new Notary.Aws.AwsServiceInfo("acm-pca", "ACMPrivateCA", "acm-pca"), moto.ClientOptions(), MotoServer.Credentials);
        var request = new JsonObject
        {
            ["CertificateAuthorityType"] = "ROOT",
            ["CertificateAuthorityConfiguration"] = new JsonObject
            {
                ["KeyAlgorithm"] = "RSA_2048",
                ["SigningAlgorithm"] = "SHA256WITHRSA",
                ["Subject"] = new JsonObject { ["CommonName"] = "Notary end-to-end CA", ["Organization"] = "Notary" },
            },
        };
        var response = await pca.InvokeAsync("CreateCertificateAuthority", request, E2eJsonContext.Default.JsonObject, E2eJsonContext.Default.JsonObject, CancellationToken.None);
        return response["CertificateAuthorityArn"]?.GetValue<string>() ?? throw new InvalidOperationException("CreateCertificateAuthority answered no ARN");
    }
}

[JsonSerializable(typeof(JsonObject))]
internal sealed partial class E2eJsonContext : JsonSerializerContext;

[CollectionDefinition(Name)]
public sealed class AwsCollection : ICollectionFixture<AwsFixture>
{
    public const string Name = "aws";
}
