using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>
/// The semantics of the resource API, as kube-apiserver implements them: create, get, list, update, patch, delete,
/// deletecollection, the status subresource, generation and resourceVersion bookkeeping, optimistic concurrency,
/// finalizers, namespaces, CRD registration, schema pruning, defaulting and validation, dry runs.
/// Every operation runs under the store's lock.
/// </summary>
internal sealed partial class ApiCore(Store store, ResourceRegistry registry, Authenticator authenticator, RbacAuthorizer authorizer, TimeProvider time)
{
    public Store Store => store;

    public ResourceRegistry Registry => registry;

    public RbacAuthorizer Authorizer => authorizer;

    public Authenticator Authenticator => authenticator;

    /// <summary>The authenticated requests, in arrival order (see <see cref="DevClusterServer.Audit"/>).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<AuditRecord> Audit { get; } = new();

    /// <summary>The audit keeps the latest requests only, so that a dev mode left running for days stays small.</summary>
    public const int AuditCapacity = 100_000;

    public void RecordAudit(AuditRecord record)
    {
        Audit.Enqueue(record);
        while (Audit.Count > AuditCapacity && Audit.TryDequeue(out _))
        {
        }
    }

    public DateTimeOffset Now => time.GetUtcNow();

    public ApiResponse Execute(ApiRequest req, RequestInfo info, ResourceType rt)
    {
        if (info.Subresource.Length > 0 && !rt.Subresources.Contains(info.Subresource))
        {
            throw ApiException.NoResource();
        }

        if (!rt.Namespaced)
        {
            // /api/v1/namespaces/NAME carries NAME as the namespace attribute (for RBAC); storage keys it cluster-wide.
            info = info with { Namespace = "" };
        }

        if (rt.IsVirtual)
        {
            return info.Verb == "create" && info.Name.Length == 0 ? Review(req, info, rt) : throw ApiException.MethodNotAllowed();
        }

        return (info.Verb, info.Subresource) switch
        {
            ("create", "token") when rt.Plural == "serviceaccounts" => TokenRequest(req, info),
            ("create", "") when info.Name.Length == 0 => Create(req, info, rt),
            ("get", "" or "status") => Get(req, info, rt),
            ("list", "") => List(req, info, rt),
            ("update", "" or "status") => Update(req, info, rt),
            ("patch", "" or "status") => Patch(req, info, rt),
            ("delete", "") => Delete(req, info, rt),
            ("deletecollection", "") => DeleteCollection(req, info, rt),
            _ => throw ApiException.MethodNotAllowed(),
        };
    }

    // ---------------------------------------------------------------- reads

    private ApiResponse Get(ApiRequest req, RequestInfo info, ResourceType rt)
    {
        JsonObject served;
        lock (store.Gate)
        {
            var stored = store.Get(rt.StorageKey, info.Namespace, info.Name) ?? throw ApiException.NotFound(rt, info.Name);
            served = Served(rt, stored);
        }

        return new ApiResponse(200, Output.Single(rt, served, req.Accept, Now, req.Q("includeObject")));
    }

