using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>A request that fails with a Kubernetes <c>Status</c>, shaped as the real server shapes it.</summary>
internal sealed class ApiException : Exception
{
    public ApiException(int code, string reason, string message, JsonObject? details = null)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Details = details;
    }

    public int Code { get; }

    public string Reason { get; }

    public JsonObject? Details { get; }

    public JsonObject ToStatus() => Status(Code, Reason, Message, Details);

    public static JsonObject Status(int code, string reason, string message, JsonObject? details = null)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
        };
        if (reason.Length > 0)
        {
            status["reason"] = reason;
        }

        if (details is not null)
        {
            status["details"] = details;
        }

        status["code"] = code;
        return status;
    }

    private static JsonObject DetailsFor(ResourceType rt, string? name, bool useKind = false)
    {
        var d = new JsonObject();
        if (!string.IsNullOrEmpty(name))
        {
            d["name"] = name;
        }

        if (rt.Group.Length > 0)
        {
            d["group"] = rt.Group;
        }

        d["kind"] = useKind ? rt.Kind : rt.Plural;
        return d;
    }

    public static ApiException NotFound(ResourceType rt, string name) =>
        new(404, "NotFound", $"{rt.GroupResource} {Json.GoQuote(name)} not found", DetailsFor(rt, name));

    public static ApiException NamespaceNotFound(string ns) =>
        new(404, "NotFound", $"namespaces {Json.GoQuote(ns)} not found", new JsonObject { ["name"] = ns, ["kind"] = "namespaces" });

    public static ApiException NoResource() =>
        new(404, "NotFound", "the server could not find the requested resource", new JsonObject());

    public static ApiException AlreadyExists(ResourceType rt, string name) =>
        new(409, "AlreadyExists", $"{rt.GroupResource} {Json.GoQuote(name)} already exists", DetailsFor(rt, name));

    public static ApiException Conflict(ResourceType rt, string name, string why) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {rt.GroupResource} {Json.GoQuote(name)}: {why}", DetailsFor(rt, name));

    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiException MethodNotAllowed() =>
        new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", new JsonObject());

    public static ApiException Unauthorized() => new(401, "Unauthorized", "Unauthorized");

    public static ApiException Forbidden(ResourceType? rt, string groupResource, string name, string message)
    {
        var d = new JsonObject();
        if (name.Length > 0)
        {
            d["name"] = name;
        }

        if (rt is not null && rt.Group.Length > 0)
        {
            d["group"] = rt.Group;
        }

        if (rt is not null)
        {
            d["kind"] = rt.Plural;
        }

        var prefix = name.Length > 0 ? $"{groupResource} {Json.GoQuote(name)} is forbidden: " : $"{groupResource} is forbidden: ";
        return new ApiException(403, "Forbidden", groupResource.Length == 0 ? "forbidden: " + message : prefix + message, d);
    }

    public static ApiException Invalid(ResourceType rt, string name, IReadOnlyList<FieldError> errors)
    {
        var distinct = errors.DistinctBy(e => e.ToString()).ToList();
        var aggregate = distinct.Count == 1 ? distinct[0].ToString() : "[" + string.Join(", ", distinct.Select(e => e.ToString())) + "]";
        var details = DetailsFor(rt, name, useKind: true);
        var causes = new JsonArray();
        foreach (var e in distinct)
        {
            causes.Add(new JsonObject { ["reason"] = e.Reason, ["message"] = e.Message, ["field"] = e.Field });
        }

        details["causes"] = causes;
        return new ApiException(422, "Invalid", $"{rt.GroupKind} {Json.GoQuote(name)} is invalid: {aggregate}", details);
    }

    public static ApiException UnsupportedMediaType(string accepted) =>
        new(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: " + accepted, new JsonObject());

    public static ApiException Expired(string message) => new(410, "Expired", message);
}
