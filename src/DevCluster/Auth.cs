using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>An authenticated caller, as TokenReview and SubjectAccessReview describe it.</summary>
internal sealed record UserInfo(string Name, string Uid, IReadOnlyList<string> Groups, IReadOnlyDictionary<string, IReadOnlyList<string>> Extra)
{
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["username"] = Name };
        if (Uid.Length > 0)
        {
            o["uid"] = Uid;
        }

        o["groups"] = new JsonArray([.. Groups.Select(g => (JsonNode?)JsonValue.Create(g))]);
        if (Extra.Count > 0)
        {
            var extra = new JsonObject();
            foreach (var (k, v) in Extra)
            {
                extra[k] = new JsonArray([.. v.Select(x => (JsonNode?)JsonValue.Create(x))]);
            }

            o["extra"] = extra;
        }

        return o;
    }
}

/// <summary>
/// Bearer-token authentication: the admin token (group system:masters) and ServiceAccount tokens issued by
/// TokenRequest, which are ES256-signed JWTs bound to the ServiceAccount's uid like a real server's.
/// </summary>
internal sealed class Authenticator : IDisposable
{
    public const string Issuer = "https://kubernetes.default.svc.cluster.local";

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly string _kid = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    private readonly string _adminToken;
    private readonly Store _store;

    public Authenticator(string adminToken, Store store)
    {
        _adminToken = adminToken;
        _store = store;
    }

    public static UserInfo Admin { get; } = new("kubernetes-admin", "", ["system:masters", "system:authenticated"], new Dictionary<string, IReadOnlyList<string>>());

