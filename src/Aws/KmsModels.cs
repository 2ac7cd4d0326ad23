namespace Notary.Aws;

// The request and response shapes of the KMS operations Notary uses, named and typed as in the
// botocore model kms/2014-11-01/service-2.json (the wire-shape tests compare them). Classes, not
// records, so that no generated ToString prints a plaintext key.

public sealed class GenerateDataKeyRequest
{
    public required string KeyId { get; init; }

    public IReadOnlyDictionary<string, string>? EncryptionContext { get; init; }

    /// <summary>AES_256 or AES_128.</summary>
    public string? KeySpec { get; init; }
}

public sealed class GenerateDataKeyResponse
{
    public byte[]? CiphertextBlob { get; init; }

    public byte[]? Plaintext { get; init; }

    public string? KeyId { get; init; }
}

public sealed class DecryptRequest
{
    public byte[]? CiphertextBlob { get; init; }

    public IReadOnlyDictionary<string, string>? EncryptionContext { get; init; }

    /// <summary>Decrypt only with this key (a blob wrapped by another key is refused).</summary>
    public string? KeyId { get; init; }
}

public sealed class DecryptResponse
{
    public string? KeyId { get; init; }

    public byte[]? Plaintext { get; init; }
}
