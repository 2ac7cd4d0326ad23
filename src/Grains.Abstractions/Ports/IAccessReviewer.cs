namespace Notary.Grains.Abstractions.Ports;

/// <summary>A caller whose bearer token the API server vouched for (TokenReview's userInfo).</summary>
public sealed record AuthenticatedUser(
    string Name,
    string Uid,
    IReadOnlyList<string> Groups,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Extra)
{
    public override string ToString() => Name;
}

/// <summary>What the API server's authorizer said; <see cref="Reason"/> is its explanation, often empty.</summary>
public sealed record AccessDecision(bool Allowed, string Reason);

/// <summary>
/// Port: who is calling Notary's HTTP API, and may they: Kubernetes decides both, so that the
/// cluster's own tokens and RBAC govern the breach API. When the reviewer cannot get an answer
/// (the API server refused the review or did not respond), a method throws
/// <see cref="ExternalServiceException"/>, whose message is safe to log.
/// </summary>
public interface IAccessReviewer
{
    /// <summary>The user behind <paramref name="bearerToken"/>, or null when the token is not valid.</summary>
    Task<AuthenticatedUser?> AuthenticateAsync(string bearerToken, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="user"/> may <paramref name="verb"/> breaches.notary.dev in <paramref name="namespace"/>.</summary>
    Task<AccessDecision> CanAccessBreachesAsync(AuthenticatedUser user, string verb, string @namespace, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="user"/> may report a breach of a certificate in <paramref name="namespace"/>.</summary>
    Task<AccessDecision> CanCreateBreachAsync(AuthenticatedUser user, string @namespace, CancellationToken cancellationToken) =>
        CanAccessBreachesAsync(user, "create", @namespace, cancellationToken);
}
