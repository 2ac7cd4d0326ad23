using k8s.Models;
using Notary.CustomResources.Models;

namespace Notary.Adapters.Kubernetes.Tests.Support;

/// <summary>Objects with every field set, as the controller and a user would write them.</summary>
internal static class Samples
{
    private static readonly DateTimeOffset Issued = new(2026, 11, 22, 16, 17, 0, TimeSpan.Zero);

    public static Certificate Certificate() => new()
    {
        Metadata = new V1ObjectMeta { Name = "test-service", NamespaceProperty = "test-service", Generation = 3 },
        Spec = new CertificateSpec
        {
            Type = CertificateTypes.Public,
            Fqdn = "test-service.test-service.svc.cluster.local",
            Alt = ["test-service.example.com", "*.test-service.example.com"],
            Issuer = "acm",
            IssuerRef = new IssuerReference { Name = "team-ca", Kind = "ClusterIssuer" },
            Duration = "2160h",
            RenewBefore = "720h",
            PrivateKey = new PrivateKeySpec { Algorithm = KeyAlgorithms.Ecdsa, Size = 384 },
        },
        Status = new CertificateStatus
        {
            Arn = "arn:aws:acm:us-west-2:123456789012:certificate/0b5f8f8e-3c4a-4a8e-9d5b-1f2e3d4c5b6a",
            SerialNumber = "0a1b2c3d4e5f",
            NotBefore = Issued,
            NotAfter = Issued.AddDays(90),
            RenewalTime = Issued.AddDays(60).AddTicks(1234567),
            PreviousSerialNumber = "0a1b2c3d4e5e",
            LastManualRenewal = new ManualRenewalStatus { Token = "20261205T231500Z", RequestedAt = Issued.AddDays(30), Outcome = "Reissued" },
            Revision = 2,
            Tags = new Dictionary<string, string> { ["notary.dev/namespace"] = "test-service", ["notary.dev/name"] = "test-service" },
            ObservedGeneration = 3,
            ValidationRecords = [new ValidationRecord { Name = "_x1.test-service.example.com.", Type = "CNAME", Value = "_x2.acm-validations.aws." }],
            Conditions =
            [
                new Condition { Type = ConditionTypes.Ready, Status = ConditionStatuses.False, Reason = "PendingValidation", Message = "Create the DNS records in status.validationRecords", LastTransitionTime = Issued, ObservedGeneration = 3 },
                new Condition { Type = ConditionTypes.Issuing, Status = ConditionStatuses.True, Reason = "Requested", LastTransitionTime = Issued, ObservedGeneration = 3 },
            ],
        },
    };

    public static Keystore Keystore() => new()
    {
        Metadata = new V1ObjectMeta { Name = "test-service", NamespaceProperty = "test-service", Generation = 1 },
        Spec = new KeystoreSpec { Fqdn = "test-service.test-service.svc.cluster.local", CertName = "test-service", Format = StoreFormats.Jks, MetadataSecret = "test-service-metadata" },
        Status = new KeystoreStatus
        {
            Arn = "arn:aws:secretsmanager:us-west-2:123456789012:secret:notary/test-service/test-service-AbCdEf",
            Location = "k8s://test-service/secrets/test-service",
            CertificateRevision = 2,
            ObservedGeneration = 1,
            Conditions = [new Condition { Type = ConditionTypes.Ready, Status = ConditionStatuses.True, Reason = "Stored", Message = "Stored", LastTransitionTime = Issued, ObservedGeneration = 1 }],
        },
    };

