using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Notary.Api.Contracts;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Silo;

/// <summary>Registers and maps the breach API: report, follow and lift breaches under <see cref="BasePath"/>, authorized by Kubernetes RBAC.</summary>
public static class BreachApiEndpoints
{
    public const string BasePath = BreachJson.BasePath;

    /// <summary>The breach service of the silo (<see cref="GrainBreachService"/>) unless one is registered, and the API's handlers.</summary>
    public static IServiceCollection AddNotaryBreachApi(this IServiceCollection services)
    {
        services.TryAddSingleton<IBreachService, GrainBreachService>();
        services.TryAddSingleton<BreachApi>();
        return services;
    }

    public static IEndpointRouteBuilder MapBreachApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(BasePath).RequireRateLimiting(ApiThrottling.PolicyName);
        group.MapPost("", (HttpContext context, BreachApi api) => api.PostAsync(context));
        group.MapGet("{id}", (HttpContext context, string id, BreachApi api) => api.GetAsync(context, id));
        group.MapDelete("{id}", (HttpContext context, string id, BreachApi api) => api.DeleteAsync(context, id));
        return endpoints;
    }
}

/// <summary>
/// The breach API: incident tooling reports a compromised certificate. A breach is a Breach
/// object in the API server (kubectl works as well, with native RBAC); this API creates, reads
/// and deletes Breaches on the caller's behalf, and the watcher acts on them.
/// <list type="bullet">
/// <item><c>POST /v1/breaches</c> <c>{"certificate","mode","reason","dryRun"}</c>: creates a new
/// Breach (an identical report is a new breach) with <c>status.requestedBy</c> set to the caller;
/// 202 with it and a Location; 200 with the impact for a dry run, which creates nothing.</item>
/// <item><c>GET /v1/breaches/{id}</c>: 200 with the Breach's status, 404.</item>
/// <item><c>DELETE /v1/breaches/{id}</c>: deletes a quarantine's Breach, 202 (its finalizer
/// lifts the quarantine before the object goes); 409 for a rotation; 404.</item>
/// </list>
/// Ids are <c>NAMESPACE.NAME</c> of the Breach (a namespace has no dot), so the namespace is
/// known before anything is looked up. Callers present a Kubernetes bearer token (TokenReview;
/// 401 without a valid one) and need, in that namespace (SubjectAccessReview; 403 without it),
/// verb <c>create</c> on <c>breaches.notary.dev</c> to report (or ask for the impact), <c>get</c>
/// to read, <c>delete</c> to lift: the verbs kubectl would need on the object itself. The
/// permission is checked before the Breach is looked up, so a caller without it gets 403 whether
/// or not the Breach exists. Every call is logged (who, what, outcome); reports and lifts are
/// recorded as Events on the Certificate. The reason is user input: kept as one trimmed line,
/// never longer than 1024.
/// </summary>
public sealed class BreachApi(IBreachService breaches, IAccessReviewer reviewer, IEventRecorder events, ILogger<BreachApi> logger)
{
    /// <summary>A breach report is a few hundred bytes; anything beyond this is not one.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private const string Anonymous = "(unauthenticated)";
    private const int ReasonInLogs = 256;
    private const int ReasonInEvents = 512;

    public async Task<IResult> PostAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var call = new Call("report", "-", Anonymous);
        var (user, refusal) = await AuthenticateAsync(context, call);
        if (user is null)
        {
            return refusal!;
        }

        call = call with { Caller = user.Name };
        var (body, tooLarge) = await ReadBodyAsync(context.Request);
        if (body is null)
        {
            return Finish(call, StatusCodes.Status413PayloadTooLarge, tooLarge!, "refused: body too large");
        }

        var (request, invalid) = Parse(body, user.Name);
        if (request is null)
        {
            return Finish(call, StatusCodes.Status400BadRequest, invalid!, "invalid: " + invalid);
        }

        call = call with { Action = request.DryRun ? "dry-run" : "report", Target = request.Certificate.ToString() };
        var denied = await AuthorizeAsync(call, user, "create", request.Certificate.Namespace, context.RequestAborted);
        if (denied is not null)
        {
            return denied;
        }

        BreachReport report;
        try
        {
            report = request.DryRun
                ? await breaches.ImpactAsync(request, context.RequestAborted)
                : await breaches.CreateAsync(request, context.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Failed(call, ex);
        }

        var reason = BreachJson.Clean(request.Reason, ReasonInEvents);
        var mode = BreachJson.Name(request.Mode);
        var outcome = $"{mode}, {report.Items.Count} items, phase {report.Phase}, breach {report.Id}, reason: {BreachJson.Clean(request.Reason, ReasonInLogs)}";
        if (request.DryRun)
        {
            await RecordAsync(request.Certificate, EventSeverity.Normal, "BreachDryRun",
                $"{Who(user)} asked for the impact of a {mode} breach: {report.Items.Count} items would change. Reason: {reason}");
            return Finish(call, StatusCodes.Status200OK, BreachResource.From(report), "dry run: " + outcome);
        }

        await RecordAsync(request.Certificate, EventSeverity.Warning, "BreachReported",
            $"{Who(user)} reported a breach ({mode}, {report.Id}): {reason}");
        context.Response.Headers.Location = $"{context.Request.PathBase}{BreachApiEndpoints.BasePath}/{report.Id}";
        return Finish(call, StatusCodes.Status202Accepted, BreachResource.From(report), "accepted: " + outcome);
    }

