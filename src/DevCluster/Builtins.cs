using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;

namespace Notary.DevCluster;

/// <summary>The built-in kinds: which exist, their discovery facts and their kubectl get columns.</summary>
internal static class Builtins
{
    private const string AgeDescription = "CreationTimestamp is a timestamp representing the server time when this object was created.";

    public static PrinterColumn NameColumn(string description) =>
        new("Name", "string", "name", description, 0, (o, _) => JsonValue.Create(o["metadata"].Str("name")));

    private static readonly PrinterColumn Name = NameColumn("Name must be unique within a namespace.");

    private static readonly PrinterColumn Age = new("Age", "string", "", AgeDescription, 0, (o, now) => AgeOf(o, now));

    private static readonly PrinterColumn CreatedAt = new("Created At", "date", "", AgeDescription, 0, (o, _) => JsonValue.Create(o["metadata"].Str("creationTimestamp")));

    public static JsonNode? AgeOf(JsonObject o, DateTimeOffset now) =>
        o["metadata"].Str("creationTimestamp") is { } created && DateTimeOffset.TryParse(created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? JsonValue.Create(Json.HumanDuration(now - t))
            : JsonValue.Create("<unknown>");

    private static PrinterColumn Col(string name, Func<JsonObject, JsonNode?> cell, int priority = 0, string type = "string") =>
        new(name, type, "", name, priority, (o, _) => cell(o));

    private static int CountOf(JsonNode? node) => node switch
    {
        JsonObject o => o.Count,
        JsonArray a => a.Count,
        _ => 0,
    };

    private static JsonValue? Int(JsonNode? n) => JsonValue.Create(n.AsLong() ?? 0);

    private static string Ready(JsonObject o, string ready, string desired) =>
        $"{o["status"]?[ready].AsLong() ?? 0}/{o["spec"]?[desired].AsLong() ?? o["status"]?[desired].AsLong() ?? 0}";

    private static JsonValue? Containers(JsonObject o, string field) =>
        JsonValue.Create(string.Join(",", (o["spec"]?["template"]?["spec"]?["containers"] as JsonArray ?? []).Select(c => c.Str(field))));

    private static JsonValue? Subjects(JsonObject o, string kind) =>
        JsonValue.Create(string.Join(", ", (o["subjects"] as JsonArray ?? []).Where(s => s.Str("kind") == kind)
            .Select(s => kind == "ServiceAccount" ? s.Str("namespace") + "/" + s.Str("name") : s.Str("name"))));

    private static ResourceType Make<T>(string plural, bool namespaced, string[]? shortNames = null, string[]? subresources = null,
        IReadOnlyList<PrinterColumn>? columns = null, bool generation = false, string[]? categories = null, IObjectConverter? converter = null,
        string? storage = null, bool isVirtual = false)
    {
        var entity = (KubernetesEntityAttribute)Attribute.GetCustomAttribute(typeof(T), typeof(KubernetesEntityAttribute))!;
        return new ResourceType
        {
            Group = entity.Group,
            Version = entity.ApiVersion,
            Kind = entity.Kind,
            Plural = plural,
            Singular = entity.Kind.ToLowerInvariant(),
            Namespaced = namespaced,
            ShortNames = shortNames ?? [],
            Subresources = subresources ?? [],
            Columns = columns ?? [Name, Age],
            HasGeneration = generation,
            Categories = categories ?? [],
            Converter = converter,
            StorageKeyOverride = storage,
            IsVirtual = isVirtual,
            Verbs = isVirtual ? ResourceType.CreateOnly : ResourceType.StandardVerbs,
            Schema = ModelSchemas.For(typeof(T)),
            ModelType = typeof(T),
        };
    }

    public static IReadOnlyList<ResourceType> Create()
    {
        IReadOnlyList<PrinterColumn> eventColumns =
        [
            new("Last Seen", "string", "", "Time since the event was last observed.", 0, (o, now) => EventLastSeen(o, now)),
            Col("Type", o => JsonValue.Create(o.Str("type"))),
            Col("Reason", o => JsonValue.Create(o.Str("reason"))),
            Col("Object", o => JsonValue.Create((o["involvedObject"].Str("kind") ?? "").ToLowerInvariant() + "/" + o["involvedObject"].Str("name"))),
            Col("Message", o => JsonValue.Create(o.Str("message"))),
        ];
        var all = new[] { "all" };
        return
        [
            Make<V1Namespace>("namespaces", false, ["ns"], ["finalize", "status"], [Name, Col("Status", o => JsonValue.Create(o["status"].Str("phase"))), Age]),
            Make<V1Secret>("secrets", true, columns: [Name, Col("Type", o => JsonValue.Create(o.Str("type"))), Col("Data", o => JsonValue.Create(CountOf(o["data"])), type: "integer"), Age]),
            Make<V1ConfigMap>("configmaps", true, ["cm"], columns: [Name, Col("Data", o => JsonValue.Create(CountOf(o["data"]) + CountOf(o["binaryData"])), type: "integer"), Age]),
            Make<V1ServiceAccount>("serviceaccounts", true, ["sa"], ["token"], [Name, Col("Secrets", o => JsonValue.Create(CountOf(o["secrets"])), type: "integer"), Age]),
            Make<Corev1Event>("events", true, ["ev"], columns: eventColumns),
            Make<Eventsv1Event>("events", true, ["ev"], columns: eventColumns, converter: new EventConverter(), storage: "events"),
            Make<V1Lease>("leases", true, columns: [Name, Col("Holder", o => JsonValue.Create(o["spec"].Str("holderIdentity") ?? "")), Age]),
            // Stored objects only (nothing schedules or runs them): Orleans' Kubernetes hosting reads,
            // lists and watches the silos' pods, and tests give it pods to see.
            Make<V1Pod>("pods", true, ["po"], ["status"], columns: [Name, Col("Status", o => JsonValue.Create(o["status"].Str("phase") ?? "")), Age]),
            Make<V1Deployment>("deployments", true, ["deploy"], ["scale", "status"], generation: true, categories: all, columns:
            [
                Name, Col("Ready", o => JsonValue.Create(Ready(o, "readyReplicas", "replicas"))), Col("Up-to-date", o => Int(o["status"]?["updatedReplicas"]), type: "integer"),
                Col("Available", o => Int(o["status"]?["availableReplicas"]), type: "integer"), Age,
                Col("Containers", o => Containers(o, "name"), 1), Col("Images", o => Containers(o, "image"), 1),
            ]),
            Make<V1StatefulSet>("statefulsets", true, ["sts"], ["scale", "status"], generation: true, categories: all, columns:
            [
                Name, Col("Ready", o => JsonValue.Create(Ready(o, "readyReplicas", "replicas"))), Age,
                Col("Containers", o => Containers(o, "name"), 1), Col("Images", o => Containers(o, "image"), 1),
            ]),
            Make<V1DaemonSet>("daemonsets", true, ["ds"], ["status"], generation: true, categories: all, columns:
            [
                Name, Col("Desired", o => Int(o["status"]?["desiredNumberScheduled"]), type: "integer"), Col("Current", o => Int(o["status"]?["currentNumberScheduled"]), type: "integer"),
                Col("Ready", o => Int(o["status"]?["numberReady"]), type: "integer"), Col("Up-to-date", o => Int(o["status"]?["updatedNumberScheduled"]), type: "integer"),
                Col("Available", o => Int(o["status"]?["numberAvailable"]), type: "integer"),
                Col("Node Selector", o => JsonValue.Create(o["spec"]?["template"]?["spec"]?["nodeSelector"] is JsonObject ns && ns.Count > 0 ? string.Join(",", ns.Select(p => p.Key + "=" + p.Value.AsString())) : "<none>")), Age,
            ]),
            Make<V1Role>("roles", true, columns: [Name, CreatedAt]),
            Make<V1RoleBinding>("rolebindings", true, columns:
            [
                Name, Col("Role", o => JsonValue.Create(o["roleRef"].Str("kind") + "/" + o["roleRef"].Str("name"))), Age,
                Col("Users", o => Subjects(o, "User"), 1), Col("Groups", o => Subjects(o, "Group"), 1), Col("ServiceAccounts", o => Subjects(o, "ServiceAccount"), 1),
            ]),
            Make<V1ClusterRole>("clusterroles", false, columns: [Name, CreatedAt]),
            Make<V1ClusterRoleBinding>("clusterrolebindings", false, columns:
            [
                Name, Col("Role", o => JsonValue.Create(o["roleRef"].Str("kind") + "/" + o["roleRef"].Str("name"))), Age,
                Col("Users", o => Subjects(o, "User"), 1), Col("Groups", o => Subjects(o, "Group"), 1), Col("ServiceAccounts", o => Subjects(o, "ServiceAccount"), 1),
            ]),
            Make<V1TokenReview>("tokenreviews", false, isVirtual: true),
            Make<V1SelfSubjectReview>("selfsubjectreviews", false, isVirtual: true),
            Make<V1SubjectAccessReview>("subjectaccessreviews", false, isVirtual: true),
            Make<V1SelfSubjectAccessReview>("selfsubjectaccessreviews", false, isVirtual: true),
            Make<V1SelfSubjectRulesReview>("selfsubjectrulesreviews", false, isVirtual: true),
            Make<V1LocalSubjectAccessReview>("localsubjectaccessreviews", true, isVirtual: true),
            Make<V1CustomResourceDefinition>("customresourcedefinitions", false, ["crd", "crds"], ["status"], [Name, CreatedAt], generation: true, categories: ["api-extensions"]),
        ];
    }

    private static JsonValue? EventLastSeen(JsonObject o, DateTimeOffset now)
    {
        var text = o.Str("lastTimestamp") ?? o.Str("eventTime") ?? o.Str("firstTimestamp") ?? o["metadata"].Str("creationTimestamp");
        return text is not null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? JsonValue.Create(Json.HumanDuration(now - t))
            : JsonValue.Create("<unknown>");
    }
}

/// <summary>events.k8s.io/v1 Events are stored as core/v1 Events, as the real server converts them.</summary>
internal sealed class EventConverter : IObjectConverter
{
    private static readonly (string Core, string Events)[] Renames =
    [
        ("involvedObject", "regarding"),
        ("message", "note"),
        ("reportingComponent", "reportingController"),
        ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
    ];

    public JsonObject FromStorage(JsonObject stored)
    {
        var result = new JsonObject();
        foreach (var (key, value) in stored)
        {
            var renamed = Renames.FirstOrDefault(r => r.Core == key).Events ?? key;
            result[renamed] = value?.DeepClone();
        }

        if (result["series"] is JsonObject series && series["lastObservedTime"] is null && stored.Str("lastTimestamp") is { } last)
        {
            series["lastObservedTime"] = last;
        }

        result["apiVersion"] = "events.k8s.io/v1";
        result["kind"] = "Event";
        return result;
    }

    public JsonObject ToStorage(JsonObject served)
    {
        var result = new JsonObject();
        foreach (var (key, value) in served)
        {
            var renamed = Renames.FirstOrDefault(r => r.Events == key).Core ?? key;
            result[renamed] = value?.DeepClone();
        }

        if (result["source"] is null && result.Str("reportingComponent") is { } component)
        {
            result["source"] = new JsonObject { ["component"] = component };
        }

        result["apiVersion"] = "v1";
        result["kind"] = "Event";
        return result;
    }
}
