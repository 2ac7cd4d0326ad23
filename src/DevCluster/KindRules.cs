using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>
/// What individual built-in kinds add to the generic semantics: Secret stringData and immutable type, config
/// keys, namespace lifecycle (Terminating, content deletion, the default ServiceAccount), workload defaults, and
/// CustomResourceDefinitions (serving their kinds once stored, removing them with their objects).
/// </summary>
internal static class KindRules
{
    public static void OnWrite(ApiCore core, ResourceType rt, JsonObject obj, JsonObject? old, List<FieldError> errors)
    {
        if (rt.IsCustom)
        {
            return;
        }

        switch (rt.Group, rt.Plural)
        {
            case ("", "secrets"):
                Secret(obj, old, errors);
                break;
            case ("", "configmaps"):
                CheckKeys(obj, "data", errors);
                CheckKeys(obj, "binaryData", errors);
                break;
            case ("", "namespaces"):
                Namespace(obj, old);
                break;
            case ("apps", _):
                Workload(obj, rt.Plural);
                break;
            case ("apiextensions.k8s.io", "customresourcedefinitions"):
                Crd(core, obj, old, errors);
                break;
        }
    }

    private static void Secret(JsonObject obj, JsonObject? old, List<FieldError> errors)
    {
        if (obj["stringData"] is JsonObject stringData)
        {
            var data = obj.Obj("data");
            foreach (var (key, value) in stringData)
            {
                data[key] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value.AsString() ?? ""));
            }

