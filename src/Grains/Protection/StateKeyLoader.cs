using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Protection;

/// <summary>
/// Loads the state data keys into <see cref="StateProtector"/> when the silo starts, before it
/// becomes active: a silo that cannot read its keys (Secret unreadable, KMS Decrypt denied)
/// does not start, rather than activating grains whose state it cannot read.
/// </summary>
public sealed partial class StateKeyLoader(IDataKeySource source, StateProtector protector, ILogger<StateKeyLoader> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(StateKeyLoader), ServiceLifecycleStage.RuntimeServices, LoadAsync);

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var keys = await source.GetAsync(cancellationToken);
        protector.Use(keys);
        Loaded(logger, keys.Current.Id, keys.All.Count);
    }

    [LoggerMessage(913, LogLevel.Information, "State data keys loaded: new state is encrypted with key {KeyId} ({Count} keys known)")]
    private static partial void Loaded(ILogger logger, string keyId, int count);
}

public static class StateProtectionServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="StateProtector"/> and its loader. The host registers the
    /// <see cref="IDataKeySource"/> (an adapter) beside it.
    /// </summary>
    public static IServiceCollection AddNotaryStateProtection(this IServiceCollection services)
    {
        services.TryAddSingleton<StateProtector>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILifecycleParticipant<ISiloLifecycle>, StateKeyLoader>());
        return services;
    }
}
