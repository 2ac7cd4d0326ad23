using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>
/// The create-only kinds answered from the server's own state: TokenReview, SelfSubjectReview, the access
/// reviews (evaluated by RBAC), and the ServiceAccount TokenRequest subresource.
/// </summary>
internal sealed partial class ApiCore
{
    private ApiResponse Review(ApiRequest req, RequestInfo info, ResourceType rt)
    {
        var body = ParseBody(req, rt);
        CheckKind(rt, body);
        var spec = body["spec"] as JsonObject ?? [];
        JsonObject status;
        switch (rt.Plural)
        {
            case "tokenreviews":
                status = TokenReviewStatus(spec);
                break;
            case "selfsubjectreviews":
                status = new JsonObject { ["userInfo"] = req.User.ToJson() };
                break;
            case "subjectaccessreviews":
                status = AccessStatus(UserFromSpec(spec), spec, "");
                break;
            case "localsubjectaccessreviews":
                if (spec["resourceAttributes"]?.Str("namespace") is { Length: > 0 } ns && ns != info.Namespace)
                {
                    throw ApiException.Invalid(rt, "", [FieldError.Invalid("spec.resourceAttributes.namespace", JsonValue.Create(ns), "must match metadata.namespace")]);
                }

                status = AccessStatus(UserFromSpec(spec), spec, info.Namespace);
                break;
            case "selfsubjectaccessreviews":
                status = AccessStatus(req.User, spec, "");
                break;
            case "selfsubjectrulesreviews":
                status = RulesStatus(req.User, spec.Str("namespace") ?? "");
                break;
            default:
                throw ApiException.MethodNotAllowed();
        }

        var metadata = body["metadata"] as JsonObject ?? [];
        metadata["creationTimestamp"] = null;
        if (rt.Namespaced)
        {
            metadata["namespace"] = info.Namespace;
        }

        var answer = new JsonObject
        {
            ["kind"] = rt.Kind,
            ["apiVersion"] = rt.ApiVersion,
            ["metadata"] = metadata.DeepClone(),
            ["spec"] = spec.DeepClone(),
            ["status"] = status,
        };
        return new ApiResponse(201, answer);
    }

    private JsonObject TokenReviewStatus(JsonObject spec)
    {
        var token = spec.Str("token") ?? "";
        var user = authenticator.Authenticate(token, Now, out var tokenAudiences);
        if (user is null)
        {
            return new JsonObject { ["user"] = new JsonObject(), ["error"] = "[invalid bearer token, token lookup failed]" };
        }

        // As the API server's TokenReview: the requested audiences, else its own; a token must be
        // meant for one of them. The admin's static token is audience-agnostic, which the API server
        // treats as meant for its own audiences only (authenticator.WrapAudienceAgnosticToken).
        var wanted = (spec["audiences"] as JsonArray ?? []).Select(a => a.AsString()).OfType<string>().ToList();
        var effective = wanted.Count == 0 ? [Authenticator.Issuer] : wanted;
        var matched = effective.Where(tokenAudiences.Contains).ToList();
        if (matched.Count == 0)
        {
            return new JsonObject { ["user"] = new JsonObject(), ["error"] = "[invalid bearer token, token audiences " + Json.GoQuote(string.Join(",", tokenAudiences)) + " is invalid for the target audiences " + Json.GoQuote(string.Join(",", effective)) + "]" };
        }

        // status.audiences is always the audiences the token was confirmed for, requested or not.
        return new JsonObject
        {
            ["authenticated"] = true,
            ["user"] = user.ToJson(),
            ["audiences"] = new JsonArray([.. matched.Select(a => (JsonNode?)JsonValue.Create(a))]),
        };
    }

    private static UserInfo UserFromSpec(JsonObject spec)
    {
        var extra = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var (k, v) in spec["extra"] as JsonObject ?? [])
        {
            extra[k] = [.. (v as JsonArray ?? []).Select(x => x.AsString()).OfType<string>()];
        }

