using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Notary.Aws;

/// <summary>A tag as both ACM and Secrets Manager spell it on the wire.</summary>
public sealed record AwsTag(string Key, string? Value);

/// <summary>The answer of an operation whose model declares no output (or one Notary does not read).</summary>
public sealed class AwsEmptyResponse;

/// <summary>
/// AWS JSON 1.1 timestamps: seconds since the epoch as a JSON number with a fraction
/// (1795373268.959). Strings (ISO 8601 or numeric) are accepted as well, since some emulators
/// and older endpoints answer that way.
/// </summary>
public sealed class EpochSecondsConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return FromSeconds(reader.GetDouble());
        }

        if (reader.TokenType == JsonTokenType.String)
        {
            var text = reader.GetString() ?? "";
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            {
                return FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                return parsed;
            }
        }

        throw new JsonException($"Expected a timestamp (epoch seconds), found {reader.TokenType}.");
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(value.ToUnixTimeMilliseconds() / 1000.0);

    private static DateTimeOffset FromSeconds(double seconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000, MidpointRounding.AwayFromZero));
}

/// <summary>
/// Source-generated (reflection-free) JSON for every request and response the clients send and
/// read. Member names are the service models' exactly (no naming policy); nulls are left out,
/// as the AWS SDKs do; byte[] is base64, as JSON 1.1 blobs are.
/// </summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(EpochSecondsConverter)])]
[JsonSerializable(typeof(AwsEmptyResponse))]
[JsonSerializable(typeof(RequestCertificateRequest))]
[JsonSerializable(typeof(RequestCertificateResponse))]
[JsonSerializable(typeof(DescribeCertificateRequest))]
[JsonSerializable(typeof(DescribeCertificateResponse))]
[JsonSerializable(typeof(ExportCertificateRequest))]
[JsonSerializable(typeof(ExportCertificateResponse))]
[JsonSerializable(typeof(RenewCertificateRequest))]
[JsonSerializable(typeof(RevokeCertificateRequest))]
[JsonSerializable(typeof(RevokeCertificateResponse))]
[JsonSerializable(typeof(AddTagsToCertificateRequest))]
[JsonSerializable(typeof(DeleteCertificateRequest))]
[JsonSerializable(typeof(ListCertificatesRequest))]
[JsonSerializable(typeof(ListCertificatesResponse))]
[JsonSerializable(typeof(CreateSecretRequest))]
[JsonSerializable(typeof(CreateSecretResponse))]
[JsonSerializable(typeof(PutSecretValueRequest))]
[JsonSerializable(typeof(PutSecretValueResponse))]
[JsonSerializable(typeof(DescribeSecretRequest))]
[JsonSerializable(typeof(DescribeSecretResponse))]
[JsonSerializable(typeof(DeleteSecretRequest))]
[JsonSerializable(typeof(DeleteSecretResponse))]
[JsonSerializable(typeof(RestoreSecretRequest))]
[JsonSerializable(typeof(RestoreSecretResponse))]
[JsonSerializable(typeof(TagResourceRequest))]
[JsonSerializable(typeof(GetSecretValueRequest))]
[JsonSerializable(typeof(GetSecretValueResponse))]
[JsonSerializable(typeof(GenerateDataKeyRequest))]
[JsonSerializable(typeof(GenerateDataKeyResponse))]
[JsonSerializable(typeof(DecryptRequest))]
[JsonSerializable(typeof(DecryptResponse))]
[JsonSerializable(typeof(DescribeCertificateAuthorityRequest))]
[JsonSerializable(typeof(DescribeCertificateAuthorityResponse))]
[JsonSerializable(typeof(GetCertificateAuthorityCertificateRequest))]
[JsonSerializable(typeof(GetCertificateAuthorityCertificateResponse))]
public sealed partial class AwsJsonContext : JsonSerializerContext;
