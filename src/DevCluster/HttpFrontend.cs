using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Notary.DevCluster;

/// <summary>
/// The HTTP side: authentication (401), authorization (403 with the real message), discovery, OpenAPI, version,
/// health, the resource API and watch streams (newline-delimited JSON events, bookmarks, timeouts, faults).
/// </summary>
internal sealed class HttpFrontend(ApiCore core, OpenApi openApi, TimeSpan bookmarkInterval, Func<string> serverAddress) : IDisposable
{
    private CancellationTokenSource _stopping = new();

    public void StopWatches() => _stopping.Cancel();

    public void ResumeWatches()
    {
        _stopping.Dispose();
        _stopping = new CancellationTokenSource();
    }

    public void Dispose() => _stopping.Dispose();

    private static readonly JsonObject VersionInfo = new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.0-devcluster",
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2024-12-11T00:00:00Z",
        ["goVersion"] = "go1.23.3",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    public async Task HandleAsync(HttpContext ctx)
    {
        try
        {
            await HandleCoreAsync(ctx).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            await WriteAsync(ctx, new ApiResponse(e.Code, e.ToStatus())).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            await WriteAsync(ctx, new ApiResponse(500, ApiException.Status(500, "InternalError", "Internal error occurred: " + e.Message))).ConfigureAwait(false);
        }
    }

