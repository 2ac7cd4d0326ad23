using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Notary.Grains.Tests;

/// <summary>Event ids are what log queries and alerts select on: one id, one message, and an id never moves to another message.</summary>
public sealed class LogTests
{
    private static readonly IReadOnlyList<(string Name, int Id)> Messages =
    [
        .. typeof(CertificateGrain).Assembly.GetType("Notary.Grains.Log", throwOnError: true)!
            .GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => (m.Name, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
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
        Assert.Contains(("ReminderFailed", 17), Messages);
        Assert.Contains(("ReloadFailed", 16), Messages);
        Assert.Contains(("Issued", 1), Messages);
    }
}
