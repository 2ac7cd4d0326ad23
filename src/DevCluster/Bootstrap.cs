using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>The state a fresh cluster has (namespaces, bootstrap RBAC) and server-side apply of manifests at start.</summary>
internal static class Bootstrap
{
    public static void Seed(ApiCore core, IReadOnlyList<string> namespaces)
    {
        var nsType = core.Registry.Find("", "v1", "namespaces")!;
        foreach (var ns in namespaces)
        {
            core.CreateObject(nsType, "", new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } }, "Strict", false, []);
        }

        var clusterRole = core.Registry.Find("rbac.authorization.k8s.io", "v1", "clusterroles")!;
        var binding = core.Registry.Find("rbac.authorization.k8s.io", "v1", "clusterrolebindings")!;
        JsonObject Rule(string[] verbs, string[] groups, string[] resources) => new()
        {
            ["verbs"] = Array(verbs),
            ["apiGroups"] = Array(groups),
            ["resources"] = Array(resources),
        };
        var roles = new (string Name, JsonObject[] Rules)[]
        {
            ("cluster-admin",
            [
                Rule(["*"], ["*"], ["*"]),
                new JsonObject { ["verbs"] = Array(["*"]), ["nonResourceURLs"] = Array(["*"]) },
            ]),
            ("system:auth-delegator",
            [
                Rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                Rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
            ]),
            ("view",
            [
                Rule(["get", "list", "watch"], [""], ["configmaps", "events", "namespaces", "serviceaccounts"]),
                Rule(["get", "list", "watch"], ["apps"], ["deployments", "statefulsets", "daemonsets"]),
                Rule(["get", "list", "watch"], ["events.k8s.io"], ["events"]),
            ]),
            ("edit",
            [
                Rule(["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"], [""], ["configmaps", "secrets", "serviceaccounts", "events"]),
                Rule(["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"], ["apps"], ["deployments", "statefulsets", "daemonsets"]),
                Rule(["create"], [""], ["serviceaccounts/token"]),
            ]),
        };
        foreach (var (name, rules) in roles)
        {
            core.CreateObject(clusterRole, "", new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["kubernetes.io/bootstrapping"] = "rbac-defaults" } },
                ["rules"] = new JsonArray([.. rules]),
            }, "Strict", false, []);
        }

        core.CreateObject(binding, "", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "cluster-admin", ["labels"] = new JsonObject { ["kubernetes.io/bootstrapping"] = "rbac-defaults" } },
            ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = "cluster-admin" },
            ["subjects"] = new JsonArray(new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "Group", ["name"] = "system:masters" }),
        }, "Strict", false, []);
    }

    private static JsonArray Array(string[] values) => new([.. values.Select(v => (JsonNode?)JsonValue.Create(v))]);

    /// <summary>Creates or updates a manifest as kubectl apply would (recording last-applied-configuration).</summary>
    public static void Apply(ApiCore core, JsonObject manifest)
    {
        var rt = core.Registry.FindByKind(manifest.Str("apiVersion") ?? "", manifest.Str("kind") ?? "")
                 ?? throw new InvalidOperationException($"no resource for {manifest.Str("apiVersion")} {manifest.Str("kind")}");
        var ns = rt.Namespaced ? manifest["metadata"].Str("namespace") ?? "default" : "";
        var desired = (JsonObject)manifest.DeepClone();
        desired.Obj("metadata").Obj("annotations")["kubectl.kubernetes.io/last-applied-configuration"] = Json.Serialize(manifest) + "\n";
        lock (core.Store.Gate)
        {
            var existing = core.Store.Get(rt.StorageKey, ns, manifest["metadata"].Str("name") ?? "");
            if (existing is null)
            {
                core.CreateObject(rt, ns, desired, "Strict", false, []);
            }
            else
            {
                core.CommitUpdate(rt, ApiCore.Served(rt, existing), desired, "", "Strict", false, []);
            }
        }
    }
}
