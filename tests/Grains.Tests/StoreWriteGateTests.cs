using Microsoft.Extensions.Options;

namespace Notary.Grains.Tests;

/// <summary>The silo-wide bound on store writes: at most the configured number at once, the others wait their turn.</summary>
public sealed class StoreWriteGateTests
{
    [Fact]
    public async Task At_most_the_configured_number_of_writes_hold_a_slot_and_the_next_one_enters_when_one_leaves()
    {
        using var gate = new StoreWriteGate(Options.Create(new StoreWriteOptions { MaxConcurrentWrites = 2 }));
        var first = await gate.EnterAsync();
        var second = await gate.EnterAsync();

        var third = gate.EnterAsync();
        // Not a sleep to let it through: the third must still be waiting once the others are in.
        Assert.False(third.IsCompleted);

        first.Dispose();
        using (await third.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            var fourth = gate.EnterAsync();
            Assert.False(fourth.IsCompleted);
            second.Dispose();
            (await fourth.WaitAsync(TimeSpan.FromSeconds(10))).Dispose();
        }
    }

    [Fact]
    public async Task A_slot_given_back_early_and_again_at_the_end_of_its_scope_frees_one_place_only()
    {
        using var gate = new StoreWriteGate(Options.Create(new StoreWriteOptions { MaxConcurrentWrites = 1 }));
        var slot = await gate.EnterAsync();
        slot.Dispose();
        slot.Dispose();

        using var next = await gate.EnterAsync().WaitAsync(TimeSpan.FromSeconds(10));
        // Had the second Dispose released again, a second writer would be in beside this one.
        Assert.False(gate.EnterAsync().IsCompleted);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(8, true)]
    [InlineData(256, true)]
    [InlineData(257, false)]
    public void The_bound_must_be_between_1_and_256(int max, bool valid)
    {
        var result = new StoreWriteOptionsValidator().Validate(null, new StoreWriteOptions { MaxConcurrentWrites = max });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Notary:Store:MaxConcurrentWrites", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Coalesced truststore rebuilds hold their slot while they read the metadata Secret and their
    /// sources: however many are stuck there, a direct write (a quarantine's rebuild) still enters.
    /// </summary>
    [Fact]
    public async Task Stuck_coalesced_rebuilds_leave_one_slot_to_direct_writes()
    {
        using var gate = new StoreWriteGate(Options.Create(new StoreWriteOptions { MaxConcurrentWrites = 3 }));
        var stuck = new[] { await gate.EnterCoalescedAsync(), await gate.EnterCoalescedAsync() };
        var third = gate.EnterCoalescedAsync();
        Assert.False(third.IsCompleted);

        // Completes at once: had the coalesced rebuilds taken every slot, it would wait for them.
        var direct = gate.EnterAsync();
        Assert.True(direct.IsCompleted, "a direct write waits behind stuck coalesced rebuilds");
        Assert.False(gate.EnterAsync().IsCompleted);

        (await direct).Dispose();
        stuck[0].Dispose();
        (await third.WaitAsync(TimeSpan.FromSeconds(10))).Dispose();
        stuck[1].Dispose();
    }
}
