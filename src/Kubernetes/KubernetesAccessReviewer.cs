using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// Adapter for <see cref="IAccessReviewer"/>: TokenReview (authentication.k8s.io/v1) for the
/// caller's identity and SubjectAccessReview (authorization.k8s.io/v1) for verb on resource
/// <c>breaches</c> in group <c>notary.dev</c>, as kube-rbac-proxy and aggregated API servers do.
/// Breaches are not a stored resource: RBAC rules may name any resource, so a Role granting
/// <c>create</c> on <c>breaches.notary.dev</c> is how a cluster admin lets someone report one.
/// The request of a TokenReview carries the token, so API errors are rethrown sanitized
/// (<see cref="KubernetesApiException"/>, built from the response's Status message alone); a
/// request that got no answer is rethrown as the port's <see cref="ExternalServiceException"/>.
/// Answers are cached briefly by the token's SHA-256 (<see cref="TokenReviewCache"/>); with
/// <see cref="ApiAuthenticationOptions.Audiences"/> the review asks for those audiences and a token
/// the API server does not confirm for one of them is not authenticated.
/// </summary>
public sealed class KubernetesAccessReviewer(
    IKubernetes client,
    IOptions<ApiAuthenticationOptions> options,
    TimeProvider time,
    ILogger<KubernetesAccessReviewer> logger) : IAccessReviewer
{
    /// <summary>The resource of the breach API, as Roles name it.</summary>
    public const string BreachResource = "breaches";

    private readonly TokenReviewCache _cache = new(options.Value.TokenCache, time);
    private readonly List<string> _audiences = [.. options.Value.Audiences];
    private readonly string _audienceList = string.Join(",", options.Value.Audiences);

    public async Task<AuthenticatedUser?> AuthenticateAsync(string bearerToken, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(bearerToken))
        {
            return null;
        }

        var key = TokenReviewCache.KeyOf(bearerToken);
        if (_cache.TryGet(key, out var cached))
        {
            return cached;
        }

        var user = await ReviewAsync(bearerToken, cancellationToken).ConfigureAwait(false);
        _cache.Add(key, user);
        return user;
    }

    private async Task<AuthenticatedUser?> ReviewAsync(string bearerToken, CancellationToken cancellationToken)
    {
        V1TokenReview review;
        try
        {
            review = await client.AuthenticationV1.CreateTokenReviewAsync(
                new V1TokenReview { Spec = new V1TokenReviewSpec { Token = bearerToken, Audiences = _audiences.Count > 0 ? [.. _audiences] : null } },
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, "TokenReview");
        }
        catch (HttpRequestException ex)
        {
            throw new ExternalServiceException($"TokenReview failed: {ex.Message}", ex);
        }

        var status = review.Status;
        if (status?.Authenticated != true || string.IsNullOrEmpty(status.User?.Username))
        {
            // The API server's error text describes the failure, never the token.
            Log.TokenNotAuthenticated(logger, status?.Error ?? "not authenticated");
            return null;
        }

        // An authenticator that ignores audiences (an old webhook) answers without status.audiences:
        // that is not a confirmation that the token was meant for Notary.
        if (_audiences.Count > 0 && !(status.Audiences ?? []).Any(_audiences.Contains))
        {
            Log.TokenAudienceNotConfirmed(logger, _audienceList);
            return null;
        }

        var user = status.User;
        var extra = (user.Extra ?? new Dictionary<string, IList<string>>())
            .ToDictionary(pair => pair.Key, pair => (IReadOnlyList<string>)[.. pair.Value ?? []], StringComparer.Ordinal);
        return new AuthenticatedUser(user.Username, user.Uid ?? string.Empty, [.. user.Groups ?? []], extra);
    }

    public Task<AccessDecision> CanCreateBreachAsync(AuthenticatedUser user, string @namespace, CancellationToken cancellationToken) =>
        CanAccessBreachesAsync(user, "create", @namespace, cancellationToken);

    public async Task<AccessDecision> CanAccessBreachesAsync(AuthenticatedUser user, string verb, string @namespace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        var review = new V1SubjectAccessReview
        {
            Spec = new V1SubjectAccessReviewSpec
            {
                User = user.Name,
                Uid = user.Uid.Length > 0 ? user.Uid : null,
                Groups = [.. user.Groups],
                // Extra carries scopes and credential ids that webhook authorizers may rely on.
                Extra = user.Extra.Count > 0 ? user.Extra.ToDictionary(pair => pair.Key, pair => (IList<string>)[.. pair.Value], StringComparer.Ordinal) : null,
                ResourceAttributes = new V1ResourceAttributes
                {
                    Group = NotaryResources.Group,
                    Resource = BreachResource,
                    Verb = verb,
                    NamespaceProperty = @namespace,
                },
            },
        };
        V1SubjectAccessReview answer;
        try
        {
            answer = await client.AuthorizationV1.CreateSubjectAccessReviewAsync(review, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesApiErrors.Sanitize(ex, "SubjectAccessReview");
        }
        catch (HttpRequestException ex)
        {
            throw new ExternalServiceException($"SubjectAccessReview failed: {ex.Message}", ex);
        }

        var status = answer.Status;
        var allowed = status is { Allowed: true } && status.Denied != true;
        Log.AccessReviewed(logger, user.Name, verb, BreachResource, NotaryResources.Group, @namespace, allowed);
        return new AccessDecision(allowed, status?.Reason ?? status?.EvaluationError ?? string.Empty);
    }
}
