using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Notary.Grains.Tests;

/// <summary>Event ids are what log queries and alerts select on: one id, one message, and an id never moves to another message.</summary>
public sealed class LogTests
{
    /// <summary>Every [LoggerMessage] of the grains' assembly: Log, PolicyLog, the state protection's own, any later one.</summary>
    private static readonly IReadOnlyList<(string Name, int Id)> Messages =
    [
        .. typeof(CertificateGrain).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(m => (Name: $"{m.DeclaringType!.Name}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .Select(m => (m.Name, m.Attribute!.EventId)),
    ];

    [Fact]
    public void Every_message_has_its_own_event_id()
    {
        Assert.True(Messages.Count >= 20, $"found {Messages.Count} messages");
        var shared = Messages.GroupBy(m => m.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Name))}");
        Assert.Empty(shared);
    }

    [Fact]
    public void Released_event_ids_keep_their_messages()
    {
        // 17 shipped as the failed lifecycle reminder registration before the retry reminders came.
        Assert.Contains(("Log.ReminderFailed", 17), Messages);
        Assert.Contains(("Log.ReloadFailed", 16), Messages);
        Assert.Contains(("Log.Issued", 1), Messages);
    }
}
