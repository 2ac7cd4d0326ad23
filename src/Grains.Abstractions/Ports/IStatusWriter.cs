namespace Notary.Grains.Abstractions.Ports;

/// <summary>Port: publishes a resource's status (the Kubernetes status subresource).</summary>
public interface IStatusWriter
{
    Task WriteCertificateStatusAsync(ResourceKey resource, CertificateStatus status, CancellationToken cancellationToken);

    Task WriteStoreStatusAsync(ResourceKey resource, ResourceKind kind, StoreStatus status, CancellationToken cancellationToken);
}

/// <summary>Kubernetes event types.</summary>
public enum EventSeverity
{
    Normal,
    Warning,
}

/// <summary>Port: records an Event on a resource.</summary>
public interface IEventRecorder
{
    Task RecordAsync(ResourceKey resource, ResourceKind kind, EventSeverity severity, string reason, string message, CancellationToken cancellationToken);

    /// <summary>
    /// Records an Event on the incarnation <paramref name="uid"/> of the resource, when the caller
    /// knows it: a resource deleted and created again under the same name is another object.
    /// </summary>
    Task RecordAsync(ResourceKey resource, ResourceKind kind, string? uid, EventSeverity severity, string reason, string message, CancellationToken cancellationToken) =>
        RecordAsync(resource, kind, severity, reason, message, cancellationToken);
}
