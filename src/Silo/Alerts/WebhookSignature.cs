using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Notary.Silo.Alerts;

/// <summary>
/// How a receiver knows an alert came from Notary and is not a replay: each attempt carries
/// <c>X-Notary-Timestamp: UNIX_SECONDS</c>, <c>X-Notary-Delivery: ID</c> (32 lower-case hex
/// characters, random per alert, the same on every retry of that alert) and
/// <c>X-Notary-Signature: sha256=HEX</c>, where HEX is the lower-case hex HMAC-SHA256, keyed with
/// the UTF-8 bytes of the signing key, of <c>TIMESTAMP + "." + ID + "." + BODY</c> (the exact body
/// bytes). A receiver recomputes it, compares in constant time, refuses a timestamp more than a
/// few minutes from its clock, and refuses an ID it has already accepted within that window
/// (which also drops a retry of an alert it already handled) (README: "Webhook alerts").
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "X-Notary-Signature";

    public const string TimestampHeader = "X-Notary-Timestamp";

    public const string DeliveryHeader = "X-Notary-Delivery";

    /// <summary>The shortest signing key accepted: 32 characters (e.g. 16 random bytes as hex).</summary>
    public const int MinKeyLength = 32;

    /// <summary>A fresh delivery id: 16 random bytes as lower-case hex.</summary>
    public static string NewDeliveryId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The header values for <paramref name="body"/> of delivery <paramref name="delivery"/> sent at <paramref name="at"/>.</summary>
    public static (string Timestamp, string Signature) Sign(string key, string delivery, ReadOnlySpan<byte> body, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(delivery);
        if (delivery.Contains('.', StringComparison.Ordinal))
        {
            // A dot would make "TIMESTAMP.ID.BODY" ambiguous.
            throw new ArgumentException("A delivery id carries no '.'.", nameof(delivery));
        }

        var timestamp = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var prefix = Encoding.ASCII.GetBytes(timestamp + "." + delivery + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), signed);
        return (timestamp, "sha256=" + Convert.ToHexStringLower(mac));
    }
}
