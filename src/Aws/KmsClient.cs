namespace Notary.Aws;

/// <summary>
/// The AWS KMS operations Notary uses (GenerateDataKey, Decrypt), typed and thin, through
/// <see cref="AwsJsonClient"/> (which signs, retries and maps errors; it never logs bodies, which
/// hold plaintext keys here).
/// </summary>
public sealed class KmsClient(AwsJsonClient client)
{
    private static readonly AwsJsonContext Json = AwsJsonContext.Default;

    internal static readonly AwsOperation<GenerateDataKeyRequest, GenerateDataKeyResponse> GenerateDataKey = new(nameof(GenerateDataKey), Json.GenerateDataKeyRequest, Json.GenerateDataKeyResponse);
    internal static readonly AwsOperation<DecryptRequest, DecryptResponse> Decrypt = new(nameof(Decrypt), Json.DecryptRequest, Json.DecryptResponse);

    /// <summary>Every operation this client calls (the wire-shape tests compare each with the service model).</summary>
    public static IReadOnlyList<AwsOperation> Operations { get; } = [GenerateDataKey, Decrypt];

    public AwsJsonClient Transport { get; } = client;

    /// <summary>A new AES-256 data key: its plaintext and its ciphertext under <paramref name="keyId"/>.</summary>
    public Task<GenerateDataKeyResponse> GenerateDataKeyAsync(string keyId, IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(GenerateDataKey, new GenerateDataKeyRequest { KeyId = keyId, KeySpec = "AES_256", EncryptionContext = context }, cancellationToken);

    /// <summary>The plaintext of <paramref name="ciphertext"/>, which must have been made under <paramref name="keyId"/> with <paramref name="context"/>.</summary>
    public Task<DecryptResponse> DecryptAsync(byte[] ciphertext, string keyId, IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken) =>
        Transport.InvokeAsync(Decrypt, new DecryptRequest { CiphertextBlob = ciphertext, KeyId = keyId, EncryptionContext = context }, cancellationToken);
}
