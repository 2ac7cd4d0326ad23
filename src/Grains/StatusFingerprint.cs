using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>
/// SHA-256 (first 128 bits) over every field of a status, so that two statuses with equal
/// fingerprints are equal for all practical purposes. Times compare as instants (their UTC
/// ticks), as the records' equality does; dictionaries in key order, lists in order.
/// </summary>
internal static class StatusFingerprint
{
    public static UInt128 Of(CertificateStatus status)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Add(hash, status.Arn, status.SerialNumber);
        Add(hash, status.NotBefore, status.NotAfter, status.RenewalTime);
        Add(hash, status.Revision, status.ObservedGeneration, status.Tags.Count);
        foreach (var tag in status.Tags.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            Add(hash, tag.Key, tag.Value);
        }

        Add(hash, status.Conditions);
        Add(hash, status.ValidationRecords.Count);
        foreach (var record in status.ValidationRecords)
        {
            Add(hash, record.Name, record.Type, record.Value);
        }

        Add(hash, status.LastManualRenewal?.Token, status.LastManualRenewal?.Outcome);
        Add(hash, status.LastManualRenewal?.RequestedAt);
        return Finish(hash);
    }

    public static UInt128 Of(StoreStatus status)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Add(hash, status.Arn, status.Location);
        Add(hash, status.ObservedGeneration, status.Entries.Count);
        Add(hash, [.. status.Entries]);
        Add(hash, status.Conditions);
        Add(hash, status.CertificateRevisions.Count);
        foreach (var revision in status.CertificateRevisions.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            Add(hash, revision.Key);
            Add(hash, revision.Value);
        }

        return Finish(hash);
    }

    private static void Add(IncrementalHash hash, IReadOnlyList<StatusCondition> conditions)
    {
        Add(hash, conditions.Count);
        foreach (var condition in conditions)
        {
            Add(hash, condition.Type, condition.Status, condition.Reason, condition.Message);
            Add(hash, condition.LastTransitionTime);
            Add(hash, condition.ObservedGeneration);
        }
    }

    // Length-prefixed, with null apart from empty, so that no two field sequences run together.
    private static void Add(IncrementalHash hash, params ReadOnlySpan<string?> values)
    {
        foreach (var value in values)
        {
            Add(hash, value is null ? -1L : value.Length);
            if (value is not null)
            {
                hash.AppendData(MemoryMarshal.AsBytes(value.AsSpan()));
            }
        }
    }

    // Instants (UTC ticks), as DateTimeOffset equality compares them.
    private static void Add(IncrementalHash hash, params ReadOnlySpan<DateTimeOffset?> values)
    {
        foreach (var value in values)
        {
            Add(hash, value is { } time ? time.UtcTicks : long.MinValue);
        }
    }

    private static void Add(IncrementalHash hash, params ReadOnlySpan<long> values)
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        foreach (var value in values)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
            hash.AppendData(bytes);
        }
    }

    private static UInt128 Finish(IncrementalHash hash)
    {
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }
}
