using System.Net;
using Microsoft.Extensions.Options;
using Notary.Grains;
using Orleans.Configuration;
using StackExchange.Redis;

namespace Notary.Silo;

/// <summary>
/// How the silos find each other and where the cluster keeps what outlives one silo
/// (<c>Notary:Cluster</c>, e.g. <c>Notary__Cluster__Provider=redis</c> with
/// <c>Notary__Cluster__Redis__ConnectionString=redis:6379</c>). <c>localhost</c>, the default, is
/// one silo with membership, reminders and grain state in memory: dev mode and tests. <c>redis</c>
/// is several silos sharing Redis for membership, reminders and grain state, so that a grain whose
/// silo died reactivates on a survivor with its state, and its reminders still fire.
/// </summary>
public sealed class NotaryClusterOptions
{
    public const string SectionName = "Notary:Cluster";
    public const string Localhost = "localhost";
    public const string Redis = "redis";

    /// <summary><c>localhost</c> (the default: one silo, everything in memory) or <c>redis</c>.</summary>
    public string Provider { get; set; } = Localhost;

    /// <summary>How long an activation stays resident without being called (Orleans' CollectionAge); below the watcher's ResyncPeriod.</summary>
    public static readonly TimeSpan IdleActivationAge = TimeSpan.FromMinutes(5);

    /// <summary>The StackExchange.Redis configuration string (<c>host:port,password=...</c>); required with <c>redis</c>.</summary>
    public string? RedisConnectionString { get; set; }

    /// <summary>
    /// Accept a Redis connection without a password or without TLS (<c>ssl=true</c>) to a server
    /// that is not on loopback (<c>Notary:Cluster:Redis:AllowInsecure</c>; chart
    /// <c>cluster.redis.allowInsecure</c>). Off by default: Redis holds the grain state and the
    /// cluster membership, and whoever can write it can point the silos elsewhere.
    /// </summary>
    public bool RedisAllowInsecure { get; set; }

    /// <summary>Silos with the same cluster id form one cluster; another id (a second deployment) does not join it.</summary>
    public string ClusterId { get; set; } = "notary";

    /// <summary>Names the service's persisted data (grain state, reminders) across cluster ids; keep it across deployments.</summary>
    public string ServiceId { get; set; } = "notary";

    /// <summary>The address other silos reach this one at: the pod's IP (POD_IP), else loopback.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Running in a pod (KUBERNETES_SERVICE_HOST is set): with <c>redis</c>, Orleans' Kubernetes hosting is used.</summary>
    public bool InPod { get; set; }

    /// <summary>ORLEANS_SERVICE_ID (the chart sets it from the pod's <c>orleans/serviceId</c> label); null when unset.</summary>
    public string? PodServiceId { get; set; }

    /// <summary>ORLEANS_CLUSTER_ID (the chart sets it from the pod's <c>orleans/clusterId</c> label); null when unset.</summary>
    public string? PodClusterId { get; set; }

    /// <summary>Whether the silo uses Orleans' Kubernetes hosting: in a pod, with Redis.</summary>
    public bool KubernetesHosting => InPod && Provider == Redis;

    public static NotaryClusterOptions From(IConfiguration configuration) => new()
    {
        Provider = (configuration["Notary:Cluster:Provider"] ?? Localhost).Trim().ToLowerInvariant(),
        RedisConnectionString = configuration["Notary:Cluster:Redis:ConnectionString"],
        RedisAllowInsecure = configuration.GetValue<bool>("Notary:Cluster:Redis:AllowInsecure"),
        ClusterId = configuration["Notary:Cluster:ClusterId"] ?? "notary",
        ServiceId = configuration["Notary:Cluster:ServiceId"] ?? "notary",
        AdvertisedAddress = configuration["POD_IP"] is { Length: > 0 } podIp ? podIp : "127.0.0.1",
        InPod = !string.IsNullOrEmpty(configuration["KUBERNETES_SERVICE_HOST"]),
        PodServiceId = configuration[ServiceIdVariable],
        PodClusterId = configuration[ClusterIdVariable],
    };

    /// <summary>The variables Orleans' Kubernetes hosting takes the ids from (KubernetesHostingOptions' names).</summary>
    internal const string ServiceIdVariable = "ORLEANS_SERVICE_ID";

    /// <inheritdoc cref="ServiceIdVariable"/>
    internal const string ClusterIdVariable = "ORLEANS_CLUSTER_ID";

