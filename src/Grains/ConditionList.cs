using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>Sets conditions the Kubernetes way: lastTransitionTime moves only when the status flips.</summary>
internal static class ConditionList
{
    /// <summary>Sets a condition; true when its status, reason or message changed (worth an Event).</summary>
    public static bool Set(List<StatusCondition> conditions, string type, string status, string reason, string message, DateTimeOffset now, long generation)
    {
        var index = conditions.FindIndex(c => c.Type == type);
        var current = index >= 0 ? conditions[index] : null;
        var transition = current is null || current.Status != status ? now : current.LastTransitionTime;
        var updated = new StatusCondition(type, status, reason, message, transition, generation);
        if (index >= 0)
        {
            conditions[index] = updated;
        }
        else
        {
            conditions.Add(updated);
        }

        return current is null || current.Status != status || current.Reason != reason || current.Message != message;
    }

    public static void Remove(List<StatusCondition> conditions, string type) => conditions.RemoveAll(c => c.Type == type);
}
