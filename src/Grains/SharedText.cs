using System.Collections.Concurrent;
using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>
/// One instance of each of the few distinct values that every certificate's state repeats (CA
/// chain PEMs, condition types, reasons and statuses, spec types, key algorithms, issuer names,
/// durations): read from storage, each activation would otherwise hold its own copies. Bounded,
/// so that unexpected variety costs nothing more than the copies it would have kept anyway.
/// </summary>
internal static class SharedText
{
    private const int MaxShared = 1024;
    private static readonly ConcurrentDictionary<string, string> Shared = new(StringComparer.Ordinal);

    public static string? Of(string? text) =>
        text is null ? null
        // Literals (Conditions.Ready, Reasons.Issued, ...) are interned already: use theirs.
        : string.IsInterned(text) is { } interned ? interned
        : Shared.TryGetValue(text, out var existing) ? existing
        : Shared.Count < MaxShared ? Shared.GetOrAdd(text, text)
        : text;

    public static IReadOnlyList<string> Of(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0)
        {
            return [];
        }

        var shared = new string[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            shared[i] = Of(texts[i])!;
        }

        return shared;
    }

    /// <summary>The condition with its type, status and reason shared (its message is the certificate's own).</summary>
    public static StatusCondition Of(StatusCondition condition) =>
        condition with { Type = Of(condition.Type)!, Status = Of(condition.Status)!, Reason = Of(condition.Reason)! };

    /// <summary>The spec with its few-valued fields shared; fqdn and alternative names are the certificate's own.</summary>
    public static CertificateSpec Of(CertificateSpec spec) => spec with
    {
        Type = Of(spec.Type)!,
        Issuer = Of(spec.Issuer),
        Duration = Of(spec.Duration),
        RenewBefore = Of(spec.RenewBefore),
        KeyAlgorithm = Of(spec.KeyAlgorithm),
        Alt = spec.Alt.Count == 0 ? [] : spec.Alt,
    };
}