    /// <summary>The Redis configuration, or null when the connection string is missing or unreadable (the validator says which).</summary>
    internal ConfigurationOptions? RedisConfiguration()
    {
        if (string.IsNullOrWhiteSpace(RedisConnectionString))
        {
            return null;
        }

        try
        {
            var parsed = ConfigurationOptions.Parse(RedisConnectionString);
            return parsed.EndPoints.Count == 0 ? null : parsed;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// What a Redis connection lacks (a password, TLS), or null when it has both or every server
    /// is on loopback (reachable from this pod or machine only).
    /// </summary>
    internal static string? RedisInsecurity(ConfigurationOptions redis)
    {
        var loopback = redis.EndPoints.All(e => e switch
        {
            IPEndPoint ip => IPAddress.IsLoopback(ip.Address),
            DnsEndPoint dns => dns.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase),
            _ => false,
        });
        var missing = new List<string>();
        if (string.IsNullOrEmpty(redis.Password))
        {
            missing.Add("no password");
        }

        if (!redis.Ssl)
        {
            missing.Add("no TLS (ssl=true)");
        }

        return loopback || missing.Count == 0 ? null : string.Join(" and ", missing);
    }

    /// <summary>
    /// Configures Orleans: clustering, reminders and the grain storage the grains use
    /// (<see cref="GrainStorage.Name"/>, with Orleans' own serializer either way). Public so that
    /// the scale benchmark (bench/Bench) runs a silo configured exactly as the product's.
    /// </summary>
    public void Apply(ISiloBuilder silo, int siloPort)
    {
        // Idle certificate activations are deactivated, and the age is shorter than the watcher's
        // ResyncPeriod (10 minutes) on purpose: every resync calls every certificate grain, so with
        // Orleans' default (15 minutes) no certificate activation would ever be collected. An idle
        // activation costs about 6 KB (its state, PEMs included) on top of the ~4.5 KB per
        // certificate that stays (watcher cache, reminder, metrics); a collected one costs a Redis
        // read when next called (bench/RESULTS.md, scenario scale).
        silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = IdleActivationAge);
        var redis = Provider == Redis ? RedisConfiguration() : null;
        if (redis is null)
        {
            // localhost, or a redis configuration the validator refuses before the silo starts.
            // Gateway port 0: no gateway (nothing in Notary is an Orleans client; one listening
            // would let any process that reaches it call grains).
            silo.UseLocalhostClustering(siloPort, gatewayPort: 0, serviceId: ServiceId, clusterId: ClusterId);
            silo.AddMemoryGrainStorage(GrainStorage.Name, o => o.UseNotarySerializer());
            silo.UseInMemoryReminderService();
            return;
        }

        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = ClusterId;
            o.ServiceId = ServiceId;
        });
        silo.Configure<EndpointOptions>(o =>
        {
            o.AdvertisedIPAddress = IPAddress.TryParse(AdvertisedAddress, out var address) ? address : IPAddress.Loopback;
            o.SiloPort = siloPort;
            // 0: no gateway listens (see the localhost case).
            o.GatewayPort = 0;
        });
        // Each provider clones the configuration: they must not share (and dispose) one instance.
        silo.UseRedisClustering(o => o.ConfigurationOptions = redis.Clone());
        silo.UseRedisReminderService(o => o.ConfigurationOptions = redis.Clone());
        silo.AddRedisGrainStorage(GrainStorage.Name, o => o.Configure(r => r.ConfigurationOptions = redis.Clone()).UseNotarySerializer());

        if (KubernetesHosting)
        {
            // In a pod: Orleans' Kubernetes hosting names the silo after the pod (POD_NAME), reads
            // its own pod once at start, lists and watches the pods labelled with this service and
            // cluster id in POD_NAMESPACE, and declares a silo dead when its pod is deleted. Those
            // are get, list and watch on pods, the chart's Role. It would also patch its own pod's
            // labels if they differed from the ids: the validator requires ORLEANS_SERVICE_ID and
            // ORLEANS_CLUSTER_ID, taken from those very labels, to equal the ids, so it never does.
            // KubernetesHostingRbacTests runs AddKubernetesHosting against DevCluster with a pod.
            AddKubernetesHosting(silo, client: null);
        }
    }

    /// <summary>
    /// Orleans' Kubernetes hosting as Notary runs it: against <paramref name="client"/> (null: the
    /// pod's in-cluster configuration, the ServiceAccount's token), never deleting pods.
    /// </summary>
    public static void AddKubernetesHosting(ISiloBuilder silo, k8s.KubernetesClientConfiguration? client) =>
        silo.UseKubernetesHosting(o => o.Configure(k =>
        {
            if (client is not null)
            {
                k.GetClientConfiguration = () => client;
            }

            // Stated rather than left to the package's default (also false): deleting the pod of a
            // silo the cluster declared dead would need delete on pods in the namespace, which RBAC
            // cannot narrow to Notary's pods, and gains nothing: a silo told it is dead stops its
            // own process, and the kubelet restarts the container.
            k.DeleteDefunctSiloPods = false;
        }));
}