    public async Task<IResult> GetAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (call, _, report, refusal) = await AuthorizedBreachAsync(context, "get", "get", id);
        return refusal ?? Finish(call, StatusCodes.Status200OK, BreachResource.From(report!), $"phase {report!.Phase}");
    }

    /// <summary>
    /// The steps GET and DELETE share: authenticate the caller, read the namespace from the id,
    /// authorise <paramref name="verb"/> on breaches there, and only then find the Breach, so that
    /// a caller without the verb learns nothing of what exists. A refusal is the answer to send.
    /// </summary>
    private async Task<(Call Call, AuthenticatedUser? User, BreachReport? Report, IResult? Refusal)> AuthorizedBreachAsync(HttpContext context, string action, string verb, string id)
    {
        var call = new Call(action, Target(id), Anonymous);
        var (user, refusal) = await AuthenticateAsync(context, call);
        if (user is null)
        {
            return (call, null, null, refusal!);
        }

        call = call with { Caller = user.Name };
        if (!TryParseId(id, out var breach))
        {
            // Says nothing about what exists: no Breach could have this id.
            return (call, user, null, Finish(call, StatusCodes.Status404NotFound,
                new BreachApiError("no such breach: ids are NAMESPACE.NAME of the Breach"), "not found: malformed id"));
        }

        var denied = await AuthorizeAsync(call, user, verb, breach.Namespace, context.RequestAborted);
        if (denied is not null)
        {
            return (call, user, null, denied);
        }

        var (report, missing) = await FindAsync(call, breach, context.RequestAborted);
        return (call, user, report, missing);
    }

    private static bool TryParseId(string id, out ResourceKey breach) => BreachJson.TryParseId(id, out breach);

    public async Task<IResult> DeleteAsync(HttpContext context, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (call, caller, found, refusal) = await AuthorizedBreachAsync(context, "lift", "delete", id);
        if (refusal is not null || caller is null || found is null)
        {
            return refusal!;
        }

        var (user, report) = (caller, found);

        if (report.Mode != BreachMode.Quarantine)
        {
            var error = $"breach {report.Id} is a {BreachJson.Name(report.Mode)}: only a quarantine can be lifted";
            return Finish(call, StatusCodes.Status409Conflict, new BreachApiError(error), "conflict: " + error);
        }

        BreachReport? deleted;
        try
        {
            deleted = await breaches.DeleteAsync(BreachKey(report), context.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Failed(call, ex);
        }

        if (deleted is null)
        {
            return Finish(call, StatusCodes.Status404NotFound, new BreachApiError($"no breach {report.Id}"), "not found");
        }

        await RecordAsync(deleted.Certificate, EventSeverity.Normal, "QuarantineLiftRequested",
            $"{Who(user)} deleted quarantine {deleted.Id}, reported for: {BreachJson.Clean(deleted.Reason, ReasonInEvents)}; its finalizer lifts it");
        return Finish(call, StatusCodes.Status202Accepted, BreachResource.From(deleted), "deleted; the finalizer lifts the quarantine");
    }

    private static ResourceKey BreachKey(BreachReport report) =>
        BreachIds.TryParse(report.Id, out var key) ? key : throw new InvalidOperationException($"The breach id {report.Id} names no Breach.");

    /// <summary>The request as the grain takes it, or the error that names the field at fault.</summary>
    public static (BreachRequest? Request, BreachApiError? Error) Parse(ReadOnlySpan<byte> body, string requestedBy)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException)
        {
            return (null, new BreachApiError("the body is not JSON: send {\"certificate\":\"NAMESPACE/NAME\",\"mode\":\"rotate\"|\"quarantine\",\"reason\":\"...\",\"dryRun\":false}"));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, new BreachApiError("the body must be a JSON object with certificate, mode and reason"));
            }

            string? certificate = null, mode = null, reason = null;
            var dryRun = false;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "certificate" when property.Value.ValueKind == JsonValueKind.String:
                        certificate = property.Value.GetString();
                        break;
                    case "mode" when property.Value.ValueKind == JsonValueKind.String:
                        mode = property.Value.GetString();
                        break;
                    case "reason" when property.Value.ValueKind == JsonValueKind.String:
                        reason = property.Value.GetString();
                        break;
                    case "dryRun" when property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                        dryRun = property.Value.GetBoolean();
                        break;
                    case "dryRun":
                        return (null, new BreachApiError("dryRun must be true or false"));
                    case "certificate" or "mode" or "reason":
                        return (null, new BreachApiError($"{property.Name} must be a string"));
                    default:
                        // A misspelt "dryrun" must not turn an impact question into a rotation.
                        return (null, new BreachApiError($"unknown field \"{BreachJson.Clean(property.Name, 64)}\": the fields are certificate, mode, reason and dryRun"));
                }
            }

            if (BreachJson.CheckCertificate(certificate, out var key) is { } certificateError)
            {
                return (null, new BreachApiError(certificateError));
            }

            if (!BreachJson.TryParseMode(mode, out var breachMode))
            {
                return (null, new BreachApiError(mode is null ? "mode is required: \"rotate\" or \"quarantine\"" : "mode must be \"rotate\" or \"quarantine\""));
            }

            if (BreachJson.CheckReason(reason, out var cleanReason) is { } reasonError)
            {
                return (null, new BreachApiError(reasonError));
            }

            return (new BreachRequest(key, breachMode, cleanReason, dryRun, requestedBy), null);
        }
    }

    private async Task<(AuthenticatedUser? User, IResult? Refusal)> AuthenticateAsync(HttpContext context, Call call)
    {
        var header = context.Request.Headers.Authorization;
        const string scheme = "Bearer ";
        if (header.Count != 1 || header[0] is not { } value || !value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || value.Length == scheme.Length)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return (null, Finish(call, StatusCodes.Status401Unauthorized,
                new BreachApiError("a Kubernetes bearer token is required: Authorization: Bearer TOKEN"), "unauthenticated: no bearer token"));
        }

        AuthenticatedUser? user;
        try
        {
            user = await reviewer.AuthenticateAsync(value[scheme.Length..].Trim(), context.RequestAborted);
        }
        catch (ExternalServiceException ex)
        {
            return (null, Unavailable(call, "TokenReview", ex));
        }

        if (user is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return (null, Finish(call, StatusCodes.Status401Unauthorized,
                new BreachApiError("the bearer token is not valid (Kubernetes TokenReview did not authenticate it)"), "unauthenticated: invalid token"));
        }

        return (user, null);
    }

    private async Task<IResult?> AuthorizeAsync(Call call, AuthenticatedUser user, string verb, string @namespace, CancellationToken cancellationToken)
    {
        AccessDecision decision;
        try
        {
            decision = await reviewer.CanAccessBreachesAsync(user, verb, @namespace, cancellationToken);
        }
        catch (ExternalServiceException ex)
        {
            return Unavailable(call, "SubjectAccessReview", ex);
        }

        if (decision.Allowed)
        {
            return null;
        }

        var error = $"{Who(user)} may not {verb} breaches.notary.dev in namespace {@namespace}";
        return Finish(call, StatusCodes.Status403Forbidden, new BreachApiError(error), "forbidden: " + error);
    }

    private async Task<(BreachReport? Report, IResult? Missing)> FindAsync(Call call, ResourceKey breach, CancellationToken cancellationToken)
    {
        try
        {
            var report = await breaches.GetAsync(breach, cancellationToken);
            return report is null
                ? (null, Finish(call, StatusCodes.Status404NotFound, new BreachApiError($"no breach {BreachIds.For(breach)}"), "not found"))
                : (report, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (null, Failed(call, ex));
        }
    }

    private static async Task<(byte[]? Body, BreachApiError? TooLarge)> ReadBodyAsync(HttpRequest request)
    {
        var tooLarge = new BreachApiError($"the body is larger than {MaxBodyBytes} bytes");
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, tooLarge);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return (null, tooLarge);
            }

            buffer.Write(chunk, 0, read);
        }

        return (buffer.ToArray(), null);
    }

    /// <summary>An Event on the Certificate; a failure to record one is logged, never fails the call (the breach is under way).</summary>
    private async Task RecordAsync(ResourceKey certificate, EventSeverity severity, string reason, string message)
    {
        try
        {
            await events.RecordAsync(certificate, ResourceKind.Certificate, severity, reason, message, CancellationToken.None);
        }
        catch (Exception ex)
        {
            BreachLog.EventNotRecorded(logger, reason, certificate.ToString(), ex.GetType().Name, ex.Message);
        }
    }

    private IResult Unavailable(Call call, string review, Exception ex)
    {
        // The detail (Notary's own permissions, the API server's state) is for the operator's log, not the caller.
        BreachLog.ReviewFailed(logger, review, call.Action, call.Target, ex.Message);
        return Finish(call, StatusCodes.Status503ServiceUnavailable,
            new BreachApiError($"Notary could not ask Kubernetes ({review}); try again, and see Notary's log if it persists"), $"unavailable: {review} failed");
    }

    private IResult Failed(Call call, Exception ex)
    {
        BreachLog.ServiceFailed(logger, ex, call.Action, call.Target, call.Caller);
        return Finish(call, StatusCodes.Status500InternalServerError, new BreachApiError("the breach service failed; see Notary's log"), "failed: " + ex.GetType().Name);
    }

    private IResult Finish(Call call, int status, object body, string outcome)
    {
        BreachLog.Call(logger, status < 400 ? LogLevel.Information : LogLevel.Warning, call.Action, call.Target, call.Caller, status, outcome);
        return Results.Json(body, BreachJson.Options, statusCode: status);
    }

    private static string Who(AuthenticatedUser user) => BreachJson.Clean(user.Name, 256);

    private static string Target(string id) => TryParseId(id, out _) ? id : "(malformed id)";

    private sealed record Call(string Action, string Target, string Caller);
}
