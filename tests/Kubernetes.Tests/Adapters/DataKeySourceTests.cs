using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Options;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Adapters.Kubernetes.Tests.Adapters;

/// <summary>
/// The state data keys in a Secret of Notary's namespace, against DevCluster through the real
/// KubernetesClient: created once, agreed on by silos starting together, rotated by adding a key,
/// wrapped when a wrapper (KMS) is configured, and refused with a fix-it message when unusable.
/// </summary>
[Collection(AdapterCollection.Name)]
[Trait("Category", "Slow")]
public sealed class DataKeySourceTests(ClusterFixture cluster)
{
    private KubernetesDataKeySource Source(string ns, IDataKeyWrapper? wrapper = null, bool allowPlaintextKeys = false) => new(
        cluster.Client, ClusterFixture.Options(o => o.Namespace = ns), Options.Create(new StateKeyOptions { AllowPlaintextKeys = allowPlaintextKeys }),
        wrapper is null ? [] : [wrapper], TimeProvider.System, ClusterFixture.Log<KubernetesDataKeySource>());

    private static string NewNamespaceName() => "notary-" + Guid.NewGuid().ToString("N")[..8];

    private Task<V1Secret> ReadAsync(string ns) => cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-state-key", ns);

    [Fact]
    public async Task The_first_start_creates_one_key_in_a_Secret_and_later_starts_load_the_same()
    {
        var ns = NewNamespaceName();

        var created = await Source(ns).GetAsync(CancellationToken.None);

        var secret = await ReadAsync(ns);
        Assert.Equal("Opaque", secret.Type);
        Assert.Equal("notary", secret.Metadata.Labels["app.kubernetes.io/managed-by"]);
        Assert.Equal(created.Current.Id, Encoding.ASCII.GetString(secret.Data["current"]));
        Assert.Equal(created.Current.Material, secret.Data[created.Current.Id + ".key"]);
        Assert.Equal(32, created.Current.Material.Length);
        Assert.Equal(2, secret.Data.Count);

        var restarted = await Source(ns).GetAsync(CancellationToken.None);
        Assert.Equal(created.Current.Id, restarted.Current.Id);
        Assert.Equal(created.Current.Material, restarted.Current.Material);
    }

