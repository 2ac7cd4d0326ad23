namespace Notary.Grains.Protection;

/// <summary>
/// A secret as grain state holds it: AES-256-GCM ciphertext (the tag appended) under the data key
/// <see cref="KeyId"/>, with its random 96-bit <see cref="Nonce"/>. The associated data (never
/// stored) names the grain and the field, so a ciphertext moved to another certificate or field
/// does not decrypt. Its ToString names the key id only.
/// </summary>
[GenerateSerializer, Alias("notary.ProtectedBytes")]
public sealed class ProtectedBytes
{
    [Id(0)] public required string KeyId { get; init; }
    [Id(1)] public required byte[] Nonce { get; init; }
    /// <summary>The ciphertext followed by the 16-byte GCM tag.</summary>
    [Id(2)] public required byte[] Sealed { get; init; }

    public override string ToString() => $"ProtectedBytes {{ KeyId = {KeyId} }}";
}