            obj.Remove("stringData");
        }

        if (string.IsNullOrEmpty(obj.Str("type")))
        {
            obj["type"] = "Opaque";
        }

        CheckKeys(obj, "data", errors);
        if (old is not null && old.Str("type") != obj.Str("type"))
        {
            errors.Add(FieldError.Invalid("type", JsonValue.Create(obj.Str("type")), "field is immutable"));
        }
    }

    private static void CheckKeys(JsonObject obj, string field, List<FieldError> errors)
    {
        foreach (var (key, _) in obj[field] as JsonObject ?? [])
        {
            if (Names.ConfigKey(key) is { } message)
            {
                errors.Add(FieldError.Invalid($"{field}[{key}]", JsonValue.Create(key), message));
            }
        }
    }

    private static void Namespace(JsonObject obj, JsonObject? old)
    {
        var name = obj["metadata"].Str("name") ?? "";
        obj.Obj("metadata").Obj("labels")["kubernetes.io/metadata.name"] = name;
        if (old is null)
        {
            obj.Obj("spec")["finalizers"] = new JsonArray("kubernetes");
            obj["status"] = new JsonObject { ["phase"] = "Active" };
        }
    }

    private static void Workload(JsonObject obj, string plural)
    {
        var spec = obj.Obj("spec");
        if (plural is "deployments" or "statefulsets")
        {
            spec["replicas"] ??= 1;
        }

        spec["revisionHistoryLimit"] ??= 10;
        if (plural == "deployments")
        {
            spec["progressDeadlineSeconds"] ??= 600;
            var strategy = spec.Obj("strategy");
            strategy["type"] ??= "RollingUpdate";
            if (strategy.Str("type") == "RollingUpdate")
            {
                var rolling = strategy.Obj("rollingUpdate");
                rolling["maxUnavailable"] ??= "25%";
                rolling["maxSurge"] ??= "25%";
            }
        }

        if (spec["template"]?["spec"] is JsonObject podSpec)
        {
            podSpec["restartPolicy"] ??= "Always";
            podSpec["terminationGracePeriodSeconds"] ??= 30;
            podSpec["dnsPolicy"] ??= "ClusterFirst";
            podSpec["schedulerName"] ??= "default-scheduler";
            podSpec["securityContext"] ??= new JsonObject();
        }
    }

    private static void Crd(ApiCore core, JsonObject obj, JsonObject? old, List<FieldError> errors)
    {
        var spec = obj.Obj("spec");
        var names = spec.Obj("names");
        var group = spec.Str("group") ?? "";
        var plural = names.Str("plural") ?? "";
        var kind = names.Str("kind") ?? "";
        names["singular"] ??= kind.ToLowerInvariant();
        names["listKind"] ??= kind + "List";
        spec["conversion"] ??= new JsonObject { ["strategy"] = "None" };
        var name = obj["metadata"].Str("name") ?? "";
        if (name != plural + "." + group)
        {
            errors.Add(FieldError.Invalid("metadata.name", JsonValue.Create(name), "must be spec.names.plural+\".\"+spec.group"));
        }

        if (old is not null && old["spec"].Str("group") != group)
        {
            errors.Add(FieldError.Invalid("spec.group", JsonValue.Create(group), "field is immutable"));
        }

        try
        {
            _ = ResourceRegistry.FromCrd(obj);
        }
        catch (ArgumentException e)
        {
            errors.Add(FieldError.Invalid("spec.versions[0].schema.openAPIV3Schema", null, e.Message));
        }

        var now = Json.Timestamp(core.Now);
        var storage = (spec["versions"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(v => v["storage"].AsBool() == true)?.Str("name");
        var previous = old?["status"]?["conditions"] as JsonArray;
        string Since(string type) => previous?.OfType<JsonObject>().FirstOrDefault(c => c.Str("type") == type)?.Str("lastTransitionTime") ?? now;
        obj["status"] = new JsonObject
        {
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "NamesAccepted", ["status"] = "True", ["lastTransitionTime"] = Since("NamesAccepted"), ["reason"] = "NoConflicts", ["message"] = "no conflicts found" },
                new JsonObject { ["type"] = "Established", ["status"] = "True", ["lastTransitionTime"] = Since("Established"), ["reason"] = "InitialNamesAccepted", ["message"] = "the initial names have been accepted" }),
            ["acceptedNames"] = names.DeepClone(),
            ["storedVersions"] = new JsonArray([.. ((old?["status"]?["storedVersions"] as JsonArray)?.Select(v => v.AsString()) ?? []).Append(storage).Distinct().OfType<string>().Select(v => (JsonNode?)JsonValue.Create(v))]),
        };
    }

    public static void AfterCreate(ApiCore core, ResourceType rt, JsonObject obj)
    {
        if (rt.IsCustom)
        {
            return;
        }

        switch (rt.Group, rt.Plural)
        {
            case ("", "namespaces"):
                // The ServiceAccount controller gives every namespace its "default" ServiceAccount.
                var sa = core.Registry.Find("", "v1", "serviceaccounts")!;
                var name = obj["metadata"].Str("name")!;
                if (core.Store.Get(sa.StorageKey, name, "default") is null)
                {
                    core.CreateObject(sa, name, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "default" } }, "Ignore", false, []);
                }

                break;
            case ("apiextensions.k8s.io", "customresourcedefinitions"):
                core.Registry.Register(obj);
                break;
        }
    }

    public static void AfterUpdate(ApiCore core, ResourceType rt, JsonObject obj)
    {
        if (!rt.IsCustom && rt.Plural == "customresourcedefinitions")
        {
            core.Registry.Register(obj);
        }
    }

    public static void AfterDelete(ApiCore core, ResourceType rt, JsonObject final)
    {
        if (!rt.IsCustom && rt.Plural == "customresourcedefinitions")
        {
            var name = final["metadata"].Str("name")!;
            var served = core.Registry.All.FirstOrDefault(t => t.IsCustom && t.StorageKey == name);
            if (served is not null)
            {
                foreach (var item in core.Store.List(name, null).ToList())
                {
                    core.RemoveObject(served, ApiCore.Served(served, item));
                }
            }

            core.Registry.Unregister(name);
            return;
        }

        if (rt.Namespaced && final["metadata"].Str("namespace") is { } ns)
        {
            TryFinalizeNamespace(core, ns);
        }
    }

    /// <summary>Namespace deletion: Terminating, its content deleted (finalizers respected), gone once empty.</summary>
    public static JsonObject TerminateNamespace(ApiCore core, JsonObject current)
    {
        var nsType = core.Registry.Find("", "v1", "namespaces")!;
        var name = current["metadata"].Str("name")!;
        if (current["metadata"].Str("deletionTimestamp") is null)
        {
            var next = (JsonObject)current.DeepClone();
            next.Obj("metadata")["deletionTimestamp"] = Json.Timestamp(core.Now);
            next.Obj("metadata")["deletionGracePeriodSeconds"] = 0;
            next.Obj("status")["phase"] = "Terminating";
            next.Obj("metadata")["resourceVersion"] = core.Store.NextRv().ToString(CultureInfo.InvariantCulture);
            core.Store.Put(nsType.StorageKey, next, current);
            foreach (var key in core.Store.StorageKeys)
            {
                var rt = core.Registry.All.FirstOrDefault(t => t.StorageKey == key && t.Converter is null && t.Namespaced);
                if (rt is null)
                {
                    continue;
                }

                foreach (var item in core.Store.List(key, name))
                {
                    core.DeleteObject(rt, ApiCore.Served(rt, item), false);
                }
            }
        }

        TryFinalizeNamespace(core, name);
        var latest = core.Store.Get(nsType.StorageKey, "", name);
        return latest is null ? current : ApiCore.Served(nsType, latest);
    }

    private static void TryFinalizeNamespace(ApiCore core, string ns)
    {
        var nsType = core.Registry.Find("", "v1", "namespaces")!;
        var nsObj = core.Store.Get(nsType.StorageKey, "", ns);
        if (nsObj is null || nsObj["metadata"].Str("deletionTimestamp") is null || core.Store.AnyInNamespace(ns))
        {
            return;
        }

        var final = ApiCore.Served(nsType, nsObj);
        final.Obj("spec")["finalizers"] = new JsonArray();
        final.Obj("metadata")["resourceVersion"] = core.Store.NextRv().ToString(CultureInfo.InvariantCulture);
        core.Store.Remove(nsType.StorageKey, final);
    }
}