    private ApiResponse List(ApiRequest req, RequestInfo info, ResourceType rt)
    {
        var labels = Selectors.Labels(req.Q("labelSelector"));
        var fields = Selectors.Fields(req.Q("fieldSelector"), rt);
        var partial = MediaTypes.Negotiate(req.Accept).As == Representation.PartialObjectMetadataList;
        string? after = null;
        if (req.Q("continue") is { Length: > 0 } token)
        {
            try
            {
                after = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            }
            catch (FormatException)
            {
                throw ApiException.BadRequest("continue key is not valid: illegal base64 data at input byte 0");
            }
        }

        List<JsonObject> items;
        string? next = null;
        long? remaining = null;
        long rv;
        lock (store.Gate)
        {
            rv = store.CurrentRv;
            var all = store.List(rt.StorageKey, rt.Namespaced && info.Namespace.Length > 0 ? info.Namespace : null);

            // Selectors read metadata and the indexed fields, which an unconverted type stores as it
            // serves them: only the page is copied out, and for a metadata-only client only its
            // metadata (a list of large Secrets pages through them without copying their data).
            var converted = rt.Converter is not null;
            items = converted ? [.. all.Select(o => Served(rt, o)).Where(o => labels(o) && fields(o))] : [.. all.Where(o => labels(o) && fields(o))];
            if (after is not null)
            {
                items = [.. items.Where(o => string.CompareOrdinal(KeyOf(o), after) > 0)];
            }

            if (long.TryParse(req.Q("limit"), CultureInfo.InvariantCulture, out var limit) && limit > 0 && items.Count > limit)
            {
                remaining = items.Count - limit;
                items = items.Take((int)limit).ToList();
                next = Convert.ToBase64String(Encoding.UTF8.GetBytes(KeyOf(items[^1])));
            }

            if (partial)
            {
                items = [.. items.Select(o => Output.Partial(o))];
            }
            else if (!converted)
            {
                items = [.. items.Select(o => Served(rt, o))];
            }
        }

        return new ApiResponse(200, Output.List(rt, items, rv.ToString(CultureInfo.InvariantCulture), next, remaining, req.Accept, Now, req.Q("includeObject")));
    }

    private static string KeyOf(JsonObject o) => (o["metadata"].Str("namespace") ?? "") + "/" + o["metadata"].Str("name");

    // ---------------------------------------------------------------- create

    private ApiResponse Create(ApiRequest req, RequestInfo info, ResourceType rt)
    {
        var obj = ParseBody(req, rt);
        var warnings = new List<string>();
        var created = CreateObject(rt, info.Namespace, obj, req.Q("fieldValidation"), req.Q("dryRun") == "All", warnings);
        var response = new ApiResponse(201, Output.Single(rt, created, req.Accept, Now, req.Q("includeObject")));
        response.Warnings.AddRange(warnings);
        return response;
    }

