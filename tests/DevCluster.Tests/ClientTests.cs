using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Notary.DevCluster.Tests;

/// <summary>DevCluster driven by KubernetesClient, the library Notary's watcher and adapters use.</summary>
[Collection("client")]
[Trait("Category", "Slow")]
public sealed class ClientTests(ClientFixture fx)
{
    private const string Group = "notary.dev";
    private const string Version = "v1alpha1";
    private const string Certs = "certificates";

    private static JsonObject Cert(string name, string type = "Private", string fqdn = "svc.example.com") => new()
    {
        ["apiVersion"] = "notary.dev/v1alpha1",
        ["kind"] = "Certificate",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject { ["type"] = type, ["fqdn"] = fqdn },
    };

    private static JsonObject Node(object o) => JsonSerializer.SerializeToNode(o)!.AsObject();

    private async Task<JsonObject> CreateCertAsync(string ns, JsonObject body) =>
        Node(await fx.Client.CustomObjects.CreateNamespacedCustomObjectAsync(body, Group, Version, ns, Certs));

    private async Task<JsonObject> GetCertAsync(string ns, string name) =>
        Node(await fx.Client.CustomObjects.GetNamespacedCustomObjectAsync(Group, Version, ns, Certs, name));

    private Task<object> MergePatchAsync(string ns, string name, string patch) =>
        fx.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), Group, Version, ns, Certs, name);

    private static async Task<HttpOperationException> FailsAsync(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(call);
        return e;
    }

    [Fact]
    public async Task Create_sets_uid_creation_time_generation_and_resource_version()
    {
        var ns = await fx.NamespaceAsync();
        var created = await CreateCertAsync(ns, Cert("a"));
        var meta = created["metadata"]!;
        Assert.True(Guid.TryParse((string?)meta["uid"], out _));
        Assert.Equal(1, (long)meta["generation"]!);
        Assert.True(long.Parse((string)meta["resourceVersion"]!) > 0);
        Assert.NotNull((string?)meta["creationTimestamp"]);

        var list = Node(await fx.Client.CustomObjects.ListNamespacedCustomObjectAsync(Group, Version, ns, Certs));
        Assert.Equal("CertificateList", (string?)list["kind"]);
        Assert.Single(list["items"]!.AsArray());
        Assert.True(long.Parse((string)list["metadata"]!["resourceVersion"]!) >= long.Parse((string)meta["resourceVersion"]!));
    }

    [Fact]
    public async Task Generation_moves_on_spec_changes_only_and_resource_version_on_every_change()
    {
        var ns = await fx.NamespaceAsync();
        var created = await CreateCertAsync(ns, Cert("a"));
        var labelled = Node(await MergePatchAsync(ns, "a", """{"metadata":{"labels":{"team":"x"}}}"""));
        Assert.Equal(1, (long)labelled["metadata"]!["generation"]!);
        Assert.NotEqual((string?)created["metadata"]!["resourceVersion"], (string?)labelled["metadata"]!["resourceVersion"]);

        var changed = Node(await MergePatchAsync(ns, "a", """{"spec":{"fqdn":"other.example.com"}}"""));
        Assert.Equal(2, (long)changed["metadata"]!["generation"]!);

        var same = Node(await MergePatchAsync(ns, "a", """{"spec":{"fqdn":"other.example.com"}}"""));
        Assert.Equal((string?)changed["metadata"]!["resourceVersion"], (string?)same["metadata"]!["resourceVersion"]);
    }

    [Fact]
    public async Task Status_subresource_changes_only_status_and_main_endpoint_ignores_status()
    {
        var ns = await fx.NamespaceAsync();
        await CreateCertAsync(ns, Cert("a"));
        var current = await GetCertAsync(ns, "a");
        current["spec"]!["fqdn"] = "ignored.example.com";
        current["status"] = new JsonObject { ["arn"] = "urn:test", ["observedGeneration"] = 1 };
        var updated = Node(await fx.Client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(current, Group, Version, ns, Certs, "a"));
        Assert.Equal("urn:test", (string?)updated["status"]!["arn"]);
        Assert.Equal("svc.example.com", (string?)updated["spec"]!["fqdn"]);
        Assert.Equal(1, (long)updated["metadata"]!["generation"]!);

        var main = Node(await MergePatchAsync(ns, "a", """{"status":{"arn":"urn:other"},"spec":{"alt":["x.example.com"]}}"""));
        Assert.Equal("urn:test", (string?)main["status"]!["arn"]);
        Assert.Equal(2, (long)main["metadata"]!["generation"]!);
    }

    [Fact]
    public async Task Stale_resource_version_is_a_409_conflict()
    {
        var ns = await fx.NamespaceAsync();
        var created = await CreateCertAsync(ns, Cert("a"));
        await MergePatchAsync(ns, "a", """{"spec":{"fqdn":"b.example.com"}}""");
        created["spec"]!["fqdn"] = "c.example.com";
        var e = await FailsAsync(() => fx.Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(created, Group, Version, ns, Certs, "a"));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
        var status = JsonNode.Parse(e.Response.Content)!;
        Assert.Equal("Conflict", (string?)status["reason"]);
        Assert.Equal("Operation cannot be fulfilled on certificates.notary.dev \"a\": the object has been modified; please apply your changes to the latest version and try again", (string?)status["message"]);
    }

    [Fact]
    public async Task Finalizers_hold_deletion_until_removed()
    {
        var ns = await fx.NamespaceAsync();
        var body = Cert("a");
        body["metadata"]!["finalizers"] = new JsonArray("notary.dev/cleanup");
        await CreateCertAsync(ns, body);
        await fx.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, Version, ns, Certs, "a");
        var deleting = await GetCertAsync(ns, "a");
        Assert.NotNull((string?)deleting["metadata"]!["deletionTimestamp"]);
        Assert.Equal(0, (long)deleting["metadata"]!["deletionGracePeriodSeconds"]!);
        Assert.Equal(2, (long)deleting["metadata"]!["generation"]!);

        var e = await FailsAsync(() => MergePatchAsync(ns, "a", """{"metadata":{"finalizers":["notary.dev/cleanup","other"]}}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);

        await MergePatchAsync(ns, "a", """{"metadata":{"finalizers":null}}""");
        var gone = await FailsAsync(() => GetCertAsync(ns, "a"));
        Assert.Equal(HttpStatusCode.NotFound, gone.Response.StatusCode);
        Assert.Contains("certificates.notary.dev \\\"a\\\" not found", gone.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_violations_are_422_with_field_causes_and_defaults_and_pruning_apply()
    {
        var ns = await fx.NamespaceAsync();
        var bad = Cert("bad", type: "Mixed");
        ((JsonObject)bad["spec"]!).Remove("fqdn");
        var e = await FailsAsync(() => CreateCertAsync(ns, bad));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);
        var status = JsonNode.Parse(e.Response.Content)!;
        Assert.Equal("Invalid", (string?)status["reason"]);
        var causes = status["details"]!["causes"]!.AsArray().Select(c => ((string?)c!["field"], (string?)c["message"])).ToList();
        Assert.Contains(("spec.type", "Unsupported value: \"Mixed\": supported values: \"Public\", \"Private\""), causes);
        Assert.Contains(("spec.fqdn", "Required value"), causes);

        var ts = new JsonObject
        {
            ["apiVersion"] = "notary.dev/v1alpha1",
            ["kind"] = "Truststore",
            ["metadata"] = new JsonObject { ["name"] = "t" },
            ["spec"] = new JsonObject { ["fqdn"] = "a.example.com", ["certName"] = "a", ["upstream"] = new JsonArray(), ["downstream"] = new JsonArray(), ["extra"] = 1 },
        };
        var created = Node(await fx.Client.CustomObjects.CreateNamespacedCustomObjectAsync(ts, Group, Version, ns, "truststores", fieldValidation: "Ignore"));
        Assert.Equal("PKCS12", (string?)created["spec"]!["format"]);
        Assert.Equal("notary-metadata", (string?)created["spec"]!["metadataSecret"]);
        Assert.Null(created["spec"]!["extra"]);

        ts["metadata"]!["name"] = "t2";
        var strict = await FailsAsync(() => fx.Client.CustomObjects.CreateNamespacedCustomObjectAsync(ts, Group, Version, ns, "truststores", fieldValidation: "Strict"));
        Assert.Equal(HttpStatusCode.BadRequest, strict.Response.StatusCode);
        Assert.Contains("strict decoding error: unknown field \\\"spec.extra\\\"", strict.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Creating_in_a_missing_namespace_is_404()
    {
        var e = await FailsAsync(() => CreateCertAsync("no-such-ns", Cert("a")));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
        Assert.Contains("namespaces \\\"no-such-ns\\\" not found", e.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_resumes_from_a_resource_version_in_order()
    {
        var ns = await fx.NamespaceAsync();
        var a = await CreateCertAsync(ns, Cert("a"));
        var from = (string)a["metadata"]!["resourceVersion"]!;
        await CreateCertAsync(ns, Cert("b"));
        await MergePatchAsync(ns, "a", """{"spec":{"fqdn":"new.example.com"}}""");
        await fx.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, Version, ns, Certs, "b");

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var seen = new List<string>();
        await foreach (var (type, obj) in fx.Client.CustomObjects.WatchListNamespacedCustomObjectAsync(Group, Version, ns, Certs, resourceVersion: from, cancellationToken: cts.Token))
        {
            var node = Node(obj);
            seen.Add($"{type} {node["metadata"]!["name"]} {node["spec"]!["fqdn"]}");
            if (seen.Count == 3)
            {
                break;
            }
        }

        Assert.Equal(["Added b svc.example.com", "Modified a new.example.com", "Deleted b svc.example.com"], seen);
    }

    [Fact]
    public async Task Watches_with_different_selectors_each_get_their_own_event_type_for_the_same_change()
    {
        // One stored change reaches an unfiltered watch as MODIFIED and a selecting one as ADDED
        // or DELETED: the line serialized once per event must not leak from one to the other.
        var ns = await fx.NamespaceAsync();
        var a = await CreateCertAsync(ns, Cert("a"));
        var from = (string)a["metadata"]!["resourceVersion"]!;
        await MergePatchAsync(ns, "a", """{"metadata":{"labels":{"tier":"gold"}}}""");
        await MergePatchAsync(ns, "a", """{"metadata":{"labels":{"tier":null}},"spec":{"fqdn":"new.example.com"}}""");

        async Task<List<string>> SeenAsync(string? labelSelector)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var seen = new List<string>();
            await foreach (var (type, obj) in fx.Client.CustomObjects.WatchListNamespacedCustomObjectAsync(Group, Version, ns, Certs, labelSelector: labelSelector, resourceVersion: from, cancellationToken: cts.Token))
            {
                var node = Node(obj);
                seen.Add($"{type} {node["metadata"]!["labels"]?["tier"]} {node["spec"]!["fqdn"]}");
                if (seen.Count == 2)
                {
                    break;
                }
            }

            return seen;
        }

        Assert.Equal(["Modified gold svc.example.com", "Modified  new.example.com"], await SeenAsync(null));
        Assert.Equal(["Added gold svc.example.com", "Deleted gold svc.example.com"], await SeenAsync("tier=gold"));
        Assert.Equal(["Modified gold svc.example.com", "Modified  new.example.com"], await SeenAsync(null));
    }

    [Fact]
    public async Task Watch_without_resource_version_starts_with_synthetic_added_events()
    {
        var ns = await fx.NamespaceAsync();
        await CreateCertAsync(ns, Cert("a"));
        await CreateCertAsync(ns, Cert("b"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var seen = new List<string>();
        await foreach (var (type, obj) in fx.Client.CustomObjects.WatchListNamespacedCustomObjectAsync(Group, Version, ns, Certs, cancellationToken: cts.Token))
        {
            seen.Add($"{type} {Node(obj)["metadata"]!["name"]}");
            if (seen.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(["Added a", "Added b"], seen);
    }

    [Fact]
    public async Task Watch_from_a_compacted_resource_version_gets_410_expired()
    {
        var ns = await fx.NamespaceAsync();
        var a = await CreateCertAsync(ns, Cert("a"));
        await MergePatchAsync(ns, "a", """{"spec":{"fqdn":"new.example.com"}}""");
        fx.Server.Faults.CompactHistory();

        var errors = new List<Exception>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var _ in fx.Client.CustomObjects.WatchListNamespacedCustomObjectAsync(Group, Version, ns, Certs,
                           resourceVersion: (string)a["metadata"]!["resourceVersion"]!, onError: errors.Add, cancellationToken: cts.Token))
        {
            Assert.Fail("no event expected");
        }

        var error = Assert.IsType<KubernetesException>(Assert.Single(errors));
        Assert.Equal(410, error.Status.Code);
        Assert.Equal("Expired", error.Status.Reason);
        Assert.StartsWith("too old resource version: ", error.Status.Message, StringComparison.Ordinal);

        // A relist gives a resourceVersion that can be watched again.
        var list = await fx.Client.CoreV1.ListNamespacedSecretAsync(ns);
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "s" } }, ns);
        await foreach (var (type, secret) in fx.Client.CoreV1.WatchListNamespacedSecretAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            Assert.Equal((WatchEventType.Added, "s"), (type, secret.Metadata.Name));
            break;
        }
    }

    [Fact]
    public async Task Watch_with_bookmarks_receives_bookmarks_carrying_the_current_resource_version()
    {
        var ns = await fx.NamespaceAsync();
        var list = await fx.Client.CoreV1.ListNamespacedSecretAsync(ns);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var (type, secret) in fx.Client.CoreV1.WatchListNamespacedSecretAsync(ns, allowWatchBookmarks: true, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            Assert.Equal(WatchEventType.Bookmark, type);
            Assert.True(long.Parse(secret.Metadata.ResourceVersion) >= long.Parse(list.Metadata.ResourceVersion));
            break;
        }
    }

    [Fact]
    public async Task Secrets_merge_string_data_and_watch_filters_by_label()
    {
        var ns = await fx.NamespaceAsync();
        var list = await fx.Client.CoreV1.ListNamespacedSecretAsync(ns);
        await fx.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "plain" },
            StringData = new Dictionary<string, string> { ["k"] = "v" },
        }, ns);
        var created = await fx.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "meta", Labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "notary" } },
            Data = new Dictionary<string, byte[]> { ["a"] = "1"u8.ToArray() },
            StringData = new Dictionary<string, string> { ["metadata.json"] = "{}" },
        }, ns);
        Assert.Equal("Opaque", created.Type);
        Assert.Equal("{}", System.Text.Encoding.UTF8.GetString(created.Data["metadata.json"]));
        Assert.Equal("1", System.Text.Encoding.UTF8.GetString(created.Data["a"]));
        Assert.Null(created.StringData);

        var selected = await fx.Client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: "app.kubernetes.io/managed-by in (notary)");
        Assert.Equal("meta", Assert.Single(selected.Items).Metadata.Name);
        var byType = await fx.Client.CoreV1.ListNamespacedSecretAsync(ns, fieldSelector: "type=Opaque,metadata.name!=plain");
        Assert.Equal("meta", Assert.Single(byType.Items).Metadata.Name);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var (type, secret) in fx.Client.CoreV1.WatchListNamespacedSecretAsync(ns, labelSelector: "app.kubernetes.io/managed-by=notary", resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            Assert.Equal((WatchEventType.Added, "meta"), (type, secret.Metadata.Name));
            break;
        }
    }

    [Fact]
    public async Task Json_patch_and_dry_run()
    {
        var ns = await fx.NamespaceAsync();
        await CreateCertAsync(ns, Cert("a"));
        var patched = Node(await fx.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""[{"op":"add","path":"/spec/alt","value":["x.example.com"]}]""", V1Patch.PatchType.JsonPatch), Group, Version, ns, Certs, "a"));
        Assert.Equal("x.example.com", (string?)patched["spec"]!["alt"]![0]);

        var dry = Node(await fx.Client.CustomObjects.CreateNamespacedCustomObjectAsync(Cert("dry"), Group, Version, ns, Certs, dryRun: "All"));
        Assert.Equal("dry", (string?)dry["metadata"]!["name"]);
        var e = await FailsAsync(() => GetCertAsync(ns, "dry"));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
    }

    [Fact]
    public async Task Strategic_merge_patch_is_refused_for_custom_resources_and_merges_containers_for_deployments()
    {
        var ns = await fx.NamespaceAsync();
        await CreateCertAsync(ns, Cert("a"));
        var e = await FailsAsync(() => fx.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"fqdn":"x.example.com"}}""", V1Patch.PatchType.StrategicMergePatch), Group, Version, ns, Certs, "a"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, e.Response.StatusCode);

        var deployment = new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = "web" },
            Spec = new V1DeploymentSpec
            {
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "web" } },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "web" } },
                    Spec = new V1PodSpec { Containers = [new V1Container { Name = "a", Image = "a:1" }, new V1Container { Name = "b", Image = "b:1" }] },
                },
            },
        };
        var created = await fx.Client.AppsV1.CreateNamespacedDeploymentAsync(deployment, ns);
        Assert.Equal(1, created.Metadata.Generation);
        Assert.Equal(1, created.Spec.Replicas);
        var patched = await fx.Client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(
            """{"spec":{"template":{"metadata":{"annotations":{"notary.dev/restartedAt":"now"}},"spec":{"containers":[{"name":"b","image":"b:2"}]}}}}""",
            V1Patch.PatchType.StrategicMergePatch), "web", ns);
        Assert.Equal(["a:1", "b:2"], patched.Spec.Template.Spec.Containers.Select(c => c.Image));
        Assert.Equal(2, patched.Metadata.Generation);
    }

    [Fact]
    public async Task Events_written_through_events_k8s_io_are_core_events()
    {
        var ns = await fx.NamespaceAsync();
        await fx.Client.EventsV1.CreateNamespacedEventAsync(new Eventsv1Event
        {
            Metadata = new V1ObjectMeta { Name = "a.1" },
            EventTime = DateTime.UtcNow,
            Regarding = new V1ObjectReference { Kind = "Certificate", Name = "a", NamespaceProperty = ns, ApiVersion = "notary.dev/v1alpha1" },
            Reason = "Issued",
            Note = "issued",
            Type = "Normal",
            Action = "Issue",
            ReportingController = "notary.dev/notary",
            ReportingInstance = "notary-0",
        }, ns);
        var events = await fx.Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "involvedObject.name=a,involvedObject.kind=Certificate");
        var e = Assert.Single(events.Items);
        Assert.Equal("issued", e.Message);
        Assert.Equal("Issued", e.Reason);
    }

    [Fact]
    public async Task Token_review_and_subject_access_review_follow_rbac()
    {
        var ns = await fx.NamespaceAsync();
        await fx.Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "caller" } }, ns);
        var token = await fx.Client.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec() }, "caller", ns);
        Assert.False(string.IsNullOrEmpty(token.Status.Token));

        var review = await fx.Client.AuthenticationV1.CreateTokenReviewAsync(new V1TokenReview { Spec = new V1TokenReviewSpec { Token = token.Status.Token } });
        Assert.True(review.Status.Authenticated);
        Assert.Equal($"system:serviceaccount:{ns}:caller", review.Status.User.Username);
        Assert.Contains($"system:serviceaccounts:{ns}", review.Status.User.Groups);
        var bad = await fx.Client.AuthenticationV1.CreateTokenReviewAsync(new V1TokenReview { Spec = new V1TokenReviewSpec { Token = "nope" } });
        Assert.NotEqual(true, bad.Status.Authenticated);

        V1SubjectAccessReview Sar() => new()
        {
            Spec = new V1SubjectAccessReviewSpec
            {
                User = review.Status.User.Username,
                Groups = review.Status.User.Groups,
                ResourceAttributes = new V1ResourceAttributes { NamespaceProperty = ns, Verb = "create", Group = "notary.dev", Resource = "breaches" },
            },
        };
        Assert.False((await fx.Client.AuthorizationV1.CreateSubjectAccessReviewAsync(Sar())).Status.Allowed);

        await fx.Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "breacher" },
            Rules = [new V1PolicyRule { ApiGroups = ["notary.dev"], Resources = ["breaches"], Verbs = ["create"] }],
        }, ns);
        await fx.Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "breacher" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "breacher" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "caller", NamespaceProperty = ns }],
        }, ns);
        var allowed = await fx.Client.AuthorizationV1.CreateSubjectAccessReviewAsync(Sar());
        Assert.True(allowed.Status.Allowed);
        Assert.Contains("RoleBinding", allowed.Status.Reason, StringComparison.Ordinal);

        // The token itself works against the API, and RBAC applies to it.
        using var asCaller = new Kubernetes(fx.Server.ClientConfiguration(token.Status.Token));
        var forbidden = await FailsAsync(() => asCaller.CoreV1.ListNamespacedSecretAsync(ns));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.Response.StatusCode);
        Assert.Contains($"secrets is forbidden: User \\\"system:serviceaccount:{ns}:caller\\\" cannot list resource \\\"secrets\\\" in API group \\\"\\\" in the namespace \\\"{ns}\\\"", forbidden.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_token_is_401()
    {
        using var stranger = new Kubernetes(fx.Server.ClientConfiguration("wrong-token"));
        var e = await FailsAsync(() => stranger.CoreV1.ListNamespaceAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, e.Response.StatusCode);
        Assert.Contains("\"reason\":\"Unauthorized\"", e.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leases_support_leader_election_updates()
    {
        var ns = await fx.NamespaceAsync();
        var lease = await fx.Client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = "notary-watcher" },
            Spec = new V1LeaseSpec { HolderIdentity = "a", LeaseDurationSeconds = 15, RenewTime = DateTime.UtcNow },
        }, ns);
        lease.Spec.HolderIdentity = "b";
        var replaced = await fx.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "notary-watcher", ns);
        Assert.Equal("b", replaced.Spec.HolderIdentity);
        var stale = await FailsAsync(() => fx.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "notary-watcher", ns));
        Assert.Equal(HttpStatusCode.Conflict, stale.Response.StatusCode);
    }

    [Fact]
    public async Task Delete_collection_and_namespace_deletion_respect_finalizers()
    {
        var ns = await fx.NamespaceAsync();
        var held = Cert("held");
        held["metadata"]!["finalizers"] = new JsonArray("notary.dev/cleanup");
        await CreateCertAsync(ns, held);
        var labelled = Cert("labelled");
        labelled["metadata"]!["labels"] = new JsonObject { ["tier"] = "a" };
        await CreateCertAsync(ns, labelled);
        await CreateCertAsync(ns, Cert("other"));

        await fx.Client.CustomObjects.DeleteCollectionNamespacedCustomObjectAsync(Group, Version, ns, Certs, labelSelector: "tier=a");
        var left = Node(await fx.Client.CustomObjects.ListNamespacedCustomObjectAsync(Group, Version, ns, Certs));
        Assert.Equal(["held", "other"], left["items"]!.AsArray().Select(i => (string?)i!["metadata"]!["name"]));

        await fx.Client.CoreV1.DeleteNamespaceAsync(ns);
        var terminating = await fx.Client.CoreV1.ReadNamespaceAsync(ns);
        Assert.Equal("Terminating", terminating.Status.Phase);
        var create = await FailsAsync(() => CreateCertAsync(ns, Cert("late")));
        Assert.Equal(HttpStatusCode.Forbidden, create.Response.StatusCode);
        Assert.NotNull((string?)(await GetCertAsync(ns, "held"))["metadata"]!["deletionTimestamp"]);

        await MergePatchAsync(ns, "held", """{"metadata":{"finalizers":null}}""");
        var gone = await FailsAsync(() => fx.Client.CoreV1.ReadNamespaceAsync(ns));
        Assert.Equal(HttpStatusCode.NotFound, gone.Response.StatusCode);
    }
}
