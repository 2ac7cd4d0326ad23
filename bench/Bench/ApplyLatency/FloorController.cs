using System.Text.Json;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Notary.CustomResources.Models;

namespace Notary.Bench.ApplyLatency;

/// <summary>
/// The least a controller can do (--controller floor): watch Certificates and, for each new one,
/// write Ready=True into its status with the same number of workers as Notary's watcher. No
/// finalizer, no grain, no certificate, no Event. What the client, DevCluster and one status write
/// cost on these cores: the floor under Notary's latency in this benchmark.
/// </summary>
public sealed class FloorController : IAsyncDisposable
{
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];

    /// <summary>Status writes made.</summary>
    public int Writes => _writes;

    private int _writes;

    public static async Task<FloorController> StartAsync(IKubernetes client, string ns, int workers, CancellationToken cancellationToken)
    {
        var controller = new FloorController();
        var list = (JsonElement)await client.CustomObjects.ListNamespacedCustomObjectAsync(NotaryResources.Group, NotaryResources.Version, ns, NotaryResources.CertificatePlural, cancellationToken: cancellationToken);
        var resourceVersion = list.GetProperty("metadata").GetProperty("resourceVersion").GetString();
        controller._tasks.Add(controller.WatchAsync(client, ns, resourceVersion));
        for (var i = 0; i < workers; i++)
        {
            controller._tasks.Add(controller.WorkAsync(client, ns));
        }

        return controller;
    }

    private async Task WatchAsync(IKubernetes client, string ns, string? resourceVersion)
    {
        var events = client.CustomObjects.WatchListNamespacedCustomObjectAsync(
            NotaryResources.Group, NotaryResources.Version, ns, NotaryResources.CertificatePlural,
            resourceVersion: resourceVersion, timeoutSeconds: 3600, cancellationToken: _stop.Token);
        try
        {
            await foreach (var (type, value) in events.WithCancellation(_stop.Token).ConfigureAwait(false))
            {
                if (type == WatchEventType.Added && value is JsonElement item && !item.TryGetProperty("status", out _))
                {
                    await _queue.Writer.WriteAsync(item.GetProperty("metadata").GetProperty("name").GetString()!, _stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task WorkAsync(IKubernetes client, string ns)
    {
        try
        {
            await foreach (var name in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                var patch = new
                {
                    status = new
                    {
                        conditions = new[]
                        {
                            new { type = ConditionTypes.Ready, status = ConditionStatuses.True, reason = "Floor", message = "written by the floor controller", lastTransitionTime = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) },
                        },
                    },
                };
                await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch),
                    NotaryResources.Group, NotaryResources.Version, ns, NotaryResources.CertificatePlural, name, cancellationToken: _stop.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _writes);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_tasks);
        _stop.Dispose();
    }
}