    public JsonObject CreateObject(ResourceType rt, string ns, JsonObject obj, string? fieldValidation, bool dryRun, List<string> warnings)
    {
        CheckKind(rt, obj);
        var meta = obj.Obj("metadata");
        if (rt.Namespaced)
        {
            if (meta.Str("namespace") is { Length: > 0 } bodyNs && bodyNs != ns)
            {
                throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }

            meta["namespace"] = ns;
        }
        else
        {
            meta.Remove("namespace");
        }

        if (meta.Str("resourceVersion") is { Length: > 0 })
        {
            throw new ApiException(500, "InternalError", "Internal error occurred: resourceVersion should not be set on objects to be created",
                new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["message"] = "resourceVersion should not be set on objects to be created" }) });
        }

        lock (store.Gate)
        {
            if (rt.Namespaced)
            {
                var nsObj = store.Get("namespaces", "", ns) ?? throw ApiException.NamespaceNotFound(ns);
                if (nsObj["metadata"].Str("deletionTimestamp") is not null)
                {
                    throw new ApiException(403, "Forbidden",
                        $"{rt.Plural} {Json.GoQuote(meta.Str("name") ?? "")} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                        new JsonObject { ["name"] = meta.Str("name"), ["kind"] = rt.Plural, ["causes"] = new JsonArray(new JsonObject { ["reason"] = "NamespaceTerminating", ["message"] = $"namespace {ns} is being terminated", ["field"] = "metadata.namespace" }) });
                }
            }

            if (string.IsNullOrEmpty(meta.Str("name")) && meta.Str("generateName") is { Length: > 0 } prefix)
            {
                string candidate;
                do
                {
                    candidate = prefix + RandomSuffix();
                }
                while (store.Get(rt.StorageKey, ns, candidate) is not null);
                meta["name"] = candidate;
            }

            var name = meta.Str("name") ?? "";
            var errors = new List<FieldError>();
            ProcessSchema(rt, obj, fieldValidation, warnings, errors);
            if (rt.HasStatusSubresource && rt.Plural != "customresourcedefinitions" && rt.Plural != "namespaces")
            {
                obj.Remove("status");
            }

            ValidateMetadata(rt, obj, errors, isCreate: true);
            KindRules.OnWrite(this, rt, obj, null, errors);
            if (errors.Count > 0)
            {
                throw ApiException.Invalid(rt, name, errors);
            }

            if (store.Get(rt.StorageKey, ns, name) is not null)
            {
                throw ApiException.AlreadyExists(rt, name);
            }

            meta = obj.Obj("metadata");
            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = Json.Timestamp(Now);
            meta.Remove("deletionTimestamp");
            meta.Remove("deletionGracePeriodSeconds");
            meta.Remove("selfLink");
            meta.Remove("managedFields");
            if (rt.HasGeneration)
            {
                meta["generation"] = 1;
            }
            else
            {
                meta.Remove("generation");
            }

            Normalize(rt, obj);
            if (dryRun)
            {
                return obj;
            }

            meta["resourceVersion"] = store.NextRv().ToString(CultureInfo.InvariantCulture);
            store.Put(rt.StorageKey, ToStorage(rt, obj), null);
            KindRules.AfterCreate(this, rt, obj);
            return Served(rt, store.Get(rt.StorageKey, ns, name)!);
        }
    }

    private static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        var chars = new char[5];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        }

        return new string(chars);
    }

    // ---------------------------------------------------------------- update and patch

    private ApiResponse Update(ApiRequest req, RequestInfo info, ResourceType rt)
    {
        var obj = ParseBody(req, rt);
        CheckKind(rt, obj);
        var meta = obj.Obj("metadata");
        if (meta.Str("name") is { } bodyName && bodyName != info.Name)
        {
            throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({info.Name})");
        }

        if (rt.Namespaced && meta.Str("namespace") is { Length: > 0 } bodyNs && bodyNs != info.Namespace)
        {
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        var warnings = new List<string>();
        JsonObject result;
        lock (store.Gate)
        {
            var stored = store.Get(rt.StorageKey, info.Namespace, info.Name) ?? throw ApiException.NotFound(rt, info.Name);
            result = CommitUpdate(rt, Served(rt, stored), obj, info.Subresource, req.Q("fieldValidation"), req.Q("dryRun") == "All", warnings);
        }

        var response = new ApiResponse(200, Output.Single(rt, result, req.Accept, Now, req.Q("includeObject")));
        response.Warnings.AddRange(warnings);
        return response;
    }

    private ApiResponse Patch(ApiRequest req, RequestInfo info, ResourceType rt)
    {
        var contentType = req.ContentType.Split(';')[0].Trim().ToLowerInvariant();
        var warnings = new List<string>();
        JsonObject result;
        var code = 200;
        lock (store.Gate)
        {
            var stored = store.Get(rt.StorageKey, info.Namespace, info.Name);
            if (stored is null)
            {
                if (contentType == "application/apply-patch+yaml" && info.Subresource.Length == 0)
                {
                    var applied = ParseApplyBody(req);
                    applied.Obj("metadata")["name"] = info.Name;
                    var created = CreateObject(rt, info.Namespace, applied, req.Q("fieldValidation") ?? "Strict", req.Q("dryRun") == "All", warnings);
                    var createdResponse = new ApiResponse(201, Output.Single(rt, created, req.Accept, Now, req.Q("includeObject")));
                    createdResponse.Warnings.AddRange(warnings);
                    return createdResponse;
                }

                throw ApiException.NotFound(rt, info.Name);
            }

            var current = Served(rt, stored);
            JsonNode? patched;
            try
            {
                switch (contentType)
                {
                    case "application/merge-patch+json":
                        patched = Patches.MergePatch(current, ParseJson(req.Body));
                        break;
                    case "application/json-patch+json":
                        var ops = ParseJson(req.Body) as JsonArray ?? throw ApiException.BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
                        patched = Patches.JsonPatch(current, ops);
                        break;
                    case "application/strategic-merge-patch+json" when rt.SupportsStrategicMerge:
                        patched = Patches.StrategicMerge(current, ParseJson(req.Body), rt.Schema);
                        break;
                    case "application/apply-patch+yaml":
                        patched = Patches.MergePatch(current, ParseApplyBody(req));
                        break;
                    default:
                        throw ApiException.UnsupportedMediaType(rt.SupportsStrategicMerge
                            ? "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
                            : "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
                }
            }
            catch (InvalidOperationException e)
            {
                throw new ApiException(422, "Invalid", e.Message);
            }

            if (patched is not JsonObject patchedObject)
            {
                throw ApiException.BadRequest("the patch produced something that is not an object");
            }

            result = CommitUpdate(rt, current, patchedObject, info.Subresource, req.Q("fieldValidation"), req.Q("dryRun") == "All", warnings);
        }

        var response = new ApiResponse(code, Output.Single(rt, result, req.Accept, Now, req.Q("includeObject")));
        response.Warnings.AddRange(warnings);
        return response;
    }

    private static JsonObject ParseApplyBody(ApiRequest req)
    {
        var text = Encoding.UTF8.GetString(req.Body);
        var docs = Json.ParseYamlDocuments(text);
        return docs.FirstOrDefault() as JsonObject ?? throw ApiException.BadRequest("error decoding YAML: the apply body is not an object");
    }

    /// <summary>The heart of update and patch: preconditions, system fields, schema, generation, no-op detection, commit.</summary>
    public JsonObject CommitUpdate(ResourceType rt, JsonObject current, JsonObject proposed, string subresource, string? fieldValidation, bool dryRun, List<string> warnings)
    {
        var currentMeta = current.Obj("metadata");
        var name = currentMeta.Str("name") ?? "";
        var proposedRv = proposed["metadata"].Str("resourceVersion");
        if (!string.IsNullOrEmpty(proposedRv) && proposedRv != currentMeta.Str("resourceVersion"))
        {
            throw ApiException.Conflict(rt, name, "the object has been modified; please apply your changes to the latest version and try again");
        }

        var errors = new List<FieldError>();
        JsonObject next;
        if (subresource == "status")
        {
            // Only status changes through /status; everything else keeps its stored value.
            next = (JsonObject)current.DeepClone();
            if (proposed["status"] is { } status)
            {
                next["status"] = status.DeepClone();
            }
            else
            {
                next.Remove("status");
            }

            ProcessSchema(rt, next, fieldValidation, warnings, errors);
        }
        else
        {
            next = proposed;
            ProcessSchema(rt, next, fieldValidation, warnings, errors);
            if (rt.ValidateSchema && rt.Schema is not null)
            {
                SchemaProcessor.CheckTransitions(next, current, rt.Schema, "", errors);
            }

            var meta = next.Obj("metadata");
            foreach (var field in new[] { "name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "resourceVersion" })
            {
                if (currentMeta[field] is { } value)
                {
                    meta[field] = value.DeepClone();
                }
                else
                {
                    meta.Remove(field);
                }
            }

            meta.Remove("selfLink");
            meta.Remove("managedFields");
            if (rt.HasStatusSubresource)
            {
                if (current["status"] is { } status)
                {
                    next["status"] = status.DeepClone();
                }
                else
                {
                    next.Remove("status");
                }
            }
        }

        ValidateMetadata(rt, next, errors, isCreate: false);
        if (currentMeta.Str("deletionTimestamp") is not null)
        {
            var before = Finalizers(current);
            var added = Finalizers(next).Where(f => !before.Contains(f)).ToList();
            if (added.Count > 0)
            {
                errors.Add(FieldError.Forbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted, found new finalizers []string{" + string.Join(", ", added.Select(Json.GoQuote)) + "}"));
            }
        }

        KindRules.OnWrite(this, rt, next, current, errors);
        if (errors.Count > 0)
        {
            throw ApiException.Invalid(rt, name, errors);
        }

        Normalize(rt, next);
        if (rt.HasGeneration && !JsonNode.DeepEquals(NonMetadata(rt, next), NonMetadata(rt, current)))
        {
            next.Obj("metadata")["generation"] = (currentMeta["generation"].AsLong() ?? 0) + 1;
        }

        if (JsonNode.DeepEquals(next, current) || dryRun)
        {
            return next;
        }

        if (currentMeta.Str("deletionTimestamp") is not null && Finalizers(next).Count == 0)
        {
            RemoveObject(rt, next);
            return next;
        }

        next.Obj("metadata")["resourceVersion"] = store.NextRv().ToString(CultureInfo.InvariantCulture);
        store.Put(rt.StorageKey, ToStorage(rt, next), ToStorage(rt, current));
        KindRules.AfterUpdate(this, rt, next);
        return next;
    }

    private static List<string> Finalizers(JsonObject o) =>
        [.. (o["metadata"]?["finalizers"] as JsonArray ?? []).Select(f => f.AsString()).OfType<string>()];

    private static JsonObject NonMetadata(ResourceType rt, JsonObject o)
    {
        var copy = (JsonObject)o.DeepClone();
        copy.Remove("metadata");
        copy.Remove("apiVersion");
        copy.Remove("kind");
        if (rt.HasStatusSubresource)
        {
            copy.Remove("status");
        }

        return copy;
    }

    // ---------------------------------------------------------------- delete

    private ApiResponse Delete(ApiRequest req, RequestInfo info, ResourceType rt)
    {
        var options = req.Body.Length > 0 ? ParseJson(req.Body) as JsonObject ?? [] : [];
        var dryRun = req.Q("dryRun") == "All" || (options["dryRun"] as JsonArray)?.Any(d => d.AsString() == "All") == true;
        JsonObject result;
        bool deleted;
        lock (store.Gate)
        {
            var stored = store.Get(rt.StorageKey, info.Namespace, info.Name) ?? throw ApiException.NotFound(rt, info.Name);
            var current = Served(rt, stored);
            var meta = current["metadata"];
            if (options["preconditions"]?.Str("uid") is { Length: > 0 } uid && uid != meta.Str("uid"))
            {
                throw ApiException.Conflict(rt, info.Name, $"Precondition failed: UID in precondition: {uid}, UID in object meta: {meta.Str("uid")}");
            }

            if (options["preconditions"]?.Str("resourceVersion") is { Length: > 0 } rv && rv != meta.Str("resourceVersion"))
            {
                throw ApiException.Conflict(rt, info.Name, $"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {meta.Str("resourceVersion")}");
            }

            (result, deleted) = DeleteObject(rt, current, dryRun);
        }

        if (deleted && !rt.IsCustom && rt.Plural != "namespaces")
        {
            var details = new JsonObject { ["name"] = info.Name };
            if (rt.Group.Length > 0)
            {
                details["group"] = rt.Group;
            }

            details["kind"] = rt.Plural;
            details["uid"] = result["metadata"].Str("uid");
            return new ApiResponse(200, new JsonObject
            {
                ["kind"] = "Status",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject(),
                ["status"] = "Success",
                ["details"] = details,
            });
        }

        return new ApiResponse(200, Output.Single(rt, result, req.Accept, Now, req.Q("includeObject")));
    }

    private ApiResponse DeleteCollection(ApiRequest req, RequestInfo info, ResourceType rt)
    {
        var labels = Selectors.Labels(req.Q("labelSelector"));
        var fields = Selectors.Fields(req.Q("fieldSelector"), rt);
        var dryRun = req.Q("dryRun") == "All";
        var results = new List<JsonObject>();
        lock (store.Gate)
        {
            var items = store.List(rt.StorageKey, rt.Namespaced && info.Namespace.Length > 0 ? info.Namespace : null)
                .Select(o => Served(rt, o)).Where(o => labels(o) && fields(o)).ToList();
            foreach (var item in items)
            {
                results.Add(DeleteObject(rt, item, dryRun).Result);
            }
        }

        return new ApiResponse(200, Output.List(rt, results, store.CurrentRv.ToString(CultureInfo.InvariantCulture), null, null, "", Now, null));
    }

    /// <summary>Deletes now, or marks for deletion while finalizers remain. Returns the object and whether it is gone.</summary>
    public (JsonObject Result, bool Deleted) DeleteObject(ResourceType rt, JsonObject current, bool dryRun)
    {
        var meta = current.Obj("metadata");
        if (rt.Plural == "namespaces" && rt.Group.Length == 0)
        {
            return (dryRun ? current : KindRules.TerminateNamespace(this, current), false);
        }

        if (Finalizers(current).Count > 0)
        {
            if (meta.Str("deletionTimestamp") is not null || dryRun)
            {
                return (current, false);
            }

            var next = (JsonObject)current.DeepClone();
            var nextMeta = next.Obj("metadata");
            nextMeta["deletionTimestamp"] = Json.Timestamp(Now);
            nextMeta["deletionGracePeriodSeconds"] = 0;
            if (rt.HasGeneration)
            {
                nextMeta["generation"] = (meta["generation"].AsLong() ?? 0) + 1;
            }

            nextMeta["resourceVersion"] = store.NextRv().ToString(CultureInfo.InvariantCulture);
            store.Put(rt.StorageKey, ToStorage(rt, next), ToStorage(rt, current));
            return (next, false);
        }

        if (dryRun)
        {
            return (current, true);
        }

        var final = (JsonObject)current.DeepClone();
        RemoveObject(rt, final);
        return (final, true);
    }

    /// <summary>Removes an object for good (with a fresh resourceVersion on the DELETED event) and runs what follows.</summary>
    public void RemoveObject(ResourceType rt, JsonObject final)
    {
        final.Obj("metadata")["resourceVersion"] = store.NextRv().ToString(CultureInfo.InvariantCulture);
        store.Remove(rt.StorageKey, ToStorage(rt, final));
        KindRules.AfterDelete(this, rt, final);
    }

    // ---------------------------------------------------------------- helpers

    public static JsonObject Served(ResourceType rt, JsonObject stored)
    {
        var served = rt.Converter?.FromStorage(stored) ?? (JsonObject)stored.DeepClone();
        Normalize(rt, served);
        return served;
    }

    private static JsonObject ToStorage(ResourceType rt, JsonObject served) =>
        rt.Converter?.ToStorage(served) ?? (JsonObject)served.DeepClone();

    /// <summary>apiVersion and kind first, as the real server writes them.</summary>
    private static void Normalize(ResourceType rt, JsonObject o)
    {
        var entries = o.Where(p => p.Key is not "apiVersion" and not "kind").Select(p => (p.Key, p.Value)).ToList();
        o.Clear();
        o["apiVersion"] = rt.ApiVersion;
        o["kind"] = rt.Kind;
        foreach (var (k, v) in entries)
        {
            o[k] = v;
        }
    }

    private static JsonNode? ParseJson(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("error decoding patch: " + e.Message);
        }
    }

    private static JsonObject ParseBody(ApiRequest req, ResourceType rt)
    {
        try
        {
            if (req.ContentType.Contains("yaml", StringComparison.OrdinalIgnoreCase))
            {
                return Json.ParseYamlDocuments(Encoding.UTF8.GetString(req.Body)).FirstOrDefault() as JsonObject
                       ?? throw ApiException.BadRequest("Object 'Kind' is missing in 'null'");
            }

            return Json.ParseObject(req.Body);
        }
        catch (Exception e) when (e is JsonException or YamlDotNet.Core.YamlException)
        {
            throw ApiException.BadRequest($"{rt.Kind} in version \"{rt.Version}\" cannot be handled as a {rt.Kind}: {e.Message}");
        }
    }

    private static void CheckKind(ResourceType rt, JsonObject obj)
    {
        if (obj.Str("apiVersion") is { Length: > 0 } apiVersion && apiVersion != rt.ApiVersion)
        {
            throw ApiException.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({rt.ApiVersion})");
        }

        if (obj.Str("kind") is { Length: > 0 } kind && kind != rt.Kind)
        {
            throw ApiException.BadRequest($"the kind in the data ({kind}) does not match the expected kind ({rt.Kind})");
        }
    }

    /// <summary>Pruning (unknown fields: Strict → 400, Warn → warnings), defaults and schema validation.</summary>
    private static void ProcessSchema(ResourceType rt, JsonObject obj, string? fieldValidation, List<string> warnings, List<FieldError> errors)
    {
        if (rt.Schema is null)
        {
            return;
        }

        var unknown = new List<string>();
        SchemaProcessor.Prune(obj, rt.Schema, "", unknown, rt.IsCustom ? SchemaProcessor.MetadataSchema : null);
        if (unknown.Count > 0)
        {
            switch (fieldValidation ?? "Warn")
            {
                case "Strict":
                    throw ApiException.BadRequest("strict decoding error: " + string.Join(", ", unknown.Select(u => $"unknown field {Json.GoQuote(u)}")));
                case "Ignore":
                    break;
                default:
                    warnings.AddRange(unknown.Select(u => $"unknown field {Json.GoQuote(u)}"));
                    break;
            }
        }

        if (rt.ValidateSchema)
        {
            SchemaProcessor.ApplyDefaults(obj, rt.Schema);
            SchemaProcessor.Validate(obj, rt.Schema, "", errors);
            return;
        }

        // Built-ins: the Go decoder refuses values of the wrong JSON type with 400.
        var typeErrors = new List<FieldError>();
        SchemaProcessor.Validate(obj, rt.Schema, "", typeErrors);
        if (typeErrors.Count > 0)
        {
            throw ApiException.BadRequest($"{rt.Kind} in version \"{rt.Version}\" cannot be handled as a {rt.Kind}: {typeErrors[0]}");
        }
    }

    private static void ValidateMetadata(ResourceType rt, JsonObject obj, List<FieldError> errors, bool isCreate)
    {
        var meta = obj["metadata"] as JsonObject;
        var name = meta.Str("name");
        if (string.IsNullOrEmpty(name))
        {
            errors.Insert(0, new FieldError("FieldValueRequired", "metadata.name", "Required value: name or generateName is required"));
            return;
        }

        _ = isCreate;
        var message = rt.Plural switch
        {
            "namespaces" => Names.DnsLabel(name),
            "roles" or "clusterroles" or "rolebindings" or "clusterrolebindings" => Names.PathSegment(name),
            _ => Names.DnsSubdomain(name),
        };
        if (message is not null)
        {
            errors.Insert(0, FieldError.Invalid("metadata.name", JsonValue.Create(name), message));
        }

        foreach (var (key, value) in meta?["labels"] as JsonObject ?? [])
        {
            if (Names.LabelKey(key) is { } keyError)
            {
                errors.Add(FieldError.Invalid("metadata.labels", JsonValue.Create(key), keyError));
            }

            if (value.AsString() is { } v && Names.LabelValue(v) is { } valueError)
            {
                errors.Add(FieldError.Invalid($"metadata.labels", JsonValue.Create(v), valueError));
            }
        }
    }
}
