namespace Notary.Grains.Abstractions.Ports;

/// <summary>
/// Port: publishes a CertificatePolicy's status (cluster-scoped, by name): its Ready condition,
/// False with reason InvalidPolicy when a field cannot be read (the policy is then ignored).
/// </summary>
public interface ICertificatePolicyStatusWriter
{
    Task WriteAsync(string name, StatusCondition ready, long observedGeneration, CancellationToken cancellationToken);
}
