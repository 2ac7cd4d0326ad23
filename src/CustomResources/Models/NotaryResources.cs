namespace Notary.CustomResources.Models;

/// <summary>
/// Names of Notary's custom resources, as declared by the CRD manifests in charts/notary/crds
/// (the tests hold the two in step).
/// </summary>
public static class NotaryResources
{
    public const string Group = "notary.dev";

    public const string Version = "v1alpha1";

    /// <summary>The apiVersion field of every Notary object: group/version.</summary>
    public const string ApiVersion = Group + "/" + Version;

    public const string CertificatePlural = "certificates";

    public const string KeystorePlural = "keystores";

    public const string TruststorePlural = "truststores";

    public const string BreachPlural = "breaches";

    public const string IssuerPlural = "issuers";

    public const string ClusterIssuerPlural = "clusterissuers";

    /// <summary>
    /// The finalizer that keeps a resource until Notary has deleted what it stored; on a Breach,
    /// until a quarantine is lifted (the certificate back in truststores unless another quarantine
    /// holds it) and the breach grain's state cleared.
    /// </summary>
    public const string CleanupFinalizer = Group + "/cleanup";
}