    /// <summary>Issues a token for a ServiceAccount (the TokenRequest subresource).</summary>
    public (string Token, DateTimeOffset Expires) Issue(string ns, string name, string saUid, IReadOnlyList<string> audiences, long seconds, DateTimeOffset now)
    {
        var expires = now.AddSeconds(seconds);
        var header = new JsonObject { ["alg"] = "ES256", ["kid"] = _kid };
        var payload = new JsonObject
        {
            ["aud"] = new JsonArray([.. audiences.Select(a => (JsonNode?)JsonValue.Create(a))]),
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["iss"] = Issuer,
            ["jti"] = Guid.NewGuid().ToString(),
            ["kubernetes.io"] = new JsonObject
            {
                ["namespace"] = ns,
                ["serviceaccount"] = new JsonObject { ["name"] = name, ["uid"] = saUid },
            },
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["sub"] = $"system:serviceaccount:{ns}:{name}",
        };
        var signingInput = Base64Url(Json.SerializeToUtf8(header)) + "." + Base64Url(Json.SerializeToUtf8(payload));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256);
        return (signingInput + "." + Base64Url(signature), expires);
    }

    /// <summary>The user behind a token, or null; <paramref name="tokenAudiences"/> gets the token's audiences.</summary>
    public UserInfo? Authenticate(string token, DateTimeOffset now, out IReadOnlyList<string> tokenAudiences)
    {
        tokenAudiences = [Issuer];
        if (CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(_adminToken)))
        {
            return Admin;
        }

        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var signature = FromBase64Url(parts[2]);
            if (!_key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature, HashAlgorithmName.SHA256))
            {
                return null;
            }

            var payload = Json.ParseObject(FromBase64Url(parts[1]));
            if (payload.Str("iss") != Issuer || (payload["exp"].AsLong() ?? 0) < now.ToUnixTimeSeconds())
            {
                return null;
            }

            var ns = payload["kubernetes.io"].Str("namespace") ?? "";
            var name = payload["kubernetes.io"]?["serviceaccount"].Str("name") ?? "";
            var uid = payload["kubernetes.io"]?["serviceaccount"].Str("uid") ?? "";
            lock (_store.Gate)
            {
                // A token dies with its ServiceAccount, as a real server checks the bound object.
                if (_store.Get("serviceaccounts", ns, name)?["metadata"].Str("uid") != uid)
                {
                    return null;
                }
            }

            tokenAudiences = [.. (payload["aud"] as JsonArray ?? []).Select(a => a.AsString()).OfType<string>()];
            var extra = new Dictionary<string, IReadOnlyList<string>>
            {
                ["authentication.kubernetes.io/credential-id"] = ["JTI=" + payload.Str("jti")],
            };
            return new UserInfo($"system:serviceaccount:{ns}:{name}", uid,
                ["system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"], extra);
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or CryptographicException)
        {
            return null;
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        s += new string('=', (4 - (s.Length % 4)) % 4);
        return Convert.FromBase64String(s);
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>What a request asks to do, as the authorizer sees it.</summary>
internal sealed record RequestAttributes(string Verb, bool IsResourceRequest, string Path, string Group, string Resource,
    string Subresource, string Namespace, string Name);

/// <summary>
/// RBAC over the Roles, ClusterRoles and bindings in the store (verbs, apiGroups, resources with subresources,
/// resourceNames, nonResourceURLs, '*' wildcards), plus the bootstrap grants every authenticated user has
/// (discovery, OpenAPI, version, health, self reviews). Group system:masters may do anything.
/// </summary>
internal sealed class RbacAuthorizer(Store store)
{
    private static readonly string[] DiscoveryPaths = ["/api", "/api/*", "/apis", "/apis/*", "/version", "/version/", "/openapi", "/openapi/*", "/healthz", "/livez", "/readyz", "/healthz/*", "/livez/*", "/readyz/*"];

    public (bool Allowed, string Reason) Authorize(UserInfo user, RequestAttributes a)
    {
        if (user.Groups.Contains("system:masters"))
        {
            return (true, "");
        }

        if (user.Groups.Contains("system:authenticated"))
        {
            if (!a.IsResourceRequest && a.Verb == "get" && DiscoveryPaths.Any(p => PathMatches(p, a.Path)))
            {
                return (true, "RBAC: allowed by ClusterRoleBinding \"system:discovery\" of ClusterRole \"system:discovery\" to Group \"system:authenticated\"");
            }

            if (a.IsResourceRequest && a.Verb == "create" &&
                ((a.Group == "authorization.k8s.io" && a.Resource is "selfsubjectaccessreviews" or "selfsubjectrulesreviews") ||
                 (a.Group == "authentication.k8s.io" && a.Resource == "selfsubjectreviews")))
            {
                return (true, "RBAC: allowed by ClusterRoleBinding \"system:basic-user\" of ClusterRole \"system:basic-user\" to Group \"system:authenticated\"");
            }
        }

        lock (store.Gate)
        {
            foreach (var (_, role, scope) in RulesFor(user, a.Namespace))
            {
                foreach (var rule in (role["rules"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    if (RuleAllows(rule, a))
                    {
                        return (true, $"RBAC: allowed by {scope} of {role.Str("kind") ?? "Role"} {Json.GoQuote(role["metadata"].Str("name") ?? "")} to {SubjectOf(user)}");
                    }
                }
            }
        }

        return (false, "");
    }

    /// <summary>The rules that apply to a user in a namespace ("" for cluster scope), for SelfSubjectRulesReview.</summary>
    public List<JsonObject> Rules(UserInfo user, string ns)
    {
        lock (store.Gate)
        {
            return [.. RulesFor(user, ns).SelectMany(r => (r.Role["rules"] as JsonArray ?? []).OfType<JsonObject>())];
        }
    }

    private static string SubjectOf(UserInfo user)
    {
        const string prefix = "system:serviceaccount:";
        if (user.Name.StartsWith(prefix, StringComparison.Ordinal))
        {
            var parts = user.Name[prefix.Length..].Split(':');
            return $"ServiceAccount \"{parts[1]}/{parts[0]}\"";
        }

        return $"User {Json.GoQuote(user.Name)}";
    }

    private IEnumerable<(JsonObject Binding, JsonObject Role, string Scope)> RulesFor(UserInfo user, string ns)
    {
        foreach (var binding in store.List("clusterrolebindings.rbac.authorization.k8s.io", null))
        {
            if (Binds(binding, user) && Role(binding, "") is { } role)
            {
                yield return (binding, role, $"ClusterRoleBinding {Json.GoQuote(binding["metadata"].Str("name") ?? "")}");
            }
        }

        if (ns.Length == 0)
        {
            yield break;
        }

        foreach (var binding in store.List("rolebindings.rbac.authorization.k8s.io", ns))
        {
            if (Binds(binding, user) && Role(binding, ns) is { } role)
            {
                yield return (binding, role, $"RoleBinding \"{binding["metadata"].Str("name")}/{ns}\"");
            }
        }
    }

    private JsonObject? Role(JsonObject binding, string ns)
    {
        var roleRef = binding["roleRef"];
        var name = roleRef.Str("name") ?? "";
        var role = roleRef.Str("kind") switch
        {
            "ClusterRole" => store.Get("clusterroles.rbac.authorization.k8s.io", "", name),
            "Role" when ns.Length > 0 => store.Get("roles.rbac.authorization.k8s.io", ns, name),
            _ => null,
        };
        if (role is null)
        {
            return null;
        }

        var copy = (JsonObject)role.DeepClone();
        copy["kind"] = roleRef.Str("kind");
        return copy;
    }

    private static bool Binds(JsonObject binding, UserInfo user)
    {
        var bindingNs = binding["metadata"].Str("namespace") ?? "";
        foreach (var subject in (binding["subjects"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = subject.Str("name") ?? "";
            switch (subject.Str("kind"))
            {
                case "User" when name == user.Name:
                case "Group" when user.Groups.Contains(name):
                    return true;
                case "ServiceAccount":
                    var saNs = subject.Str("namespace") ?? bindingNs;
                    if (user.Name == $"system:serviceaccount:{saNs}:{name}")
                    {
                        return true;
                    }

                    break;
            }
        }

        return false;
    }

    private static bool RuleAllows(JsonObject rule, RequestAttributes a)
    {
        if (!Has(rule["verbs"], a.Verb))
        {
            return false;
        }

        if (!a.IsResourceRequest)
        {
            return (rule["nonResourceURLs"] as JsonArray ?? []).Select(u => u.AsString() ?? "").Any(u => u == "*" || u == a.Path || (u.EndsWith('*') && a.Path.StartsWith(u[..^1], StringComparison.Ordinal)));
        }

        if (!Has(rule["apiGroups"], a.Group))
        {
            return false;
        }

        var combined = a.Subresource.Length > 0 ? a.Resource + "/" + a.Subresource : a.Resource;
        var resources = (rule["resources"] as JsonArray ?? []).Select(r => r.AsString() ?? "").ToList();
        var resourceMatches = resources.Any(r => r == "*" || r == combined || (a.Subresource.Length > 0 && r == "*/" + a.Subresource));
        if (!resourceMatches)
        {
            return false;
        }

        var names = (rule["resourceNames"] as JsonArray ?? []).Select(r => r.AsString() ?? "").ToList();
        return names.Count == 0 || (a.Name.Length > 0 && names.Contains(a.Name));
    }

    private static bool Has(JsonNode? list, string value) =>
        (list as JsonArray ?? []).Select(v => v.AsString()).Any(v => v == "*" || v == value);

    private static bool PathMatches(string pattern, string path) =>
        pattern.EndsWith('*') ? path.StartsWith(pattern[..^1], StringComparison.Ordinal) : path == pattern;
}