    public static Truststore Truststore() => new()
    {
        Metadata = new V1ObjectMeta { Name = "test-service-trust", NamespaceProperty = "test-service", Generation = 2 },
        Spec = new TruststoreSpec
        {
            Fqdn = "test-service.test-service.svc.cluster.local",
            CertName = "test-service",
            Upstream = [new PeerReference { Tag = "orders", Fqdn = "orders.orders.svc.cluster.local", Namespace = "orders" }],
            Downstream =
            [
                new PeerReference { Tag = "gateway", Fqdn = "gateway.edge.svc.cluster.local" },
                new PeerReference { Tag = "batch", Fqdn = "batch.jobs.svc.cluster.local", Namespace = "jobs" },
            ],
            Format = StoreFormats.Pkcs12,
            MetadataSecret = StoreDefaults.MetadataSecret,
            Trust = TrustModes.Pinned,
            Sources =
            [
                new TrustSource { ConfigMap = new ObjectKeyReference { Name = "partner-ca", Key = "ca.pem" } },
                new TrustSource { Secret = new ObjectKeyReference { Name = "db-ca", Key = "bundle.pem" } },
                new TrustSource { Inline = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
                new TrustSource { DefaultCAs = true },
            ],
        },
        Status = new TruststoreStatus
        {
            Arn = "k8s://test-service/secrets/test-service-trust",
            Location = "k8s://test-service/secrets/test-service-trust",
            CertificateRevision = new Dictionary<string, long> { ["test-service/test-service"] = 2, ["orders/orders"] = 1, ["edge/gateway"] = 5, ["jobs/batch"] = 1 },
            Entries = ["test-service.test-service", "orders.orders", "gateway.edge", "batch.jobs"],
            References = [new BoundReferenceStatus { Tag = "gateway", Namespace = "edge", Uid = "6b1f3c2e-0d4a-4c1e-9f0b-2a7d5e8c1b43" }],
            ObservedGeneration = 2,
            Conditions = [new Condition { Type = ConditionTypes.Ready, Status = ConditionStatuses.True, Reason = "Stored", Message = "Stored in Secret test-service-trust", LastTransitionTime = Issued, ObservedGeneration = 2 }],
        },
    };

    public static Issuer CaIssuer() => new()
    {
        Metadata = new V1ObjectMeta { Name = "team-ca", NamespaceProperty = "payments", Generation = 2 },
        Spec = new IssuerResourceSpec { Ca = new CaIssuer { SecretName = "team-intermediate" } },
        Status = new IssuerResourceStatus
        {
            Type = "ca",
            CaFingerprint = "0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F9",
            CaNotAfter = Issued.AddDays(365),
            Certificates = 12,
            ObservedGeneration = 2,
            Rotation = new IssuerRotation
            {
                Phase = "Reissuing",
                FromFingerprint = "0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F9",
                ToFingerprint = "F9E8D7C6B5A4938271605F4E3D2C1B0AF9E8D7C6B5A4938271605F4E3D2C1B0A",
                Total = 12,
                Remaining = 5,
                LeftBehind = ["payments/orders"],
                LeftBehindCount = 1,
                Started = Issued,
            },
            Conditions = [new Condition { Type = ConditionTypes.Ready, Status = ConditionStatuses.True, Reason = "CaLoaded", Message = "Signing with CN=Team Intermediate CA", LastTransitionTime = Issued, ObservedGeneration = 2 }],
        },
    };

    public static Issuer BuiltinIssuer() => new()
    {
        Metadata = new V1ObjectMeta { Name = "default", NamespaceProperty = "payments", Generation = 1 },
        Spec = new IssuerResourceSpec { Builtin = new BuiltinIssuer() },
    };

    public static ClusterIssuer AcmClusterIssuer() => new()
    {
        Metadata = new V1ObjectMeta { Name = "shared-pca", Generation = 1 },
        Spec = new IssuerResourceSpec
        {
            Acm = new AcmIssuer
            {
                Region = "eu-west-1",
                PrivateCaArn = "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/0b5f8f8e-3c4a-4a8e-9d5b-1f2e3d4c5b6a",
                RoleArn = "arn:aws:iam::210987654321:role/notary-issuer",
                ServiceUrl = "https://vpce-0a1b2c3d.acm-pca.eu-west-1.vpce.amazonaws.com",
            },
        },
        Status = new IssuerResourceStatus
        {
            Type = "acm",
            ObservedGeneration = 1,
            Conditions = [new Condition { Type = ConditionTypes.Ready, Status = ConditionStatuses.False, Reason = "AssumeRoleFailed", Message = "STS refused", LastTransitionTime = Issued, ObservedGeneration = 1 }],
        },
    };
}
