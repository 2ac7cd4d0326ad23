using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Tests;

/// <summary>
/// The values behind the frozen grain-state bytes in Fixtures/frozen-state.txt. The bytes were
/// written once, by the serializer of commit 0b8c3ef (before any [Alias] existed), and are never
/// regenerated: a test that loads them proves state saved then still loads now.
/// </summary>
internal static class FrozenStateSamples
{
    public static readonly DateTimeOffset At = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    public static CertificateState Certificate()
    {
        var state = new CertificateState
        {
            Spec = new CertificateSpec { Type = "Private", Fqdn = "orders.orders.svc.cluster.local", Alt = ["orders.example"], Issuer = "builtin", Duration = "2160h", RenewBefore = "720h", KeyAlgorithm = "ECDSA", KeySize = 256 },
            Origin = new ResourceVersionInfo("uid-1", 3),
            Material = new StoredMaterial
            {
                Arn = "urn:notary:builtin:orders/orders/7",
                Certificate = [2, .. "-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n"u8.ToArray()],
                ChainPem = ["-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n"],
                Key = [0, 1, 2, 3],
                SerialNumber = "0A1B2C",
                NotBefore = At,
                NotAfter = At.AddDays(90),
            },
            IssuedFor = new CertificateSpec { Type = "Private", Fqdn = "orders.orders.svc.cluster.local", Alt = ["orders.example"], Issuer = "builtin", Duration = "2160h", RenewBefore = "720h", KeyAlgorithm = "ECDSA", KeySize = 256 },
            Revision = 7,
            RenewalTime = At.AddDays(60),
            Conditions = [new StatusCondition("Ready", "True", "Issued", "Certificate is valid.", At, 3)],
            RegisteredFqdn = "orders.orders.svc.cluster.local",
            Reconciled = new ResourceVersionInfo("uid-1", 3),
            Pending = new PendingIssuance
            {
                Ticket = "ticket-1",
                Purpose = IssuePurpose.Renew,
                For = new CertificateSpec { Type = "Public", Fqdn = "orders.example" },
                Origin = new ResourceVersionInfo("uid-1", 2),
                Reason = "PendingValidation",
                Message = "Create the DNS record.",
                ValidationRecords = [new ValidationRecord("_x.orders.example", "CNAME", "_y.acm-validations.aws")],
                EventReason = "Renewed",
                Why = "its renewal time came",
                Steps = 2,
            },
            RenewalFailures = 2,
            NextRenewalAttempt = At.AddHours(1),
            Quarantined = true,
            ReminderDue = At.AddDays(7),
            ContinueRegistered = true,
        };
        state.AddSubscriber(new SubscriberRef(ResourceKind.Truststore, "orders/orders-truststore"));
        state.AddAlertSent(TimeSpan.FromDays(30));
        return state;
    }

    public static StoreState<TruststoreSpec> Truststore()
    {
        var state = new StoreState<TruststoreSpec>
        {
            Spec = new TruststoreSpec
            {
                Fqdn = "orders.orders.svc.cluster.local",
                CertName = "orders",
                Upstream = [new TrustReference { Tag = "payments", Fqdn = "payments.payments.svc.cluster.local", Namespace = "payments" }],
                Downstream = [new TrustReference { Tag = "frontend", Fqdn = "frontend.frontend.svc.cluster.local" }],
                Format = "JKS",
                MetadataSecret = "notary-metadata",
            },
            Origin = new ResourceVersionInfo("uid-2", 4),
            Stored = new StoredLocation("k8s://orders/secrets/orders-truststore", "k8s://orders/secrets/orders-truststore"),
            Entries = ["orders", "payments"],
            Conditions = [new StatusCondition("Ready", "True", "Stored", "Stored.", At, 4)],
            MetadataSecret = "notary-metadata",
            BuiltGeneration = 4,
            MetadataFingerprint = "fp",
            MetadataSalt = [9, 8, 7],
            MustWrite = true,
            RetryRegistered = true,
        };
        state.BuiltFrom["orders/orders"] = 7;
        state.Certificates.Add("orders/orders");
        state.Tags.Add("frontend");
        state.Excluded.Add("payments/payments");
        return state;
    }

    public static BreachState Breach() => new()
    {
        Report = new BreachReport
        {
            Id = "b-1",
            Certificate = new ResourceKey("orders", "orders"),
            Mode = BreachMode.Quarantine,
            Reason = "key leaked",
            Phase = BreachPhase.Completed,
            Created = At,
            Items = [new BreachItem("Truststore", "orders", "orders-truststore", BreachItemStatus.Completed, "rebuilt")],
            Message = "done",
            RequestedBy = "alice",
            Finished = At.AddMinutes(1),
        },
    };

    /// <summary>An issuer's state as the first Notary with issuers (issue 18) saved it.</summary>
    public static IssuerState Issuer()
    {
        var state = new IssuerState
        {
            Spec = new IssuerSpec { Ca = new CaIssuerSpec("team-ca") },
            Origin = new ResourceVersionInfo("uid-i", 3),
            Conditions = [new StatusCondition("Ready", "True", "Ready", "issues from the CA in Secret orders/team-ca", At, 3)],
            CaPem = "-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n",
            CaFingerprint = "AB01",
            CaNotAfter = At.AddDays(365),
            PreviousCaPem = "-----BEGIN CERTIFICATE-----\nb2xk\n-----END CERTIFICATE-----\n",
            RetryRegistered = true,
        };
        state.Issued["orders/orders"] = "AB01";
        state.Waiting.Add("orders/late");
        return state;
    }
}
