using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Notary.Aws.Tests.Support;

namespace Notary.Aws.Tests;

/// <summary>
/// Our hand-written request and response types against the botocore service models: member
/// names, types, required members and enum values, for every operation the clients call.
/// </summary>
public sealed class WireShapeTests
{
    public static TheoryData<string, string> Operations()
    {
        var data = new TheoryData<string, string>();
        foreach (var operation in AcmClient.Operations)
        {
            data.Add("acm", operation.Name);
        }

        foreach (var operation in SecretsManagerClient.Operations)
        {
            data.Add("secretsmanager", operation.Name);
        }

        foreach (var operation in KmsClient.Operations)
        {
            data.Add("kms", operation.Name);
        }

        foreach (var operation in AcmPcaClient.Operations)
        {
            data.Add("acm-pca", operation.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Request_and_response_types_match_the_service_model(string service, string operationName)
    {
        var model = await ServiceModels.LoadAsync(service);
        var operation = (service switch { "acm" => AcmClient.Operations, "kms" => KmsClient.Operations, "acm-pca" => AcmPcaClient.Operations, _ => SecretsManagerClient.Operations }).Single(o => o.Name == operationName);
        Assert.True(model.GetProperty("operations").TryGetProperty(operationName, out var definition), $"{service} has no operation {operationName}");

        var problems = new List<string>();
        var input = definition.GetProperty("input").GetProperty("shape").GetString()!;
        problems.AddRange(ShapeChecker.Check(model, input, TypeInfo(operation.RequestType), request: true));

        if (definition.TryGetProperty("output", out var output))
        {
            problems.AddRange(ShapeChecker.Check(model, output.GetProperty("shape").GetString()!, TypeInfo(operation.ResponseType), request: false));
        }
        else
        {
            Assert.Equal(typeof(AwsEmptyResponse), operation.ResponseType);
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [InlineData("acm")]
    [InlineData("secretsmanager")]
    [InlineData("kms")]
    [InlineData("acm-pca")]
    public async Task Service_info_matches_the_model_metadata(string service)
    {
        var metadata = (await ServiceModels.LoadAsync(service)).GetProperty("metadata");
        var info = service switch { "acm" => AwsServiceInfo.Acm, "kms" => AwsServiceInfo.Kms, "acm-pca" => AwsServiceInfo.AcmPca, _ => AwsServiceInfo.SecretsManager };
        Assert.Equal("json", metadata.GetProperty("protocol").GetString());
        Assert.Equal("1.1", metadata.GetProperty("jsonVersion").GetString());
        Assert.Equal(metadata.GetProperty("targetPrefix").GetString(), info.TargetPrefix);
        // A model without signingName (kms) signs with its endpoint prefix.
        Assert.Equal(metadata.TryGetProperty("signingName", out var signing) ? signing.GetString() : metadata.GetProperty("endpointPrefix").GetString(), info.SigningName);
        Assert.Equal(metadata.GetProperty("endpointPrefix").GetString(), info.EndpointPrefix);
    }

    [Fact]
    public async Task The_checker_catches_a_misspelt_member()
    {
        var problems = ShapeChecker.Check(await ServiceModels.LoadAsync("acm"), "RequestCertificateRequest", TestJsonContext.Default.MisspeltRequestCertificateRequest, request: true);
        Assert.Contains(problems, p => p.Contains("IdempotencyTokn", StringComparison.Ordinal) && p.Contains("has no member", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_checker_catches_an_optional_required_member_and_a_wrong_enum_and_type()
    {
        var acm = await ServiceModels.LoadAsync("acm");
        Assert.Contains(
            ShapeChecker.Check(acm, "RequestCertificateRequest", TestJsonContext.Default.LooseRequestCertificateRequest, request: true),
            p => p.Contains("DomainName: required", StringComparison.Ordinal));
        Assert.Contains(
            ShapeChecker.Check(acm, "RequestCertificateRequest", TestJsonContext.Default.WrongEnumRequestCertificateRequest, request: true),
            p => p.Contains("\"EC_P256\"", StringComparison.Ordinal));
        Assert.Contains(
            ShapeChecker.Check(acm, "ExportCertificateRequest", TestJsonContext.Default.WrongTypeExportCertificateRequest, request: true),
            p => p.Contains("Passphrase", StringComparison.Ordinal) && p.Contains("byte[]", StringComparison.Ordinal));
    }

    [Fact]
    public void Requests_leave_out_nulls_and_write_blobs_as_base64_and_filters_in_camel_case()
    {
        var json = JsonSerializer.Serialize(
            new ListCertificatesRequest { CertificateStatuses = [AcmCertificateStatus.Issued], Includes = new AcmListFilters { KeyTypes = [AcmKeyAlgorithm.EcPrime256v1] } },
            AwsJsonContext.Default.ListCertificatesRequest);
        Assert.Equal("""{"CertificateStatuses":["ISSUED"],"Includes":{"keyTypes":["EC_prime256v1"]}}""", json);

        var secret = JsonSerializer.Serialize(new PutSecretValueRequest { SecretId = "s", SecretBinary = [1, 2, 3] }, AwsJsonContext.Default.PutSecretValueRequest);
        Assert.Equal("""{"SecretId":"s","SecretBinary":"AQID"}""", secret);
    }

    [Fact]
    public void Timestamps_are_read_from_epoch_seconds_with_a_fraction_integers_or_null()
    {
        var detail = JsonSerializer.Deserialize(
            """{"Certificate":{"NotBefore":1795373268.959,"NotAfter":1826909268,"RevokedAt":null,"Unknown":{"x":1}}}""",
            AwsJsonContext.Default.DescribeCertificateResponse)!.Certificate!;
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1795373268959), detail.NotBefore);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1826909268), detail.NotAfter);
        Assert.Null(detail.RevokedAt);
    }

    private static JsonTypeInfo TypeInfo(Type type) => AwsJsonContext.Default.Options.GetTypeInfo(type);
}
