using Notary.Grains.Abstractions;

namespace Notary.Grains;

/// <summary>Turns a persisted <see cref="SubscriberRef"/> back into a grain reference.</summary>
internal static class Subscribers
{
    public static ICertificateSubscriber Get(IGrainFactory factory, SubscriberRef subscriber) => subscriber.Kind switch
    {
        ResourceKind.Keystore => factory.GetGrain<IKeystoreGrain>(subscriber.Key),
        ResourceKind.Truststore => factory.GetGrain<ITruststoreGrain>(subscriber.Key),
        _ => throw new ArgumentOutOfRangeException(nameof(subscriber), subscriber.Kind, "Only stores subscribe to certificates."),
    };
}
