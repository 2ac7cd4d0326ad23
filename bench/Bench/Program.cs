// Notary's benchmarks: `dotnet run -c Release --project bench/Bench -- SCENARIO [--count N]`.
// Each run prints its progress, then one line `RESULT SCENARIO key=value ...` (bench/RESULTS.md
// records them with the commit). Exit 0 on a result, 1 when the scenario failed, 2 on bad usage.
using System.Reflection;
using Notary.Bench;

var scenarios = typeof(IScenario).Assembly.GetTypes()
    .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IScenario).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) is not null)
    .Select(t => (IScenario)Activator.CreateInstance(t)!)
    .OrderBy(s => s.Name, StringComparer.Ordinal)
    .ToDictionary(s => s.Name, StringComparer.Ordinal);

if (args.Length == 0 || args[0] is "--help" or "-h")
{
    Console.WriteLine(BenchArgs.Usage);
    foreach (var scenario in scenarios.Values)
    {
        Console.WriteLine($"  {scenario.Name,-14} {scenario.Description} (default --count {scenario.DefaultCount})");
    }

    return args.Length == 0 ? 2 : 0;
}

BenchArgs parsed;
try
{
    parsed = BenchArgs.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchArgs.Usage);
    return 2;
}

if (!scenarios.TryGetValue(parsed.Scenario, out var chosen))
{
    Console.Error.WriteLine($"unknown scenario '{parsed.Scenario}'; scenarios: {string.Join(", ", scenarios.Keys)}");
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

Console.WriteLine($"Notary benchmark {chosen.Name}, count {parsed.CountOr(chosen.DefaultCount)}, {Environment.ProcessorCount} cores, " +
    $"commit {Assembly.GetExecutingAssembly().GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown"}");
try
{
    var result = await chosen.RunAsync(parsed, Console.Out, cancel.Token);
    Console.WriteLine(result.Line());
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
#pragma warning disable CA1031 // a failed scenario is reported with its exception and exit code 1
catch (Exception e)
#pragma warning restore CA1031
{
    Console.Error.WriteLine($"{chosen.Name} failed: {e}");
    return 1;
}
