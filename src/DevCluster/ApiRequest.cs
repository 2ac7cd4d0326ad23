using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>One API call, independent of HTTP so the server can also call itself (installing CRDs).</summary>
internal sealed class ApiRequest
{
    public required string Method { get; init; }

    public required string Path { get; init; }

    public IReadOnlyDictionary<string, string> Query { get; init; } = new Dictionary<string, string>();

    public byte[] Body { get; init; } = [];

    public string ContentType { get; init; } = "";

    public string Accept { get; init; } = "";

    public required UserInfo User { get; init; }

    public string? Q(string key) => Query.TryGetValue(key, out var v) ? v : null;

    public bool Flag(string key) => Q(key) is "true" or "1";
}

/// <summary>A finished answer: status code, JSON body, warnings for the Warning header.</summary>
internal sealed class ApiResponse(int code, JsonNode? body)
{
    public int Code { get; } = code;

    public JsonNode? Body { get; } = body;

    public string ContentType { get; init; } = "application/json";

    public List<string> Warnings { get; } = [];
}

/// <summary>What a URL addresses, parsed as the real server's RequestInfoFactory does.</summary>
internal sealed record RequestInfo(bool IsResourceRequest, string Path, string Verb, string Group, string Version, string Namespace,
    string Resource, string Name, string Subresource)
{
    private static readonly HashSet<string> NamespaceSubresources = new(StringComparer.Ordinal) { "status", "finalize" };

    public static RequestInfo Parse(string method, string path, IReadOnlyDictionary<string, string> query)
    {
        var segments = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var nonResource = new RequestInfo(false, path, method.ToUpperInvariant() switch
        {
            "POST" => "post",
            "PUT" => "put",
            "PATCH" => "patch",
            "DELETE" => "delete",
            "HEAD" => "head",
            _ => "get",
        }, "", "", "", "", "", "");

        string group, version;
        string[] rest;
        if (segments.Length >= 3 && segments[0] == "api")
        {
            (group, version, rest) = ("", segments[1], segments[2..]);
        }
        else if (segments.Length >= 4 && segments[0] == "apis")
        {
            (group, version, rest) = (segments[1], segments[2], segments[3..]);
        }
        else
        {
            return nonResource;
        }

        var ns = "";
        if (rest[0] == "namespaces" && rest.Length > 1)
        {
            ns = rest[1];
            if (rest.Length > 2 && !NamespaceSubresources.Contains(rest[2]))
            {
                rest = rest[2..];
            }
        }

        var resource = rest[0];
        var name = rest.Length > 1 ? rest[1] : "";
        var sub = rest.Length > 2 ? rest[2] : "";
        var watch = query.TryGetValue("watch", out var w) && w is "true" or "1";
        var verb = method.ToUpperInvariant() switch
        {
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => name.Length == 0 ? "deletecollection" : "delete",
            _ => name.Length == 0 ? (watch ? "watch" : "list") : (watch ? "watch" : "get"),
        };
        if (name.Length == 0 && verb is "list" or "watch" or "deletecollection" &&
            query.TryGetValue("fieldSelector", out var fs) && fs.StartsWith("metadata.name=", StringComparison.Ordinal) && !fs.Contains(',', StringComparison.Ordinal))
        {
            // The real server authorizes a single-object list or watch by the object's name.
            name = fs["metadata.name=".Length..];
            return new RequestInfo(true, path, verb, group, version, ns, resource, name, sub) { NameFromSelector = true };
        }

        return new RequestInfo(true, path, verb, group, version, ns, resource, name, sub);
    }

    /// <summary>The name came from a metadata.name field selector: still a collection request.</summary>
    public bool NameFromSelector { get; init; }

    public string ObjectName => NameFromSelector ? "" : Name;
}
