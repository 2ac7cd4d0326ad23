using System.Security.Cryptography;
using System.Text;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Protection;

/// <summary>
/// Encrypts and decrypts the secrets kept in grain state (private keys, the store fingerprint
/// salts) with AES-256-GCM under the data keys of <see cref="IDataKeySource"/>: the current key
/// encrypts, every known key decrypts. The keys are loaded once per silo, at start, by
/// <see cref="StateKeyLoader"/>; grains receive this class by constructor injection.
/// </summary>
public sealed class StateProtector
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private DataKeyRing? _keys;

    /// <summary>Whether the keys are loaded (the silo has started).</summary>
    public bool IsReady => Volatile.Read(ref _keys) is not null;

    /// <summary>The id of the key new ciphertexts are made with.</summary>
    public string CurrentKeyId => Keys.Current.Id;

    private DataKeyRing Keys => Volatile.Read(ref _keys)
        ?? throw new InvalidOperationException("The state data keys are not loaded yet: the silo loads them when it starts, before any grain activates.");

    /// <summary>Sets the keys (at silo start; tests).</summary>
    public void Use(DataKeyRing keys) => Volatile.Write(ref _keys, keys ?? throw new ArgumentNullException(nameof(keys)));

    /// <summary>The associated data binding a ciphertext to one grain and one field: <c>notary-state/v1</c>, the grain, the field, then <paramref name="extra"/>.</summary>
    public static byte[] Context(string grain, string owner, string field, ReadOnlySpan<byte> extra = default)
    {
        var head = Encoding.UTF8.GetBytes($"notary-state/v1\0{grain}\0{owner}\0{field}\0");
        return [.. head, .. extra];
    }

    public ProtectedBytes Protect(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> context)
    {
        var key = Keys.Current;
        var nonce = RandomNumberGenerator.GetBytes(NonceSize);
        var sealedBytes = new byte[plaintext.Length + TagSize];
        using var aes = new AesGcm(key.Material, TagSize);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(0, plaintext.Length), sealedBytes.AsSpan(plaintext.Length), context);
        return new ProtectedBytes { KeyId = key.Id, Nonce = nonce, Sealed = sealedBytes };
    }

    /// <summary>The plaintext; throws <see cref="StateProtectionException"/> for an unknown key or a ciphertext that fails authentication (tampered, or moved from another grain or field).</summary>
    public byte[] Unprotect(ProtectedBytes value, ReadOnlySpan<byte> context)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!Keys.All.TryGetValue(value.KeyId, out var key))
        {
            throw new StateProtectionException($"Grain state was encrypted with data key \"{value.KeyId}\", which the state key Secret no longer holds (it knows {string.Join(", ", Keys.All.Keys)}). Restore that key to the Secret; a rotated key must be kept until every grain has been written again.");
        }

        if (value.Nonce is not { Length: NonceSize } || value.Sealed is not { Length: >= TagSize })
        {
            throw new StateProtectionException($"Grain state encrypted with data key \"{value.KeyId}\" is malformed.");
        }

        var plaintext = new byte[value.Sealed.Length - TagSize];
        try
        {
            using var aes = new AesGcm(key.Material, TagSize);
            aes.Decrypt(value.Nonce, value.Sealed.AsSpan(0, plaintext.Length), value.Sealed.AsSpan(plaintext.Length), plaintext, context);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new StateProtectionException($"Grain state encrypted with data key \"{value.KeyId}\" does not authenticate: it was changed, or copied from another grain or field.", ex);
        }
    }

    /// <summary>Whether <paramref name="value"/> was made with the current key (otherwise it is re-encrypted at the next write).</summary>
    public bool IsCurrent(ProtectedBytes value) => value.KeyId == Keys.Current.Id;
}

/// <summary>Grain state that cannot be decrypted. Its message never holds key or state bytes.</summary>
public sealed class StateProtectionException : Exception
{
    public StateProtectionException() { }
    public StateProtectionException(string message) : base(message) { }
    public StateProtectionException(string message, Exception inner) : base(message, inner) { }
}
