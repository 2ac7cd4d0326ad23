namespace Notary.Aws;

/// <summary>
/// What distinguishes one AWS JSON 1.1 service on the wire, as its botocore service model states
/// it: the endpoint host prefix, the X-Amz-Target prefix and the SigV4 signing name.
/// </summary>
public sealed record AwsServiceInfo(string EndpointPrefix, string TargetPrefix, string SigningName)
{
    /// <summary>AWS Certificate Manager (acm 2015-12-08).</summary>
    public static AwsServiceInfo Acm { get; } = new("acm", "CertificateManager", "acm");

    /// <summary>AWS Secrets Manager (secretsmanager 2017-10-17).</summary>
    public static AwsServiceInfo SecretsManager { get; } = new("secretsmanager", "secretsmanager", "secretsmanager");

    /// <summary>AWS Key Management Service (kms 2014-11-01; its model names no signingName, so the endpoint prefix signs).</summary>
    public static AwsServiceInfo Kms { get; } = new("kms", "TrentService", "kms");

    /// <summary>AWS Certificate Manager Private Certificate Authority (acm-pca 2017-08-22).</summary>
    public static AwsServiceInfo AcmPca { get; } = new("acm-pca", "ACMPrivateCA", "acm-pca");
}
