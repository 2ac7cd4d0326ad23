using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Notary.Watcher.Tests.Support;

public sealed record LogLine(string Category, LogLevel Level, EventId EventId, string Message)
{
    /// <summary>When the line was written (<see cref="Stopwatch.GetTimestamp"/>), to order lines of several loggers.</summary>
    public long Timestamp { get; init; } = Stopwatch.GetTimestamp();
}

/// <summary>Keeps every log line (to assert which paths ran, and that no secret was logged) and echoes them to the test output.</summary>
public sealed class CapturingLoggerProvider(ITestOutputHelper? output = null) : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyList<LogLine> Lines => [.. _lines];

    public int Count(int eventId) => _lines.Count(line => line.EventId.Id == eventId);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            owner._lines.Enqueue(new LogLine(category, logLevel, eventId, message));
            try
            {
                owner.Output?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category.Split('.')[^1]}: {message}");
            }
            catch (InvalidOperationException)
            {
                // The test has finished; its output is closed.
            }
        }
    }

    private ITestOutputHelper? Output => output;
}
