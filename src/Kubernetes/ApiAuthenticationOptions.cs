using Microsoft.Extensions.Options;

namespace Notary.Adapters.Kubernetes;

/// <summary>
/// How the HTTP API authenticates its callers with TokenReview (configuration section
/// <c>Notary:Api</c>: <c>Notary__Api__Audiences__0</c>, <c>Notary__Api__TokenCache__Ttl</c> ...).
/// </summary>
public sealed class ApiAuthenticationOptions
{
    public const string SectionName = "Notary:Api";

    /// <summary>
    /// The audiences a caller's token must be issued for, sent as the TokenReview's
    /// <c>spec.audiences</c>; a token the API server does not confirm for at least one of them
    /// (in <c>status.audiences</c>) is refused with 401. Empty (the default): the API server's own
    /// audience, i.e. any token the cluster accepts. Set e.g. <c>notary</c> and have callers use
    /// <c>kubectl create token NAME --audience notary</c>, so that a token stolen from a workload
    /// (issued for the API server) cannot call Notary, nor a Notary token the API server.
    /// </summary>
    public List<string> Audiences { get; set; } = [];

    /// <summary>The TokenReview cache.</summary>
    public TokenCacheOptions TokenCache { get; set; } = new();

    /// <summary>
    /// Also takes <c>Notary__Api__Audiences=notary,other</c>, one value with commas, which the
    /// configuration binder would otherwise ignore for a list (leaving no audience check at all).
    /// </summary>
    public static void AddListedAudiences(ApiAuthenticationOptions options, Microsoft.Extensions.Configuration.IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(section);
        if (section["Audiences"] is { Length: > 0 } listed)
        {
            foreach (var audience in listed.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!options.Audiences.Contains(audience))
                {
                    options.Audiences.Add(audience);
                }
            }
        }
    }
}

/// <summary>
/// TokenReview answers kept by the SHA-256 of the token (never the token), so a caller polling
/// a breach costs one TokenReview per <see cref="Ttl"/>, not one per request.
/// </summary>
public sealed class TokenCacheOptions
{
    /// <summary>How long an authenticated answer is reused (default 10 s; 0 turns the cache off). A deleted ServiceAccount's token works at most this long.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a refusal is reused (default 2 s, at most <see cref="Ttl"/>): short, so that a freshly created token is not refused for long.</summary>
    public TimeSpan NegativeTtl { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Answers kept at most (default 1000); when full, the oldest goes first.</summary>
    public int MaxEntries { get; set; } = 1000;
}

/// <summary>Refuses values the reviewer cannot work with, saying how to fix them.</summary>
public sealed class ApiAuthenticationOptionsValidator : IValidateOptions<ApiAuthenticationOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiAuthenticationOptions options)
    {
        const string Section = ApiAuthenticationOptions.SectionName;
        var failures = new List<string>();
        for (var i = 0; i < options.Audiences.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Audiences[i]) || options.Audiences[i].Trim() != options.Audiences[i])
            {
                failures.Add($"{Section}:Audiences:{i} is empty or has surrounding spaces: give an audience such as \"notary\", or remove the entry.");
            }
        }

        var cache = options.TokenCache;
        if (cache.Ttl < TimeSpan.Zero || cache.Ttl > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{Section}:TokenCache:Ttl {cache.Ttl} must be between 00:00:00 (no cache) and 00:05:00 (default 00:00:10): a revoked token keeps working this long.");
        }

        if (cache.NegativeTtl < TimeSpan.Zero || cache.NegativeTtl > cache.Ttl)
        {
            failures.Add($"{Section}:TokenCache:NegativeTtl {cache.NegativeTtl} must be between 00:00:00 and Ttl ({cache.Ttl}) (default 00:00:02).");
        }

        if (cache.MaxEntries is < 1 or > 1_000_000)
        {
            failures.Add($"{Section}:TokenCache:MaxEntries {cache.MaxEntries} must be between 1 and 1000000 (default 1000).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
