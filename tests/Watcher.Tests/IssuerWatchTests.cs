using System.Text;
using k8s;
using k8s.Models;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;
using Notary.Watcher.Tests.Support;
using Xunit.Abstractions;
using Action = Notary.Watcher.Tests.Support.Action;

namespace Notary.Watcher.Tests;

/// <summary>
/// Issuers and ClusterIssuers from the watcher's side, through DevCluster: forwarded to their
/// grains (keyed Issuer/NAMESPACE/NAME, ClusterIssuer/NAME) before any Certificate, changes and
/// deletions forwarded, and a change of the Secret a <c>ca</c> issuer names (in the Issuer's own
/// namespace, or Notary's for a ClusterIssuer) forwarded to that issuer only.
/// </summary>
[Collection(WatcherCollection.Name)]
[Trait("Category", "Slow")]
public sealed class IssuerWatchTests(WatcherCluster cluster, ITestOutputHelper output)
{
    private readonly CapturingLoggerProvider _logs = new(output);
    private readonly RecordingSink _sink = new();

    [Fact]
    public async Task Issuers_are_forwarded_before_any_Certificate_then_changes_and_deletions()
    {
        var ns = await cluster.NamespaceAsync();
        var clusterName = "shared-" + ns;
        await cluster.Client.CreateAsync(Resources.Certificate(ns, "orders"));
        await cluster.Client.CreateAsync(Issuer(ns, "team-ca", "team-ca-keys"));
        await CreateClusterIssuerAsync(clusterName, new IssuerResourceSpec { Builtin = new BuiltinIssuer() });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _sink.IssuerGate = release.Task;

        await using var session = cluster.Start(_sink, _logs);

        // The issuers' forwards are held (a slow grain): no Certificate may be forwarded meanwhile.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.DoesNotContain(_sink.Deliveries, d => d.Kind == ResourceKind.Certificate);
        release.SetResult();
        var deliveries = (await _sink.WaitAsync(d => d.Any(x => x.Key == $"{ns}/orders" && x.Action == Action.Apply), "the Certificate after the issuers")).ToList();
        var issuer = deliveries.FindIndex(d => d.Key == $"Issuer/{ns}/team-ca" && d.Action == Action.IssuerApply);
        var clusterIssuer = deliveries.FindIndex(d => d.Key == $"ClusterIssuer/{clusterName}" && d.Action == Action.IssuerApply);
        var certificate = deliveries.FindIndex(d => d.Key == $"{ns}/orders" && d.Action == Action.Apply);
        Assert.True(issuer >= 0 && clusterIssuer >= 0 && issuer < certificate && clusterIssuer < certificate, string.Join("\n", deliveries));
        Assert.Equal(new IssuerSpec { Ca = new CaIssuerSpec("team-ca-keys") }, deliveries[issuer].Spec);
        Assert.True(Assert.IsType<IssuerSpec>(deliveries[clusterIssuer].Spec).Builtin);

        // A spec change is forwarded with its generation; a status write is not a change.
        await cluster.Client.PatchAsync<Issuer>(ns, "team-ca", """{"spec":{"ca":{"secretName":"team-ca-keys-2"}}}""");
        var changed = await _sink.WaitAsync(d => d.Any(x => x.Key == $"Issuer/{ns}/team-ca" && x.Action == Action.IssuerApply && x.Generation == 2), "the changed Issuer");
        Assert.Equal(new IssuerSpec { Ca = new CaIssuerSpec("team-ca-keys-2") }, changed.Last(x => x.Key == $"Issuer/{ns}/team-ca").Spec);

        await cluster.Client.DeleteAsync<Issuer>(ns, "team-ca");
        await cluster.Client.CustomObjects.DeleteClusterCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ClusterIssuer.KubePluralName, clusterName);
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"Issuer/{ns}/team-ca" && x.Action == Action.IssuerDelete), "the Issuer's deletion");
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"ClusterIssuer/{clusterName}" && x.Action == Action.IssuerDelete), "the ClusterIssuer's deletion");
    }

    [Fact]
    public async Task After_its_list_the_watcher_names_the_issuers_that_exist_so_that_one_deleted_while_no_watcher_ran_is_deleted()
    {
        var ns = await cluster.NamespaceAsync();
        var clusterName = "listed-" + ns;
        await cluster.Client.CreateAsync(Issuer(ns, "kept", "kept-keys"));
        await cluster.Client.CreateAsync(Issuer(ns, "gone", "gone-keys"));
        await CreateClusterIssuerAsync(clusterName, new IssuerResourceSpec { Builtin = new BuiltinIssuer() });
        // Deleted before any watcher runs: no deletion event will ever be seen for it.
        await cluster.Client.DeleteAsync<Issuer>(ns, "gone");

        await using var session = cluster.Start(_sink, _logs);

        var issuers = await _sink.WaitAsync(d => d.Any(x => x.Action == Action.IssuersListed && x.Key == IssuerKinds.Issuer), "the Issuers listed");
        var existing = Assert.IsType<List<string>>(issuers.First(x => x.Action == Action.IssuersListed && x.Key == IssuerKinds.Issuer).Spec);
        Assert.Contains(IssuerKeys.Namespaced(ns, "kept"), existing);
        Assert.DoesNotContain(IssuerKeys.Namespaced(ns, "gone"), existing);
        Assert.DoesNotContain(existing, k => k.StartsWith(IssuerKinds.ClusterIssuer + "/", StringComparison.Ordinal));
        var clusterIssuers = await _sink.WaitAsync(d => d.Any(x => x.Action == Action.IssuersListed && x.Key == IssuerKinds.ClusterIssuer), "the ClusterIssuers listed");
        Assert.Contains(IssuerKeys.Cluster(clusterName), Assert.IsType<List<string>>(clusterIssuers.First(x => x.Action == Action.IssuersListed && x.Key == IssuerKinds.ClusterIssuer).Spec));
    }

    [Fact]
    public async Task A_change_to_a_ca_Secret_reaches_the_issuers_that_name_it_in_their_namespace_only()
    {
        var ns = await cluster.NamespaceAsync();
        var other = await cluster.NamespaceAsync();
        var notary = await cluster.NamespaceAsync();
        var clusterName = "team-" + ns;
        await cluster.Client.CreateAsync(Issuer(ns, "team-ca", "team-ca"));
        await CreateClusterIssuerAsync(clusterName, new IssuerResourceSpec { Ca = new CaIssuer { SecretName = "shared-ca" } });
        await using var session = cluster.Start(_sink, _logs, notaryNamespace: notary);
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"ClusterIssuer/{clusterName}" && x.Action == Action.IssuerApply), "the ClusterIssuer");
        await session.Session.Synced;

        // Secrets of the same names elsewhere concern neither issuer.
        await CreateSecretAsync(other, "team-ca", "a");
        await CreateSecretAsync(ns, "shared-ca", "a");
        await CreateSecretAsync(ns, "unrelated", "a");
        // The Issuer's Secret, created then replaced with a new key pair.
        await CreateSecretAsync(ns, "team-ca", "a");
        await _sink.WaitAsync(d => d.Count(x => x.Key == $"Issuer/{ns}/team-ca" && x.Action == Action.CaSecretChanged) == 1, "the Issuer's Secret created");
        await cluster.Client.CoreV1.PatchNamespacedSecretAsync(
            new V1Patch("""{"data":{"tls.crt":"Yg=="}}""", V1Patch.PatchType.MergePatch), "team-ca", ns);
        await _sink.WaitAsync(d => d.Count(x => x.Key == $"Issuer/{ns}/team-ca" && x.Action == Action.CaSecretChanged) == 2, "the Issuer's Secret changed");
        // The ClusterIssuer's Secret lives in Notary's namespace.
        await CreateSecretAsync(notary, "shared-ca", "a");
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"ClusterIssuer/{clusterName}" && x.Action == Action.CaSecretChanged), "the ClusterIssuer's Secret");
        await cluster.Client.CoreV1.DeleteNamespacedSecretAsync("team-ca", ns);
        await _sink.WaitAsync(d => d.Count(x => x.Key == $"Issuer/{ns}/team-ca" && x.Action == Action.CaSecretChanged) == 3, "the Issuer's Secret deleted");

        // Nothing else was forwarded for those Secrets: the ClusterIssuer once, the Issuer three times.
        Assert.Single(_sink.Deliveries, d => d.Key == $"ClusterIssuer/{clusterName}" && d.Action == Action.CaSecretChanged);
        Assert.DoesNotContain(_sink.Deliveries, d => d.Action == Action.SecretChanged && new[] { ns, other, notary }.Any(n => d.Key.StartsWith(n + "/", StringComparison.Ordinal)));

        // An Issuer that stops naming the Secret no longer hears of it.
        await cluster.Client.PatchAsync<Issuer>(ns, "team-ca", """{"spec":{"ca":null,"builtin":{}}}""");
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"Issuer/{ns}/team-ca" && x.Action == Action.IssuerApply && x.Generation == 2), "the Issuer now builtin");
        await CreateSecretAsync(ns, "team-ca", "c");
        await CreateSecretAsync(notary, "marker", "c");
        await cluster.Client.CustomObjects.DeleteClusterCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ClusterIssuer.KubePluralName, clusterName);
        await _sink.WaitAsync(d => d.Any(x => x.Key == $"ClusterIssuer/{clusterName}" && x.Action == Action.IssuerDelete), "the ClusterIssuer's deletion");
        Assert.Equal(3, _sink.Deliveries.Count(d => d.Key == $"Issuer/{ns}/team-ca" && d.Action == Action.CaSecretChanged));
    }

    private static Issuer Issuer(string ns, string name, string secretName) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new IssuerResourceSpec { Ca = new CaIssuer { SecretName = secretName } },
    };

    private Task<object> CreateClusterIssuerAsync(string name, IssuerResourceSpec spec) =>
        cluster.Client.CustomObjects.CreateClusterCustomObjectAsync(
            new ClusterIssuer { Metadata = new V1ObjectMeta { Name = name }, Spec = spec },
            NotaryResources.Group, NotaryResources.Version, ClusterIssuer.KubePluralName);

    private Task<V1Secret> CreateSecretAsync(string ns, string name, string content) =>
        cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = name },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]> { ["tls.crt"] = Encoding.UTF8.GetBytes(content), ["tls.key"] = Encoding.UTF8.GetBytes(content) },
        }, ns);
}
