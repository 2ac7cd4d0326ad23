using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Restarts;

namespace Notary.Grains.Tests;

/// <summary>
/// The restarter's lookups of one namespace share a list: while one is in flight the callers that
/// arrive wait for the next one, which asks for all their Secrets together; each gets its own
/// workloads, from a list that started after it asked.
/// </summary>
public sealed class BatchedWorkloadFinderTests
{
    /// <summary>A namespace of workloads, each mounting one Secret; lists can be held open to let callers gather.</summary>
    private sealed class GatedFinder : IWorkloadFinder
    {
        private readonly Lock _lock = new();

        public List<string> Workloads { get; } = [];

        public List<IReadOnlyCollection<string>> Calls { get; } = [];

        public TaskCompletionSource Release { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<IReadOnlyList<WorkloadSnapshot>> FindAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken)
        {
            List<string> snapshot;
            lock (_lock)
            {
                Calls.Add([.. secretNames]);
                snapshot = [.. Workloads];
            }

            // The Release this list waits for is taken before Entered says so: a test that swaps
            // in a new Release once Entered is set holds this list, not the next.
            var release = Release;
            Entered.TrySetResult();
            await release.Task;
            return [.. snapshot.Where(secretNames.Contains).Select(s => new WorkloadSnapshot(new WorkloadRef(@namespace, "Deployment", s + "-app"), false, null, [s]))];
        }
    }

    [Fact]
    public async Task Callers_that_arrive_during_a_list_share_the_next_one_and_get_only_their_own_workloads()
    {
        var finder = new GatedFinder();
        finder.Workloads.AddRange(["a", "b", "c", "d"]);
        var batched = new BatchedWorkloadFinder(finder);

        var first = batched.FindAsync("shop", ["a"], CancellationToken.None);
        await finder.Entered.Task;
        var release = finder.Release;
        finder.Release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        finder.Release.SetResult();
        var waiting = new[] { batched.FindAsync("shop", ["b"], CancellationToken.None), batched.FindAsync("shop", ["c", "d"], CancellationToken.None), batched.FindAsync("shop", ["b"], CancellationToken.None) };
        Assert.Single(finder.Calls);
        release.SetResult();

        Assert.Equal(["a-app"], (await first).Select(w => w.Workload.Name));
        var answers = await Task.WhenAll(waiting);
        Assert.Equal(["b-app"], answers[0].Select(w => w.Workload.Name));
        Assert.Equal(["c-app", "d-app"], answers[1].Select(w => w.Workload.Name));
        Assert.Equal(["b-app"], answers[2].Select(w => w.Workload.Name));
        Assert.Equal(2, finder.Calls.Count);
        Assert.Equal(["b", "c", "d"], finder.Calls[1].Order(StringComparer.Ordinal));
        Assert.Equal(2, batched.Lists);
    }

    [Fact]
    public async Task A_caller_is_answered_from_a_list_that_started_after_it_asked()
    {
        var finder = new GatedFinder();
        finder.Workloads.Add("a");
        var batched = new BatchedWorkloadFinder(finder);

        var first = batched.FindAsync("shop", ["a", "new"], CancellationToken.None);
        await finder.Entered.Task;
        // A workload created while the first list is in flight: a later caller must see it.
        finder.Workloads.Add("new");

        var release = finder.Release;
        finder.Release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        finder.Release.SetResult();
        var later = batched.FindAsync("shop", ["new"], CancellationToken.None);
        release.SetResult();

        Assert.Equal(["a-app"], (await first).Select(w => w.Workload.Name));
        Assert.Equal(["new-app"], (await later).Select(w => w.Workload.Name));
    }

    [Fact]
    public async Task Namespaces_do_not_wait_for_each_other_and_a_failed_list_fails_only_its_callers()
    {
        var finder = new GatedFinder();
        finder.Workloads.Add("a");
        var batched = new BatchedWorkloadFinder(finder);
        var held = batched.FindAsync("shop", ["a"], CancellationToken.None);
        await finder.Entered.Task;

        var failing = new BatchedWorkloadFinder(new ThrowingFinder());
        await Assert.ThrowsAsync<InvalidOperationException>(() => failing.FindAsync("pay", ["a"], CancellationToken.None));

        // Another namespace lists at once, beside the one in flight.
        var other = batched.FindAsync("pay", ["a"], CancellationToken.None);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (finder.Calls.Count < 2)
        {
            // The list starts on the thread pool: wait for it (the first one is still held open).
            await Task.Delay(10, deadline.Token);
        }

        Assert.False(held.IsCompleted);
        finder.Release.SetResult();
        Assert.Single(await held);
        Assert.Single(await other);
    }

    [Fact]
    public async Task A_list_the_API_server_never_answers_times_out_and_the_next_caller_lists_afresh()
    {
        var finder = new GatedFinder();
        finder.Workloads.Add("a");
        var batched = new BatchedWorkloadFinder(finder, TimeSpan.FromMilliseconds(300));

        // The first list hangs (the Release it waits for is never set, and GatedFinder ignores
        // the token); lists after it are answered at once.
        var hung = batched.FindAsync("shop", ["a"], CancellationToken.None);
        await finder.Entered.Task;
        finder.Release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        finder.Release.SetResult();
        var joined = batched.FindAsync("shop", ["a"], CancellationToken.None);
        var error = await Assert.ThrowsAsync<TimeoutException>(() => hung);
        Assert.Contains("namespace shop", error.Message, StringComparison.Ordinal);

        // The caller that joined meanwhile gets the next list, which answers.
        Assert.Equal(["a-app"], (await joined.WaitAsync(TimeSpan.FromSeconds(10))).Select(w => w.Workload.Name));
        Assert.Equal(["a-app"], (await batched.FindAsync("shop", ["a"], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10))).Select(w => w.Workload.Name));
        Assert.Equal(3, batched.Lists);
    }

    private sealed class ThrowingFinder : IWorkloadFinder
    {
        public Task<IReadOnlyList<WorkloadSnapshot>> FindAsync(string @namespace, IReadOnlyCollection<string> secretNames, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the API server refused the list");
    }
}
