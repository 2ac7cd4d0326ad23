using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace Notary.Grains.Tests.Fakes;

/// <summary>
/// Counts the reads of one reminder (<c>GetReminder</c> in a grain) per grain, in front of the
/// silo's reminder table: a grain that reads the table where its state already says there is
/// nothing to read costs a round trip to the table's store in production.
/// </summary>
public sealed class CountingReminderTable
{
    private readonly ConcurrentDictionary<GrainId, int> _reads = new();

    public int ReadsOf(GrainId grain) => _reads.GetValueOrDefault(grain);

    /// <summary>Replaces the silo's reminder table (registered before this call) with one that counts and forwards.</summary>
    public void Decorate(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IReminderTable) && !d.IsKeyedService);
        services.Remove(original);
        services.AddSingleton(sp =>
        {
            var inner = (IReminderTable)(original.ImplementationInstance
                ?? original.ImplementationFactory?.Invoke(sp)
                ?? ActivatorUtilities.CreateInstance(sp, original.ImplementationType!));
            var proxy = DispatchProxy.Create<IReminderTable, Forwarder>();
            ((Forwarder)(object)proxy).Init(inner, this);
            return proxy;
        });
    }

    /// <summary>A proxy rather than a class implementing the interface: it forwards every overload, whatever Orleans adds.</summary>
    public class Forwarder : DispatchProxy
    {
        private IReminderTable _inner = null!;
        private CountingReminderTable _counts = null!;

        internal void Init(IReminderTable inner, CountingReminderTable counts) => (_inner, _counts) = (inner, counts);

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IReminderTable.ReadRow) && args is [GrainId grain, ..])
            {
                _counts._reads.AddOrUpdate(grain, 1, (_, n) => n + 1);
            }

            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
                throw;
            }
        }
    }
}