/// <summary>Refuses an unknown provider, and <c>redis</c> without a usable connection string.</summary>
public sealed class NotaryClusterOptionsValidator : IValidateOptions<NotaryClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, NotaryClusterOptions options)
    {
        var failures = new List<string>();
        if (options.Provider is not (NotaryClusterOptions.Localhost or NotaryClusterOptions.Redis))
        {
            failures.Add($"Notary:Cluster:Provider \"{options.Provider}\" is not a cluster provider: use localhost (one silo, state in memory) or redis (several silos sharing Redis), e.g. Notary__Cluster__Provider=redis.");
        }
        else if (options.Provider == NotaryClusterOptions.Redis && options.RedisConfiguration() is null)
        {
            failures.Add(string.IsNullOrWhiteSpace(options.RedisConnectionString)
                ? "Notary:Cluster:Redis:ConnectionString is required with Notary:Cluster:Provider=redis: set it to the Redis server, e.g. Notary__Cluster__Redis__ConnectionString=redis.notary.svc:6379."
                : "Notary:Cluster:Redis:ConnectionString is not a Redis configuration with a server in it: use host:port[,password=...], e.g. Notary__Cluster__Redis__ConnectionString=redis.notary.svc:6379.");
        }
        else if (options.Provider == NotaryClusterOptions.Redis && !options.RedisAllowInsecure
            && NotaryClusterOptions.RedisInsecurity(options.RedisConfiguration()!) is { } missing)
        {
            failures.Add($"Notary:Cluster:Redis:ConnectionString has {missing}: the grain state and the cluster membership would cross the network in the clear to a Redis anyone who reaches it can write. Use host:port,password=...,ssl=true (e.g. Notary__Cluster__Redis__ConnectionString=redis.notary.svc:6380,password=...,ssl=true), or set Notary__Cluster__Redis__AllowInsecure=true to accept it on purpose.");
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId))
        {
            failures.Add("Notary:Cluster:ClusterId is empty: leave it unset (\"notary\") or name the cluster, e.g. Notary__Cluster__ClusterId=notary-prod.");
        }

        if (string.IsNullOrWhiteSpace(options.ServiceId))
        {
            failures.Add("Notary:Cluster:ServiceId is empty: leave it unset (\"notary\") or name the service, e.g. Notary__Cluster__ServiceId=notary.");
        }

        if (options.KubernetesHosting)
        {
            // Orleans' Kubernetes hosting takes the ids from these variables over Notary's own
            // settings, and patches the pod's labels when they differ (a right the chart does not
            // grant): the two must say the same.
            CheckPodId(failures, NotaryClusterOptions.ServiceIdVariable, options.PodServiceId, "ServiceId", options.ServiceId, "orleans/serviceId");
            CheckPodId(failures, NotaryClusterOptions.ClusterIdVariable, options.PodClusterId, "ClusterId", options.ClusterId, "orleans/clusterId");
        }

        if (!IPAddress.TryParse(options.AdvertisedAddress, out _))
        {
            failures.Add($"POD_IP \"{options.AdvertisedAddress}\" is not an IP address: set it from the pod's status.podIP (downward API) or leave it unset.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckPodId(List<string> failures, string variable, string? podValue, string setting, string value, string label)
    {
        if (string.IsNullOrWhiteSpace(podValue))
        {
            failures.Add($"{variable} is not set: in a pod with Notary:Cluster:Provider=redis, set it from the pod's {label} label (downward API fieldRef metadata.labels['{label}']), as the chart does.");
        }
        else if (!string.Equals(podValue, value, StringComparison.Ordinal))
        {
            failures.Add($"{variable} \"{podValue}\" (the pod's {label} label) differs from Notary:Cluster:{setting} \"{value}\": Orleans would use the label's value; set Notary__Cluster__{setting} to the same value (the chart sets both from cluster.{char.ToLowerInvariant(setting[0])}{setting[1..]}).");
        }
    }
}
