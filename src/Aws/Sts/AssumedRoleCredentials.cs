using Amazon.Runtime;

namespace Notary.Aws.Sts;

/// <summary>Temporary credentials STS gave for a role. ToString never prints the keys.</summary>
public sealed record AssumedRole(ImmutableCredentials Credentials, DateTimeOffset Expiration, string? AssumedRoleArn)
{
    public override string ToString() => $"AssumedRole {{ AssumedRoleArn = {AssumedRoleArn}, Expiration = {Expiration:O} }}";
}

/// <summary>STS AssumeRole, called with Notary's own credentials (environment, IRSA web identity, ...).</summary>
public interface IStsAssumeRole
{
    /// <summary>
    /// Temporary credentials for <paramref name="roleArn"/>; STS refusals throw
    /// <see cref="AmazonServiceException"/> (e.g. AccessDenied), no answer <see cref="AmazonClientException"/>
    /// or <see cref="HttpRequestException"/>.
    /// </summary>
    Task<AssumedRole> AssumeRoleAsync(string roleArn, string sessionName, TimeSpan duration, AssumeRoleScope scope, CancellationToken cancellationToken);
}

/// <summary>
/// Who Notary assumes a role for: the <c>sts:ExternalId</c> (<see cref="ExternalIdFor"/>) and the
/// session tags sent with every AssumeRole, so that a role's trust policy can admit only the
/// issuers meant to use it (README, "ACM issuers").
/// </summary>
/// <param name="ExternalId"><c>notary:cluster</c> for a ClusterIssuer, <c>notary:ns:NAMESPACE</c> for an Issuer.</param>
/// <param name="Namespace">A namespaced Issuer's namespace (session tag <see cref="NamespaceTag"/>); null for a ClusterIssuer.</param>
public sealed record AssumeRoleScope(string ExternalId, string? Namespace)
{
    /// <summary>The session tag that carries a namespaced Issuer's namespace (<c>aws:PrincipalTag/notary-namespace</c>).</summary>
    public const string NamespaceTag = "notary-namespace";

    /// <summary>The session tag that says which kind of issuer assumed the role: <c>ClusterIssuer</c> or <c>Issuer</c>.</summary>
    public const string KindTag = "notary-issuer-kind";

    /// <summary>
    /// The ExternalId of the issuers of <paramref name="issuerNamespace"/> (null: ClusterIssuers).
    /// Namespace names cannot hold ':', so no namespace can get a ClusterIssuer's id.
    /// </summary>
    public static string ExternalIdFor(string? issuerNamespace) => issuerNamespace is null ? "notary:cluster" : "notary:ns:" + issuerNamespace;

    /// <summary>The scope of the issuers of <paramref name="issuerNamespace"/> (null: ClusterIssuers).</summary>
    public static AssumeRoleScope For(string? issuerNamespace) => new(ExternalIdFor(issuerNamespace), issuerNamespace);

    /// <summary>The session tags: the issuer kind, and the namespace of an Issuer.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Tags => Namespace is null
        ? [new(KindTag, "ClusterIssuer")]
        : [new(KindTag, "Issuer"), new(NamespaceTag, Namespace)];
}

/// <summary>
/// Credentials of an assumed role, for every call an ACM issuer with <c>roleArn</c> makes: assumed
/// on first use, kept, and assumed again <see cref="RefreshBefore"/> before they expire (one STS
/// call at a time, however many calls need them). When a refresh fails while the kept credentials
/// are still valid, those are used and the next call tries again; once they have expired, the
/// STS error is thrown (the JSON client reports it as CredentialsUnavailable).
/// </summary>
public sealed class AssumedRoleCredentials(
    IStsAssumeRole sts,
    string roleArn,
    string sessionName,
    TimeSpan duration,
    TimeSpan refreshBefore,
    TimeProvider? timeProvider = null,
    AssumeRoleScope? scope = null) : AWSCredentials, IDisposable
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private AssumedRole? _current;
    private int _assumed;

    public string RoleArn { get; } = roleArn;

    public string SessionName { get; } = sessionName;

    /// <summary>The ExternalId and session tags sent with every AssumeRole.</summary>
    public AssumeRoleScope Scope { get; } = scope ?? AssumeRoleScope.For(null);

    public TimeSpan RefreshBefore { get; } = refreshBefore;

    /// <summary>How many times STS was asked (successful answers only).</summary>
    public int AssumeCount => Volatile.Read(ref _assumed);

    /// <summary>When the kept credentials expire; null before the first assumption.</summary>
    public DateTimeOffset? ExpiresAt => Volatile.Read(ref _current)?.Expiration;

    public override ImmutableCredentials GetCredentials() => GetCredentialsAsync().GetAwaiter().GetResult();

    public override async Task<ImmutableCredentials> GetCredentialsAsync()
    {
        var current = Volatile.Read(ref _current);
        if (current is not null && _time.GetUtcNow() < current.Expiration - RefreshBefore)
        {
            return current.Credentials;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            current = _current;
            var now = _time.GetUtcNow();
            if (current is not null && now < current.Expiration - RefreshBefore)
            {
                return current.Credentials;
            }

            try
            {
                var fresh = await sts.AssumeRoleAsync(RoleArn, SessionName, duration, Scope, CancellationToken.None).ConfigureAwait(false);
                Volatile.Write(ref _current, fresh);
                Interlocked.Increment(ref _assumed);
                return fresh.Credentials;
            }
            catch (Exception) when (current is not null && now < current.Expiration)
            {
                // Still valid for a while: keep working; the next call asks STS again.
                return current.Credentials;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}
