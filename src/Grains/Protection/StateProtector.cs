using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Protection;

/// <summary>
/// Encrypts and decrypts the secrets kept in grain state (private keys, the store fingerprint
/// salts) with AES-256-GCM under the data keys of <see cref="IDataKeySource"/>: the current key
/// encrypts, every known key decrypts. The keys are loaded once per silo, at start, by
/// <see cref="StateKeyLoader"/>; grains receive this class by constructor injection.
/// <para>
/// A ciphertext under a key id this silo does not know (another silo started after a key was
/// added and encrypts with it) makes <see cref="EnsureKnownAsync"/> read the keys again, at most
/// once per <see cref="ReloadInterval"/>; a key still unknown makes <see cref="Unprotect"/> throw
/// <see cref="StateKeyUnknownException"/>, which callers let fail the call: state is dropped only
/// for <see cref="StateProtectionException"/> (a KNOWN key that does not authenticate: tampering).
/// </para>
/// </summary>
public sealed partial class StateProtector(IDataKeySource? source = null, TimeProvider? time = null, ILogger<StateProtector>? logger = null)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly Lock _gate = new();
    private Task? _reloading;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;
    private DateTimeOffset? _lastReload;
    private DataKeyRing? _keys;

    /// <summary>
    /// The least time between two reloads of the keys for an unknown key id: state that names
    /// ids nobody holds (a planted or lost key) costs one read of the key Secret per interval.
    /// </summary>
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether the keys are loaded (the silo has started).</summary>
    public bool IsReady => Volatile.Read(ref _keys) is not null;

    /// <summary>The id of the key new ciphertexts are made with.</summary>
    public string CurrentKeyId => Keys.Current.Id;

    private DataKeyRing Keys => Volatile.Read(ref _keys)
        ?? throw new InvalidOperationException("The state data keys are not loaded yet: the silo loads them when it starts, before any grain activates.");

    /// <summary>Sets the keys (at silo start; tests).</summary>
    public void Use(DataKeyRing keys) => Volatile.Write(ref _keys, keys ?? throw new ArgumentNullException(nameof(keys)));

    /// <summary>
    /// Reads the keys again when one of <paramref name="values"/> names a key id this silo does
    /// not know (rate-limited by <see cref="ReloadInterval"/>). Keys known before stay known. Never
    /// throws for a failed read: the unknown key then fails <see cref="Unprotect"/>.
    /// </summary>
    public async Task EnsureKnownAsync(IEnumerable<ProtectedBytes?> values, CancellationToken cancellationToken = default)
    {
        var unknown = values.FirstOrDefault(v => v is not null && !Keys.All.ContainsKey(v.KeyId))?.KeyId;
        if (unknown is null || source is null)
        {
            return;
        }

        // One read at a time; callers meanwhile wait for it rather than read again.
        TaskCompletionSource? mine = null;
        Task reload;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (Keys.All.ContainsKey(unknown))
            {
                return;
            }

            if (_reloading is null)
            {
                if (_lastReload is { } last && now - last < ReloadInterval)
                {
                    return;
                }

                _lastReload = now;
                mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _reloading = mine.Task;
            }

            reload = _reloading;
        }

        if (mine is null)
        {
            await reload.WaitAsync(cancellationToken);
            return;
        }

        try
        {
            var ring = await source.ReloadAsync(cancellationToken);
            Use(new DataKeyRing(ring.Current, ring.All.Values.Concat(Keys.All.Values)));
            if (Keys.All.ContainsKey(unknown))
            {
                Reloaded(_logger, unknown, Keys.Current.Id, Keys.All.Count);
            }
            else if (_logger.IsEnabled(LogLevel.Error))
            {
                StillUnknown(_logger, unknown, string.Join(", ", Keys.All.Keys));
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ReloadFailed(_logger, unknown, ex.GetType().Name, ex.Message);
        }
        finally
        {
            lock (_gate)
            {
                _reloading = null;
            }

            mine.SetResult();
        }
    }

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
            throw new StateKeyUnknownException($"Grain state was encrypted with data key \"{value.KeyId}\", which this silo does not hold (it knows {string.Join(", ", Keys.All.Keys)}). If a key was just added, every silo must hold it before it is made current (README \"Rotating the state key\"); if it was removed, restore it to the state key Secret: a rotated-out key must be kept until every grain has been written again. The state is kept as it is.");
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

    [LoggerMessage(910, LogLevel.Information, "Grain state names data key {KeyId}, unknown to this silo: keys read again, current {Current} ({Count} keys known)")]
    private static partial void Reloaded(ILogger logger, string keyId, string current, int count);

    [LoggerMessage(911, LogLevel.Error, "Grain state names data key {KeyId}, which the state key Secret does not hold either (known: {Known}): the grains under it fail to activate, their state is kept; restore the key")]
    private static partial void StillUnknown(ILogger logger, string keyId, string known);

    [LoggerMessage(912, LogLevel.Warning, "Reading the state keys again for unknown data key {KeyId} failed ({ErrorType}): {Message}")]
    private static partial void ReloadFailed(ILogger logger, string keyId, string errorType, string message);

    /// <summary>Whether <paramref name="value"/> was made with the current key (otherwise it is re-encrypted at the next write).</summary>
    public bool IsCurrent(ProtectedBytes value) => value.KeyId == Keys.Current.Id;
}

/// <summary>
/// Grain state under a data key this silo does not hold (not yet added here, or lost). Not a
/// <see cref="StateProtectionException"/>: the state is not damaged, so nothing drops it; the
/// call fails until the key is there. Its message never holds key or state bytes.
/// </summary>
[GenerateSerializer, Alias("notary.StateKeyUnknownException")]
public sealed class StateKeyUnknownException : Exception
{
    public StateKeyUnknownException() { }
    public StateKeyUnknownException(string message) : base(message) { }
    public StateKeyUnknownException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Grain state under a KNOWN data key that cannot be decrypted: changed (tampered with), copied
/// from another grain or field, or malformed. Its message never holds key or state bytes.
/// </summary>
[GenerateSerializer, Alias("notary.StateProtectionException")]
public sealed class StateProtectionException : Exception
{
    public StateProtectionException() { }
    public StateProtectionException(string message) : base(message) { }
    public StateProtectionException(string message, Exception inner) : base(message, inner) { }
}
