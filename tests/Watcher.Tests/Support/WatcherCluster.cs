using k8s;
using k8s.Models;
using Microsoft.Extensions.Options;
using Notary.Adapters.Kubernetes;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.DevCluster;

namespace Notary.Watcher.Tests.Support;

/// <summary>
/// One DevCluster per test collection, with the chart's CRDs. Tests reach it directly (the
/// "user") while each watcher under test may reach it through a <see cref="PausableProxy"/>, so
/// that a test can cut the watcher off while the user goes on changing things.
/// </summary>
public sealed class WatcherCluster : IAsyncLifetime
{
    public static readonly string CrdDirectory = Path.Combine(AppContext.BaseDirectory, "crds");

    public DevClusterServer Server { get; private set; } = null!;

    /// <summary>The user's client: never cut off.</summary>
    public IKubernetes Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await DevClusterServer.StartAsync(new DevClusterOptions { CrdDirectories = [CrdDirectory] });
        Client = new k8s.Kubernetes(Server.ClientConfiguration());
    }

    public async Task DisposeAsync()
    {
        (Client as IDisposable)?.Dispose();
        await Server.DisposeAsync();
    }

    public async Task<string> NamespaceAsync()
    {
        var name = "t-" + Guid.NewGuid().ToString("N")[..10];
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    /// <summary>A client whose every connection goes through <paramref name="proxy"/>.</summary>
    public IKubernetes ClientThrough(PausableProxy proxy)
    {
        var configuration = Server.ClientConfiguration();
        configuration.Host = new UriBuilder(Server.Url) { Port = proxy.Port }.Uri.ToString();
        return new k8s.Kubernetes(configuration);
    }

    public PausableProxy Proxy() => new(Server.Url);

    public static NotaryWatcherOptions FastOptions(Action<NotaryWatcherOptions>? change = null)
    {
        var options = new NotaryWatcherOptions
        {
            MinReconnectDelay = TimeSpan.FromMilliseconds(50),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(500),
            ResyncPeriod = TimeSpan.FromHours(1),
            WatchTimeout = TimeSpan.FromMinutes(1),
            LeaseDuration = TimeSpan.FromSeconds(3),
            RenewDeadline = TimeSpan.FromSeconds(2),
            RetryPeriod = TimeSpan.FromMilliseconds(500),
        };
        change?.Invoke(options);
        return options;
    }

    /// <summary>A watch session as the leader runs it, with its own client and log.</summary>
    public RunningSession Start(RecordingSink sink, CapturingLoggerProvider logs, IKubernetes? client = null, NotaryWatcherOptions? options = null, string notaryNamespace = "notary")
    {
        client ??= Client;
        var kubernetes = Options.Create(new NotaryKubernetesOptions());
        var finalizers = new ResourceFinalizers(client, kubernetes, new LoggerAdapter<ResourceFinalizers>(logs.CreateLogger(nameof(ResourceFinalizers))));
        var events = new KubernetesEventRecorder(client, kubernetes, TimeProvider.System, new LoggerAdapter<KubernetesEventRecorder>(logs.CreateLogger(nameof(KubernetesEventRecorder))));
        var session = new WatchSession(client, sink, finalizers, events, options ?? FastOptions(), TimeProvider.System, logs, notaryNamespace);
        return new RunningSession(session, events);
    }
}

/// <summary>A session running in the background until disposed.</summary>
public sealed class RunningSession : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly KubernetesEventRecorder _events;

    public RunningSession(WatchSession session, KubernetesEventRecorder events)
    {
        Session = session;
        _events = events;
        Running = Task.Run(() => session.RunAsync(_stop.Token));
    }

    public WatchSession Session { get; }

    public Task Running { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Running.WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
        _events.Dispose();
    }
}

/// <summary>An ILogger&lt;T&gt; over a plain logger, for the adapters' constructors.</summary>
public sealed class LoggerAdapter<T>(Microsoft.Extensions.Logging.ILogger inner) : Microsoft.Extensions.Logging.ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        inner.Log(logLevel, eventId, state, exception, formatter);
}

/// <summary>Notary objects, created and changed through KubernetesClient as a user would.</summary>
public static class Resources
{
    public static Certificate Certificate(string ns, string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new CertificateSpec { Type = CertificateTypes.Private, Fqdn = $"{name}.{ns}.svc.cluster.local" },
    };

    public static Breach Breach(string ns, string name, string certificate, string mode) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new BreachSpec { Certificate = certificate, Mode = mode, Reason = "seen on a laptop" },
    };

    /// <summary>A Deployment whose pods mount the Secret <paramref name="secretName"/>.</summary>
    public static V1Deployment Deployment(string ns, string name, string secretName) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1DeploymentSpec
        {
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name } },
                Spec = new V1PodSpec
                {
                    Containers = [new V1Container { Name = "app", Image = "registry.example/app:1" }],
                    Volumes = [new V1Volume { Name = "tls", Secret = new V1SecretVolumeSource { SecretName = secretName } }],
                },
            },
        },
    };

    public static async Task<T> CreateAsync<T>(this IKubernetes client, T resource)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var created = await client.CustomObjects.CreateNamespacedCustomObjectAsync(
            resource, NotaryResources.Group, NotaryResources.Version, resource.Metadata.NamespaceProperty, Plural<T>());
        return KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(created));
    }

    public static async Task<T?> GetAsync<T>(this IKubernetes client, string ns, string name)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        try
        {
            var found = await client.CustomObjects.GetNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, Plural<T>(), name);
            return KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(found));
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public static Task PatchAsync<T>(this IKubernetes client, string ns, string name, string mergePatch) =>
        client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(mergePatch, V1Patch.PatchType.MergePatch), NotaryResources.Group, NotaryResources.Version, ns, Plural<T>(), name);

    public static Task DeleteAsync<T>(this IKubernetes client, string ns, string name) =>
        client.CustomObjects.DeleteNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, Plural<T>(), name);

    public static string Plural<T>() =>
        typeof(T) == typeof(Certificate) ? NotaryResources.CertificatePlural
        : typeof(T) == typeof(Keystore) ? NotaryResources.KeystorePlural
        : typeof(T) == typeof(Truststore) ? NotaryResources.TruststorePlural
        : typeof(T) == typeof(Breach) ? NotaryResources.BreachPlural
        : typeof(T) == typeof(Issuer) ? NotaryResources.IssuerPlural
        : throw new ArgumentOutOfRangeException(typeof(T).Name);

    /// <summary>Polls the API (not the watcher) until the condition holds: for what the watcher does to objects.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var value = await probe();
            if (condition(value))
            {
                return value;
            }

            try
            {
                await Task.Delay(delay, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting for {what}; last value: {value}");
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(200, delay.TotalMilliseconds * 2));
        }
    }
}
