using k8s;
using k8s.Autorest;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notary.CustomResources;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Watcher;

/// <summary>
/// The watcher as a hosted service: every instance competes for the coordination.k8s.io Lease
/// <see cref="NotaryWatcherOptions.LeaseName"/> in Notary's namespace with KubernetesClient's
/// <see cref="LeaderElector"/>; the holder runs a <see cref="WatchSession"/>, the others stand by.
/// When the leader stops renewing (it died, or lost the API server for longer than the renew
/// deadline) its session stops and a standby takes over once the Lease expires; a leader that
/// shuts down cleanly releases the Lease so that a standby takes over at once.
/// </summary>
public sealed class LeaderElectedWatcher : BackgroundService
{
    private readonly IKubernetes _client;
    private readonly Func<WatchSession> _newSession;
    private readonly NotaryWatcherOptions _options;
    private readonly string _namespace;
    private readonly TimeProvider _time;
    private readonly ILogger<LeaderElectedWatcher> _logger;
    private volatile bool _leading;

    public LeaderElectedWatcher(
        IKubernetes client,
        IResourceEventSink sink,
        ResourceFinalizers finalizers,
        IEventRecorder events,
        IOptions<NotaryWatcherOptions> options,
        IOptions<NotaryKubernetesOptions> kubernetesOptions,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        _client = client;
        _options = options.Value;
        _namespace = kubernetesOptions.Value.Namespace;
        _time = time;
        _logger = loggers.CreateLogger<LeaderElectedWatcher>();
        _newSession = () => new WatchSession(client, sink, finalizers, events, _options, time, loggers, _namespace);
        Identity = _options.Identity ?? DefaultIdentity();
        Contact = new ApiServerContact(time);
    }

    /// <summary>When this instance last heard from the API server (its Lease calls): the silo's readiness reads it.</summary>
    public ApiServerContact Contact { get; }

    /// <summary>POD_NAME (the chart sets it from the downward API), else host, process and a random suffix: unique per process.</summary>
    public static string DefaultIdentity()
    {
        if (Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod)
        {
            return pod;
        }

        var identity = $"{Environment.MachineName}_{Environment.ProcessId}_{Guid.NewGuid():N}";
        return identity.Length <= 253 ? identity : identity[^253..];
    }

    /// <summary>This instance's name in the Lease.</summary>
    public string Identity { get; }

    /// <summary>Whether this instance holds the Lease and runs the watch loops.</summary>
    public bool IsLeading => _leading;

    /// <summary>The current session while leading, for tests and diagnostics.</summary>
    public WatchSession? Session { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await EnsureNamespaceAsync(stoppingToken).ConfigureAwait(false);
        var backoff = new Backoff(_options.RetryPeriod, TimeSpan.FromTicks(_options.RetryPeriod.Ticks * 8));
        while (!stoppingToken.IsCancellationRequested)
        {
            var led = await RunTermAsync(stoppingToken).ConfigureAwait(false);
            if (led)
            {
                backoff.Reset();
            }

            try
            {
                await Task.Delay(backoff.Next(), _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        var wasLeading = _leading;
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (wasLeading && _options.ReleaseOnShutdown)
        {
            await ReleaseAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <returns>Whether this instance led during the term.</returns>
    private async Task<bool> RunTermAsync(CancellationToken stoppingToken)
    {
        var config = new LeaderElectionConfig(Contact.Track(new LeaseLock(_client, _namespace, _options.LeaseName, Identity)))
        {
            LeaseDuration = _options.LeaseDuration,
            RenewDeadline = _options.RenewDeadline,
            RetryPeriod = _options.RetryPeriod,
        };
        using var elector = new LeaderElector(config);

        // Cancelled when the term ends, which also stops a renewal the elector left running.
        using var term = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task? session = null;
        var led = false;
        elector.OnStartedLeading += () =>
        {
            led = true;
            _leading = true;
            Log.StartedLeading(_logger, Identity, _options.LeaseName);
            var current = _newSession();
            Session = current;
            session = Task.Run(() => current.RunAsync(term.Token), CancellationToken.None);
        };
        elector.OnStoppedLeading += () =>
        {
            _leading = false;
            Session = null;
            term.Cancel();
            if (stoppingToken.IsCancellationRequested)
            {
                Log.StoppedLeadingOnShutdown(_logger, Identity, _options.LeaseName);
            }
            else
            {
                Log.StoppedLeading(_logger, Identity, _options.LeaseName);
            }
        };
        elector.OnNewLeader += leader => Log.NewLeader(_logger, leader ?? "(none)", _options.LeaseName);
        elector.OnError += error =>
        {
            // A renewal the elector left running ends with the term: not an error worth a line.
            if (!(term.IsCancellationRequested && error is OperationCanceledException))
            {
                Log.ElectionError(_logger, _options.LeaseName, error?.GetType().Name ?? "unknown", Describe(error));
            }
        };

        try
        {
            await elector.RunUntilLeadershipLostAsync(term.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (term.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Log.ElectionError(_logger, _options.LeaseName, ex.GetType().Name, Describe(ex));
        }
        finally
        {
            _leading = false;
            Session = null;
            await term.CancelAsync().ConfigureAwait(false);
            if (session is not null)
            {
                try
                {
                    await session.ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Log.ElectionError(_logger, _options.LeaseName, ex.GetType().Name, ex.Message);
                }
            }
        }

        return led;
    }

    /// <summary>Gives up the Lease the way client-go does: an empty holder that any standby may take at once.</summary>
    private async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RenewDeadline);
            var lease = await _client.CoordinationV1.ReadNamespacedLeaseAsync(_options.LeaseName, _namespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            if (lease.Spec?.HolderIdentity != Identity)
            {
                return;
            }

            var now = _time.GetUtcNow().UtcDateTime;
            lease.Spec.HolderIdentity = string.Empty;
            lease.Spec.LeaseDurationSeconds = 1;
            lease.Spec.AcquireTime = now;
            lease.Spec.RenewTime = now;
            await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, _options.LeaseName, _namespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            Log.Released(_logger, Identity, _options.LeaseName);
        }
        catch (Exception ex)
        {
            // The Lease then expires on its own after LeaseDuration.
            Log.ElectionError(_logger, _options.LeaseName, ex.GetType().Name, Describe(ex));
        }
    }

    private async Task EnsureNamespaceAsync(CancellationToken stoppingToken)
    {
        try
        {
            await KubernetesNamespaces.EnsureAsync(_client, _namespace, _logger, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Without the right to read namespaces (production RBAC) the chart has created it.
            Log.ElectionError(_logger, _options.LeaseName, ex.GetType().Name, Describe(ex));
        }
    }

    private static string Describe(Exception? exception) => exception switch
    {
        null => "unknown",
        HttpOperationException http => KubernetesApiErrors.Describe(http),
        AggregateException { InnerException: { } inner } => Describe(inner),
        _ => exception.Message,
    };
}