        return new UserInfo(spec.Str("user") ?? "", spec.Str("uid") ?? "",
            [.. (spec["groups"] as JsonArray ?? []).Select(g => g.AsString()).OfType<string>()], extra);
    }

    private JsonObject AccessStatus(UserInfo user, JsonObject spec, string localNamespace)
    {
        RequestAttributes attributes;
        if (spec["resourceAttributes"] is JsonObject r)
        {
            var ns = localNamespace.Length > 0 ? localNamespace : r.Str("namespace") ?? "";
            attributes = new RequestAttributes(r.Str("verb") ?? "", true, "", r.Str("group") ?? "", r.Str("resource") ?? "",
                r.Str("subresource") ?? "", ns, r.Str("name") ?? "");
        }
        else if (spec["nonResourceAttributes"] is JsonObject n)
        {
            attributes = new RequestAttributes(n.Str("verb") ?? "", false, n.Str("path") ?? "", "", "", "", "", "");
        }
        else
        {
            throw new ApiException(422, "Invalid", "spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified");
        }

        var (allowed, reason) = authorizer.Authorize(user, attributes);
        var status = new JsonObject { ["allowed"] = allowed };
        if (reason.Length > 0)
        {
            status["reason"] = reason;
        }

        return status;
    }

    private JsonObject RulesStatus(UserInfo user, string ns)
    {
        var resourceRules = new JsonArray();
        var nonResourceRules = new JsonArray();
        if (user.Groups.Contains("system:masters"))
        {
            resourceRules.Add(new JsonObject { ["verbs"] = new JsonArray("*"), ["apiGroups"] = new JsonArray("*"), ["resources"] = new JsonArray("*") });
            nonResourceRules.Add(new JsonObject { ["verbs"] = new JsonArray("*"), ["nonResourceURLs"] = new JsonArray("*") });
        }

        resourceRules.Add(new JsonObject { ["verbs"] = new JsonArray("create"), ["apiGroups"] = new JsonArray("authorization.k8s.io"), ["resources"] = new JsonArray("selfsubjectaccessreviews", "selfsubjectrulesreviews") });
        resourceRules.Add(new JsonObject { ["verbs"] = new JsonArray("create"), ["apiGroups"] = new JsonArray("authentication.k8s.io"), ["resources"] = new JsonArray("selfsubjectreviews") });
        nonResourceRules.Add(new JsonObject { ["verbs"] = new JsonArray("get"), ["nonResourceURLs"] = new JsonArray("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/") });
        foreach (var rule in authorizer.Rules(user, ns))
        {
            if (rule["nonResourceURLs"] is not null)
            {
                nonResourceRules.Add(new JsonObject { ["verbs"] = rule["verbs"]?.DeepClone(), ["nonResourceURLs"] = rule["nonResourceURLs"]?.DeepClone() });
            }
            else
            {
                var copy = new JsonObject { ["verbs"] = rule["verbs"]?.DeepClone(), ["apiGroups"] = rule["apiGroups"]?.DeepClone(), ["resources"] = rule["resources"]?.DeepClone() };
                if (rule["resourceNames"] is JsonArray names && names.Count > 0)
                {
                    copy["resourceNames"] = names.DeepClone();
                }

                resourceRules.Add(copy);
            }
        }

        return new JsonObject { ["resourceRules"] = resourceRules, ["nonResourceRules"] = nonResourceRules, ["incomplete"] = false };
    }

    private ApiResponse TokenRequest(ApiRequest req, RequestInfo info)
    {
        var body = req.Body.Length > 0 ? Json.ParseObject(req.Body) : [];
        var spec = body["spec"] as JsonObject ?? [];
        var audiences = (spec["audiences"] as JsonArray ?? []).Select(a => a.AsString()).OfType<string>().ToList();
        if (audiences.Count == 0)
        {
            audiences.Add(Authenticator.Issuer);
        }

        var seconds = spec["expirationSeconds"].AsLong() ?? 3600;
        var tokenRequestType = new ResourceType { Group = "authentication.k8s.io", Version = "v1", Kind = "TokenRequest", Plural = "tokenrequests", Namespaced = true };
        if (seconds < 600)
        {
            throw ApiException.Invalid(tokenRequestType, info.Name, [FieldError.Invalid("spec.expirationSeconds", JsonValue.Create(seconds), "may not specify a duration less than 10 minutes")]);
        }

        if (seconds > 1L << 32)
        {
            throw ApiException.Invalid(tokenRequestType, info.Name, [FieldError.Invalid("spec.expirationSeconds", JsonValue.Create(seconds), "may not specify a duration larger than 2^32 seconds")]);
        }

        string uid;
        lock (store.Gate)
        {
            var saType = registry.Find("", "v1", "serviceaccounts")!;
            var sa = store.Get(saType.StorageKey, info.Namespace, info.Name) ?? throw ApiException.NotFound(saType, info.Name);
            uid = sa["metadata"].Str("uid")!;
        }

        var (token, expires) = authenticator.Issue(info.Namespace, info.Name, uid, audiences, seconds, Now);
        var answer = new JsonObject
        {
            ["kind"] = "TokenRequest",
            ["apiVersion"] = "authentication.k8s.io/v1",
            ["metadata"] = new JsonObject { ["name"] = info.Name, ["namespace"] = info.Namespace, ["creationTimestamp"] = Json.Timestamp(Now) },
            ["spec"] = new JsonObject
            {
                ["audiences"] = new JsonArray([.. audiences.Select(a => (JsonNode?)JsonValue.Create(a))]),
                ["expirationSeconds"] = seconds,
                ["boundObjectRef"] = spec["boundObjectRef"]?.DeepClone(),
            },
            ["status"] = new JsonObject { ["token"] = token, ["expirationTimestamp"] = Json.Timestamp(expires) },
        };
        return new ApiResponse(201, answer);
    }
}