    private async Task HandleCoreAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in ctx.Request.Query)
        {
            query[key] = value.ToString();
        }

        if (path is "/healthz" or "/livez" or "/readyz" || path.StartsWith("/healthz/", StringComparison.Ordinal) ||
            path.StartsWith("/livez/", StringComparison.Ordinal) || path.StartsWith("/readyz/", StringComparison.Ordinal))
        {
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync("ok", ctx.RequestAborted).ConfigureAwait(false);
            return;
        }

        if (path is "/version" or "/version/")
        {
            await WriteAsync(ctx, new ApiResponse(200, VersionInfo.DeepClone())).ConfigureAwait(false);
            return;
        }

        var user = Authenticate(ctx) ?? throw ApiException.Unauthorized();
        var info = RequestInfo.Parse(ctx.Request.Method, path, query);
        var rt = info.IsResourceRequest ? core.Registry.Find(info.Group, info.Version, info.Resource) : null;
        Authorize(user, info, rt, ctx.Request.Headers.Accept.ToString());

        using var body = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(body, ctx.RequestAborted).ConfigureAwait(false);
        var bytes = body.ToArray();
        var contentType = ctx.Request.ContentType ?? "";
        if (Protobuf.IsProtobuf(contentType) && bytes.Length > 0)
        {
            // kubectl's typed clients (create secret, create token, auth can-i...) send protobuf; answers stay JSON.
            bytes = Json.SerializeToUtf8(Protobuf.Decode(bytes));
            contentType = "application/json";
        }

        var req = new ApiRequest
        {
            Method = ctx.Request.Method,
            Path = path,
            Query = query,
            Body = bytes,
            ContentType = contentType,
            Accept = ctx.Request.Headers.Accept.ToString(),
            User = user,
        };

        if (!info.IsResourceRequest)
        {
            await WriteAsync(ctx, NonResource(req, path)).ConfigureAwait(false);
            return;
        }

        if (rt is null)
        {
            throw ApiException.NoResource();
        }

        // As the real server: an Accept header it can serve nothing of is refused before the request runs.
        MediaTypes.Negotiate(req.Accept);

        if (info.Verb == "watch")
        {
            await WatchAsync(ctx, req, info, rt).ConfigureAwait(false);
            return;
        }

        await WriteAsync(ctx, core.Execute(req, info, rt)).ConfigureAwait(false);
    }

    private UserInfo? Authenticate(HttpContext ctx)
    {
        var header = ctx.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var user = core.Authenticator.Authenticate(header[scheme.Length..].Trim(), core.Now, out var audiences);
        return user is not null && audiences.Contains(Authenticator.Issuer) ? user : null;
    }

    private void Authorize(UserInfo user, RequestInfo info, ResourceType? rt, string accept)
    {
        var attributes = new RequestAttributes(info.Verb, info.IsResourceRequest, info.Path, info.Group, info.Resource, info.Subresource, info.Namespace, info.Name);
        var allowed = core.Authorizer.Authorize(user, attributes).Allowed;
        core.RecordAudit(new AuditRecord(user.Name, info.Verb, info.IsResourceRequest, info.Group, info.Resource, info.Subresource, info.Namespace, info.Name, info.Path, allowed)
        {
            Accept = accept,
        });
        if (allowed)
        {
            return;
        }

        if (!info.IsResourceRequest)
        {
            throw new ApiException(403, "Forbidden", $"forbidden: User {Json.GoQuote(user.Name)} cannot {info.Verb} path {Json.GoQuote(info.Path)}", new JsonObject());
        }

        var resource = info.Subresource.Length > 0 ? info.Resource + "/" + info.Subresource : info.Resource;
        var scope = info.Namespace.Length > 0 ? $"in the namespace {Json.GoQuote(info.Namespace)}" : "at the cluster scope";
        var message = $"User {Json.GoQuote(user.Name)} cannot {info.Verb} resource {Json.GoQuote(resource)} in API group {Json.GoQuote(info.Group)} {scope}";
        var groupResource = info.Group.Length > 0 ? info.Resource + "." + info.Group : info.Resource;
        throw ApiException.Forbidden(rt ?? new ResourceType { Group = info.Group, Version = info.Version, Kind = "", Plural = info.Resource, Namespaced = true }, groupResource, info.ObjectName, message);
    }

    private ApiResponse NonResource(ApiRequest req, string path)
    {
        if (req.Method != "GET")
        {
            throw ApiException.MethodNotAllowed();
        }

        var trimmed = path.TrimEnd('/');
        var segments = trimmed.Trim('/').Split('/');
        var aggregated = Discovery.AggregatedVersion(req.Accept);
        switch (segments)
        {
            case ["api"]:
                return aggregated is not null
                    ? new ApiResponse(200, Discovery.Aggregated(core.Registry, core: true, aggregated)) { ContentType = aggregated == "v2" ? Discovery.AggregatedV2 : Discovery.AggregatedV2Beta1 }
                    : new ApiResponse(200, Discovery.ApiVersions(serverAddress()));
            case ["apis"]:
                return aggregated is not null
                    ? new ApiResponse(200, Discovery.Aggregated(core.Registry, core: false, aggregated)) { ContentType = aggregated == "v2" ? Discovery.AggregatedV2 : Discovery.AggregatedV2Beta1 }
                    : new ApiResponse(200, Discovery.GroupList(core.Registry));
            case ["api", var version] when core.Registry.HasGroupVersion("", version):
                return new ApiResponse(200, Discovery.ResourceList(core.Registry, "", version));
            case ["apis", var group] when Discovery.GroupDocument(core.Registry, group) is { } doc:
                return new ApiResponse(200, doc);
            case ["apis", var group, var version] when core.Registry.HasGroupVersion(group, version):
                return new ApiResponse(200, Discovery.ResourceList(core.Registry, group, version));
            case ["openapi", "v3"]:
                return new ApiResponse(200, openApi.Index());
            case ["openapi", "v3", ..]:
                var key = string.Join("/", segments[2..]);
                var text = openApi.Document(key) ?? throw ApiException.NoResource();
                return new ApiResponse(200, JsonNode.Parse(text));
            default:
                throw new ApiException(404, "NotFound", "the server could not find the requested resource", new JsonObject());
        }
    }

    private static async Task WriteAsync(HttpContext ctx, ApiResponse response)
    {
        if (ctx.Response.HasStarted)
        {
            return;
        }

        var bytes = Json.SerializeToUtf8(response.Body);
        ctx.Response.StatusCode = response.Code;
        ctx.Response.ContentType = response.ContentType;
        ctx.Response.Headers.CacheControl = "no-cache, private";
        foreach (var warning in response.Warnings)
        {
            ctx.Response.Headers.Append("Warning", "299 - " + Json.GoQuote(warning));
        }

        ctx.Response.ContentLength = bytes.Length;
        await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted).ConfigureAwait(false);
    }

    private async Task WatchAsync(HttpContext ctx, ApiRequest req, RequestInfo info, ResourceType rt)
    {
        var labels = Selectors.Labels(req.Q("labelSelector"));
        var fields = Selectors.Fields(req.Q("fieldSelector"), rt);
        if (info.Name.Length > 0 && !info.NameFromSelector)
        {
            var name = info.Name;
            var byField = fields;
            fields = o => byField(o) && o["metadata"].Str("name") == name;
        }

        var sendInitial = req.Q("sendInitialEvents") == "true";
        var rvText = req.Q("resourceVersion");
        long? from = null;
        if (!sendInitial && !string.IsNullOrEmpty(rvText) && rvText != "0")
        {
            if (!long.TryParse(rvText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var rv))
            {
                throw ApiException.BadRequest($"resourceVersion: Invalid value: {Json.GoQuote(rvText)}: must be a number");
            }

            from = rv;
        }

        bool Filter(JsonObject stored)
        {
            var served = rt.Converter?.FromStorage(stored) ?? stored;
            return labels(served) && fields(served);
        }

        var ns = rt.Namespaced && info.Namespace.Length > 0 ? info.Namespace : null;
        Watcher? watcher = null;
        JsonObject? expired = null;
        lock (core.Store.Gate)
        {
            try
            {
                watcher = core.Store.Watch(rt.StorageKey, ns, Filter, from);
            }
            catch (ExpiredException e)
            {
                expired = ApiException.Status(410, "Expired", e.Message);
            }
        }

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.Headers.CacheControl = "no-cache, private";
        await ctx.Response.StartAsync(ctx.RequestAborted).ConfigureAwait(false);

        // The real server flushes the headers at once (WatchServer.HandleHTTP): a client waiting for
        // them before it changes anything must not wait for the first event or bookmark.
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
        var target = MediaTypes.Negotiate(req.Accept);
        var table = target.As == Representation.Table;

        // A metadata-only watch gets every event's object as PartialObjectMetadata. Asking
        // PartialObjectMetadataList of a watch fails the transform of each event, and the real
        // server then sends the object untransformed (apiserver's watchEmbeddedEncoder): so here.
        var partial = target.As == Representation.PartialObjectMetadata;
        var includeObject = req.Q("includeObject");
        var firstTable = true;
        var output = ctx.Response.Body;

        Task SendAsync(string type, JsonObject obj, CancellationToken token) => SendLineAsync(WatchLine(type, obj), token);

        async Task SendLineAsync(byte[] line, CancellationToken token)
        {
            await output.WriteAsync(line, token).ConfigureAwait(false);
            await output.FlushAsync(token).ConfigureAwait(false);
        }

        async Task SendEventAsync(WatchEvent e, CancellationToken token)
        {
            if (partial)
            {
                await SendLineAsync(WatchLine(e.Type, Output.Partial(e.Object, target.MetaApiVersion)), token).ConfigureAwait(false);
                return;
            }

            if (!table)
            {
                // The plain JSON line is the same for every watch of this type: made once per event.
                await SendLineAsync(e.LineFor(rt, stored => WatchLine(e.Type, ApiCore.Served(rt, stored))), token).ConfigureAwait(false);
                return;
            }

            var payload = Output.Table(rt, [ApiCore.Served(rt, e.Object)], core.Now, null, null, firstTable, includeObject, target.MetaApiVersion);
            firstTable = false;
            await SendAsync(e.Type, payload, token).ConfigureAwait(false);
        }

        JsonObject Bookmark(long rv, bool initialEnd)
        {
            var meta = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture), ["creationTimestamp"] = null };
            if (initialEnd)
            {
                meta["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
            }

            return partial
                ? new JsonObject { ["kind"] = "PartialObjectMetadata", ["apiVersion"] = target.MetaApiVersion, ["metadata"] = meta }
                : new JsonObject { ["kind"] = rt.Kind, ["apiVersion"] = rt.ApiVersion, ["metadata"] = meta };
        }

        if (expired is not null)
        {
            await SendAsync("ERROR", expired, ctx.RequestAborted).ConfigureAwait(false);
            return;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
        if (long.TryParse(req.Q("timeoutSeconds"), CultureInfo.InvariantCulture, out var timeoutSeconds) && timeoutSeconds > 0)
        {
            cts.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        }

        var bookmarks = req.Flag("allowWatchBookmarks");
        try
        {
            foreach (var e in watcher!.Initial)
            {
                await SendEventAsync(e, cts.Token).ConfigureAwait(false);
            }

            if (sendInitial && bookmarks)
            {
                await SendAsync("BOOKMARK", Bookmark(watcher.Initial.Count > 0 ? watcher.Initial.Max(e => e.ResourceVersion) : core.Store.CurrentRv, true), cts.Token).ConfigureAwait(false);
            }

            var reader = watcher.Channel.Reader;
            while (!cts.IsCancellationRequested)
            {
                bool more;
                if (bookmarks)
                {
                    using var tick = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                    tick.CancelAfter(bookmarkInterval);
                    try
                    {
                        more = await reader.WaitToReadAsync(tick.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cts.IsCancellationRequested)
                    {
                        if (core.Store.BookmarkRv(watcher) is { } rv)
                        {
                            await SendAsync("BOOKMARK", Bookmark(rv, false), cts.Token).ConfigureAwait(false);
                        }

                        continue;
                    }
                }
                else
                {
                    more = await reader.WaitToReadAsync(cts.Token).ConfigureAwait(false);
                }

                if (watcher.Aborted)
                {
                    ctx.Abort();
                    return;
                }

                if (!more)
                {
                    return;
                }

                while (reader.TryRead(out var e))
                {
                    await SendEventAsync(e, cts.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Timeout, client gone or server stopping: the stream just ends.
        }
        finally
        {
            watcher!.Dispose();
        }
    }

    /// <summary>{"type":...,"object":...} and its newline, written straight to UTF-8 (no intermediate string or node).</summary>
    private static byte[] WatchLine(string type, JsonObject obj)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("type", type);
            writer.WritePropertyName("object");
            obj.WriteTo(writer, Json.Options);
            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }
}
