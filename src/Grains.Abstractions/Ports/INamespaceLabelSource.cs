namespace Notary.Grains.Abstractions.Ports;

/// <summary>
/// Port: the labels of a namespace, which a CertificatePolicy's namespaceSelector matches. Real
/// API servers label every namespace <c>kubernetes.io/metadata.name=NAME</c>.
/// </summary>
public interface INamespaceLabelSource
{
    /// <summary>The namespace's labels; null when it does not exist.</summary>
    Task<IReadOnlyDictionary<string, string>?> GetLabelsAsync(string @namespace, CancellationToken cancellationToken);
}
