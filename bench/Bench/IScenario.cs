namespace Notary.Bench;

/// <summary>
/// One benchmark scenario. Scenarios are found by reflection (every non-abstract IScenario with a
/// public parameterless constructor), so adding one is adding a file.
/// </summary>
public interface IScenario
{
    /// <summary>The name given on the command line and printed in the RESULT line.</summary>
    string Name { get; }

    /// <summary>One line for --help: what is measured and the goal.</summary>
    string Description { get; }

    /// <summary>The count used when --count is not given (the goal size).</summary>
    int DefaultCount { get; }

    /// <summary>
    /// Runs the scenario, writes progress to <paramref name="output"/> and returns the result. A
    /// scenario verifies what it produced (a benchmark of wrong output measures nothing) and
    /// throws when the check fails.
    /// </summary>
    Task<BenchResult> RunAsync(BenchArgs args, TextWriter output, CancellationToken cancellationToken);
}