    [Fact]
    public async Task Silos_starting_together_agree_on_one_key()
    {
        var ns = NewNamespaceName();

        var rings = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Source(ns).GetAsync(CancellationToken.None))));

        Assert.Single(rings.Select(r => r.Current.Id).Distinct());
        Assert.Single(rings.Select(r => Convert.ToHexString(r.Current.Material)).Distinct());
        var secret = await ReadAsync(ns);
        Assert.Equal(rings[0].Current.Material, secret.Data[rings[0].Current.Id + ".key"]);
    }

    [Fact]
    public async Task A_key_added_and_made_current_encrypts_and_the_older_one_still_decrypts()
    {
        var ns = NewNamespaceName();
        var first = await Source(ns).GetAsync(CancellationToken.None);
        var added = RandomNumberGenerator.GetBytes(32);
        // README "State at rest": the operator's kubectl patch.
        await cluster.KubectlAsync("-n", ns, "patch", "secret", "notary-state-key", "--type", "merge", "-p",
            $$$"""{"data":{"k2.key":"{{{Convert.ToBase64String(added)}}}","current":"{{{Convert.ToBase64String("k2"u8)}}}"}}""");

        var ring = await Source(ns).GetAsync(CancellationToken.None);

        Assert.Equal("k2", ring.Current.Id);
        Assert.Equal(added, ring.Current.Material);
        Assert.Equal(first.Current.Material, ring.All[first.Current.Id].Material);
    }

    [Fact]
    public async Task With_a_wrapper_the_Secret_holds_only_the_wrapped_key_bound_to_its_entry()
    {
        var ns = NewNamespaceName();
        var wrapper = new TestWrapper();

        var created = await Source(ns, wrapper).GetAsync(CancellationToken.None);

        var secret = await ReadAsync(ns);
        Assert.False(secret.Data.ContainsKey(created.Current.Id + ".key"));
        var wrapped = secret.Data[created.Current.Id + ".test"];
        Assert.True(wrapped.AsSpan().IndexOf(created.Current.Material.AsSpan(0, 16)) < 0);
        Assert.Equal($"{ns}/notary-state-key/{created.Current.Id}", wrapper.Contexts.Single()["notary.dev/state-key"]);

        var restarted = await Source(ns, new TestWrapper(wrapper)).GetAsync(CancellationToken.None);
        Assert.Equal(created.Current.Material, restarted.Current.Material);

        // Without the wrapper the Secret cannot be read, and the message says which setting is missing.
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Source(ns).GetAsync(CancellationToken.None));
        Assert.Contains("Notary__State__KmsKeyId", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrapper_configured_later_adds_a_wrapped_current_key_and_keeps_the_clear_one_for_older_state()
    {
        var ns = NewNamespaceName();
        var clear = await Source(ns).GetAsync(CancellationToken.None);
        var wrapper = new TestWrapper();

        // The clear key is refused under a wrapper unless the migration window is opened explicitly.
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => Source(ns, wrapper).GetAsync(CancellationToken.None));
        Assert.Contains($"\"{clear.Current.Id}\" in the clear", refused.Message, StringComparison.Ordinal);
        Assert.Contains("state.allowPlaintextKeys", refused.Message, StringComparison.Ordinal);
        Assert.Single((await ReadAsync(ns)).Data, e => e.Key.EndsWith(".key", StringComparison.Ordinal));

        var ring = await Source(ns, wrapper, allowPlaintextKeys: true).GetAsync(CancellationToken.None);

        Assert.NotEqual(clear.Current.Id, ring.Current.Id);
        Assert.Equal(clear.Current.Material, ring.All[clear.Current.Id].Material);
        var secret = await ReadAsync(ns);
        Assert.Equal(ring.Current.Id, Encoding.ASCII.GetString(secret.Data["current"]));
        Assert.True(secret.Data.ContainsKey(ring.Current.Id + ".test"));

        // Migration done: the operator removes the clear entry, and the wrapped key alone loads without the setting.
        await cluster.KubectlAsync("-n", ns, "patch", "secret", "notary-state-key", "--type", "json", "-p",
            $$"""[{"op":"remove","path":"/data/{{clear.Current.Id}}.key"}]""");
        var after = await Source(ns, new TestWrapper(wrapper)).GetAsync(CancellationToken.None);
        Assert.Equal(ring.Current.Material, after.Current.Material);
        Assert.Single(after.All);
    }

    [Fact]
    public async Task An_entry_that_is_no_state_key_is_ignored_with_a_warning()
    {
        var ns = NewNamespaceName();
        var first = await Source(ns).GetAsync(CancellationToken.None);
        await cluster.KubectlAsync("-n", ns, "patch", "secret", "notary-state-key", "--type", "merge", "-p",
            $$$"""{"data":{"notes.txt":"{{{Convert.ToBase64String("rotated in March"u8)}}}","k7.vault":"{{{Convert.ToBase64String(new byte[40])}}}"}}""");

        var ring = await Source(ns).GetAsync(CancellationToken.None);

        Assert.Equal(first.Current.Material, ring.Current.Material);
        Assert.Single(ring.All);
    }

    [Fact]
    public async Task A_missing_key_Secret_where_Notary_ran_before_is_refused_not_created_anew()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-ca" },
            Data = new Dictionary<string, byte[]> { ["tls.crt"] = "ca"u8.ToArray() },
        }, ns);
        var first = await Source(ns).GetAsync(CancellationToken.None);
        var ca = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns);
        Assert.Equal(first.Current.Id, ca.Metadata.Annotations[KubernetesDataKeySource.MarkerAnnotation]);
        Assert.Equal("ca"u8.ToArray(), ca.Data["tls.crt"]);

        await cluster.KubectlAsync("-n", ns, "delete", "secret", "notary-state-key");
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Source(ns).GetAsync(CancellationToken.None));

        Assert.Contains("Notary has run here before", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"kubectl -n {ns} annotate secret notary-ca notary.dev/state-key-", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => ReadAsync(ns));

        // The operator's decision, as the message says: then a new key is created.
        await cluster.KubectlAsync("-n", ns, "annotate", "secret", "notary-ca", "notary.dev/state-key-");
        var fresh = await Source(ns).GetAsync(CancellationToken.None);
        Assert.NotEqual(first.Current.Material, fresh.Current.Material);
        Assert.Equal(fresh.Current.Id, (await cluster.Client.CoreV1.ReadNamespacedSecretAsync("notary-ca", ns)).Metadata.Annotations[KubernetesDataKeySource.MarkerAnnotation]);
    }

    [Fact]
    public async Task Reloading_reads_a_key_added_since_and_creates_nothing()
    {
        var ns = NewNamespaceName();
        var source = Source(ns);
        var first = await source.GetAsync(CancellationToken.None);
        var added = RandomNumberGenerator.GetBytes(32);
        await cluster.KubectlAsync("-n", ns, "patch", "secret", "notary-state-key", "--type", "merge", "-p",
            $$$"""{"data":{"k2.key":"{{{Convert.ToBase64String(added)}}}"}}""");

        var ring = await source.ReloadAsync(CancellationToken.None);

        Assert.Equal(first.Current.Id, ring.Current.Id);
        Assert.Equal(added, ring.All["k2"].Material);
        await cluster.KubectlAsync("-n", ns, "delete", "secret", "notary-state-key");
        await Assert.ThrowsAsync<InvalidOperationException>(() => source.ReloadAsync(CancellationToken.None));
        await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => ReadAsync(ns));
    }

    [Fact]
    public async Task A_Secret_without_a_current_key_is_reported_never_replaced()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-state-key" },
            Data = new Dictionary<string, byte[]> { ["k1.key"] = new byte[32] },
        }, ns);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Source(ns).GetAsync(CancellationToken.None));

        Assert.Contains("has no entry \"current\"", ex.Message, StringComparison.Ordinal);
        Assert.Single((await ReadAsync(ns)).Data);
    }

    [Fact]
    public async Task A_key_of_the_wrong_length_is_reported_with_how_to_make_one()
    {
        var ns = await cluster.NamespaceAsync();
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "notary-state-key" },
            Data = new Dictionary<string, byte[]> { ["current"] = "k1"u8.ToArray(), ["k1.key"] = new byte[16] },
        }, ns);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Source(ns).GetAsync(CancellationToken.None));

        Assert.Contains("16 bytes long", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/dev/urandom", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Wraps with AES-GCM under a key of its own, the context as associated data (as KMS binds its encryption context).</summary>
    private sealed class TestWrapper(TestWrapper? sameKeyAs = null) : IDataKeyWrapper
    {
        private readonly byte[] _key = sameKeyAs?._key ?? RandomNumberGenerator.GetBytes(32);

        public List<IReadOnlyDictionary<string, string>> Contexts { get; } = [];

        public string Kind => "test";

        public Task<WrappedDataKey> GenerateAsync(IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken)
        {
            Contexts.Add(context);
            var plaintext = RandomNumberGenerator.GetBytes(32);
            var nonce = RandomNumberGenerator.GetBytes(12);
            var sealedKey = new byte[48];
            using var aes = new AesGcm(_key, 16);
            aes.Encrypt(nonce, plaintext, sealedKey.AsSpan(0, 32), sealedKey.AsSpan(32), Aad(context));
            return Task.FromResult(new WrappedDataKey(plaintext, [.. nonce, .. sealedKey]));
        }

        public Task<byte[]> UnwrapAsync(byte[] wrapped, IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken)
        {
            var plaintext = new byte[32];
            using var aes = new AesGcm(_key, 16);
            aes.Decrypt(wrapped.AsSpan(0, 12), wrapped.AsSpan(12, 32), wrapped.AsSpan(44), plaintext, Aad(context));
            return Task.FromResult(plaintext);
        }

        private static byte[] Aad(IReadOnlyDictionary<string, string> context) =>
            Encoding.UTF8.GetBytes(string.Join("\n", context.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value)));
    }
}

public sealed class StateKeyOptionsTests
{
    [Theory]
    [InlineData("notary-state-key", true)]
    [InlineData("Notary_State", false)]
    [InlineData("", false)]
    public void The_Secret_name_must_be_one_Kubernetes_accepts(string name, bool valid)
    {
        var result = new StateKeyOptionsValidator().Validate(null, new StateKeyOptions { SecretName = name });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Notary__State__SecretName=notary-state-key", result.FailureMessage, StringComparison.Ordinal);
        }
    }
}
