using System.Diagnostics;
using System.Text;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Tests.Fakes;

namespace Notary.Grains.Tests;

/// <summary>
/// Issuer and ClusterIssuer grains and the Certificates that name them (spec.issuerRef), with the
/// other side of each port faked (the CA Secret reader, the issuer status writer, the CA rotation
/// grain) and CAs made by the real openssl CLI.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IssuerGrainTests(ClusterFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("notary-issuer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CertificateSpec Cert(string fqdn, IssuerRef issuerRef) =>
        new() { Type = "Private", Fqdn = fqdn, KeyAlgorithm = "ECDSA", KeySize = 256, IssuerRef = issuerRef };

    private static IssuerSpec Ca(string secretName) => new() { Ca = new CaIssuerSpec(secretName) };

    private static ResourceVersionInfo Origin(long generation = 1) => new("uid-" + generation, generation);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_ca_issuer_with_a_team_intermediate_issues_leaves_whose_chain_verifies_to_the_root_with_openssl()
    {
        var ns = ClusterFixture.NewNamespace();
        var ca = MakeRootAndIntermediate("team");
        fixture.CaSecrets.Put(ns, "team-ca", ca.IntermediatePem, ca.IntermediateKeyPem);
        var issuerKey = IssuerKeys.Namespaced(ns, "team");
        var status = await fixture.Grains.GetGrain<IIssuerGrain>(issuerKey).ApplyAsync(Ca("team-ca"), Origin());
        Assert.Equal("True", status.Conditions.Single(c => c.Type == Conditions.Ready).Status);
        Assert.Equal("ca", status.Type);
        Assert.Equal(IssuerGrain.Describe(ca.IntermediatePem).Fingerprint, status.CaFingerprint);

        var resource = new ResourceKey(ns, "api");
        var grain = fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString());
        await grain.ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("team", IssuerKinds.Issuer)), Origin());
        var issued = await fixture.Status.WaitCertificateAsync(resource, s => s.IsReady, "issued by the team's intermediate");
        var material = await grain.GetIssuedMaterialAsync(issued.Revision);
        Assert.NotNull(material);
        Assert.StartsWith($"urn:notary:{issuerKey}:certificate/", material!.Arn, StringComparison.Ordinal);
        // The chain is the intermediate (first) then the root: leaves carry the full chain.
        Assert.Equal(2, material.ChainPem.Count);
        Assert.Equal(IssuerGrain.Describe(ca.IntermediatePem).Fingerprint, IssuerGrain.Describe(material.ChainPem[0]).Fingerprint);

        var leaf = Path.Combine(_dir, "leaf.pem");
        var untrusted = Path.Combine(_dir, "chain.pem");
        await File.WriteAllTextAsync(leaf, material.CertificatePem);
        await File.WriteAllTextAsync(untrusted, string.Concat(material.ChainPem));
        var (code, output) = OpenSsl("verify", "-CAfile", ca.RootFile, "-untrusted", untrusted, "-purpose", "sslserver", leaf);
        Assert.True(code == 0, output);
        // And only to that root: another root does not verify it.
        var other = MakeRootAndIntermediate("other");
        Assert.NotEqual(0, OpenSsl("verify", "-CAfile", other.RootFile, "-untrusted", untrusted, leaf).Code);

        var issuerStatus = await fixture.IssuerStatus.WaitAsync(issuerKey, s => s.Certificates == 1, "one certificate issued");
        Assert.Equal(1, issuerStatus.Certificates);
    }

    [Theory]
    [InlineData("notary-ca")]
    [InlineData("notary-state-key")]
    public async Task A_ClusterIssuer_naming_one_of_Notarys_own_Secrets_is_refused_without_reading_it(string secretName)
    {
        var issuerKey = IssuerKeys.Cluster("own-" + Guid.NewGuid().ToString("N")[..8]);
        fixture.CaSecrets.Put(fixture.CaSecrets.NotaryNamespace, secretName, fixture.Authority.Authority.CertificatePem, "not read");

        var status = await fixture.Grains.GetGrain<IIssuerGrain>(issuerKey).ApplyAsync(Ca(secretName), Origin());

        var ready = status.Conditions.Single(c => c.Type == Conditions.Ready);
        Assert.Equal(("False", IssuerGrain.SecretNotAllowedReason), (ready.Status, ready.Reason));
        Assert.Contains("one of Notary's own Secrets", ready.Message, StringComparison.Ordinal);
        Assert.Null(status.CaFingerprint);
        Assert.DoesNotContain((fixture.CaSecrets.NotaryNamespace, secretName), fixture.CaSecrets.Reads);
    }

    [Fact]
    public async Task A_missing_Secret_leaves_the_certificate_IssuerNotReady_and_it_is_issued_when_the_Secret_appears()
    {
        var ns = ClusterFixture.NewNamespace();
        var issuerKey = IssuerKeys.Namespaced(ns, "team");
        var issuer = fixture.Grains.GetGrain<IIssuerGrain>(issuerKey);
        var status = await issuer.ApplyAsync(Ca("team-ca"), Origin());
        var ready = status.Conditions.Single(c => c.Type == Conditions.Ready);
        Assert.Equal(("False", IssuerGrain.SecretNotFoundReason), (ready.Status, ready.Reason));
        Assert.Contains($"Secret {ns}/team-ca does not exist", ready.Message, StringComparison.Ordinal);

        var resource = new ResourceKey(ns, "api");
        var grain = fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString());
        var waiting = await grain.ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("team", IssuerKinds.Issuer)), Origin());
        var condition = waiting.Condition(Conditions.Ready)!;
        Assert.Equal((Conditions.False, Reasons.IssuerNotReady), (condition.Status, condition.Reason));
        Assert.Contains(IssuerGrain.SecretNotFoundReason, condition.Message, StringComparison.Ordinal);
        Assert.Contains($"Issuer {ns}/team", condition.Message, StringComparison.Ordinal);

        // A resync asks again: still one Warning Event, no certificate, and the issuer does not
        // read its Secret again for it (a refusal waits for the Secret's change, no retry storm).
        await grain.ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("team", IssuerKinds.Issuer)), Origin());
        Assert.Single(fixture.Events.For(resource), e => e.Reason == Reasons.IssuerNotReady && e.Severity == EventSeverity.Warning);
        Assert.Single(fixture.CaSecrets.Reads, r => r == (ns, "team-ca"));

        // The Secret appears; the watcher tells the issuer; nobody touches the certificate.
        var ca = MakeRootAndIntermediate("late");
        fixture.CaSecrets.Put(ns, "team-ca", ca.IntermediatePem, ca.IntermediateKeyPem);
        await issuer.OnCaSecretChangedAsync();
        var issued = await fixture.Status.WaitCertificateAsync(resource, s => s.IsReady, "issued once the issuer is Ready");
        Assert.Equal(1, issued.Revision);
        await fixture.IssuerStatus.WaitReasonAsync(issuerKey, IssuerGrain.ReadyReason);
    }

    [Fact]
    public async Task A_namespaced_Issuer_reads_only_its_own_namespace_and_a_ClusterIssuer_reads_Notarys()
    {
        var ns = ClusterFixture.NewNamespace();
        var elsewhere = ClusterFixture.NewNamespace();
        var ca = MakeRootAndIntermediate("ns");
        // The Secret exists, but in another namespace: the Issuer does not see it.
        fixture.CaSecrets.Put(elsewhere, "shared-ca", ca.IntermediatePem, ca.IntermediateKeyPem);
        var status = await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "x")).ApplyAsync(Ca("shared-ca"), Origin());
        Assert.Equal(IssuerGrain.SecretNotFoundReason, status.Conditions.Single().Reason);
        Assert.Contains((ns, "shared-ca"), fixture.CaSecrets.Reads);
        Assert.DoesNotContain(fixture.CaSecrets.Reads, r => r.Namespace == elsewhere);

        var cluster = "c-" + Guid.NewGuid().ToString("N")[..8];
        fixture.CaSecrets.Put(fixture.CaSecrets.NotaryNamespace, cluster, ca.IntermediatePem, ca.IntermediateKeyPem);
        var clusterStatus = await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Cluster(cluster)).ApplyAsync(Ca(cluster), Origin());
        Assert.Equal(IssuerGrain.ReadyReason, clusterStatus.Conditions.Single().Reason);
        Assert.Contains((fixture.CaSecrets.NotaryNamespace, cluster), fixture.CaSecrets.Reads);

        // A ClusterIssuer issues to any namespace's Certificate.
        var resource = new ResourceKey(ns, "api");
        await fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString()).ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef(cluster, IssuerKinds.ClusterIssuer)), Origin());
        await fixture.Status.WaitCertificateAsync(resource, s => s.IsReady, "issued by the ClusterIssuer");
    }

    [Theory]
    [InlineData(true, true, false, "spec sets builtin and ca; set exactly one of builtin, ca, acm.")]
    [InlineData(false, false, false, "spec sets no issuer type; set exactly one of builtin, ca, acm.")]
    public async Task A_spec_with_not_exactly_one_type_is_InvalidSpec(bool builtin, bool ca, bool acm, string message)
    {
        var spec = new IssuerSpec
        {
            Builtin = builtin,
            Ca = ca ? new CaIssuerSpec("x") : null,
            Acm = acm ? new AcmIssuerSpec { Region = "eu-west-1", PrivateCaArn = "arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/x" } : null,
        };
        var key = IssuerKeys.Namespaced(ClusterFixture.NewNamespace(), "two");
        var status = await fixture.Grains.GetGrain<IIssuerGrain>(key).ApplyAsync(spec, Origin());
        var ready = status.Conditions.Single();
        Assert.Equal((Conditions.False, Reasons.InvalidSpec, message), (ready.Status, ready.Reason, ready.Message));
        Assert.Null(status.Type);
    }

    [Fact]
    public async Task A_Certificate_whose_issuer_is_missing_or_deleted_waits_and_is_issued_when_the_issuer_appears()
    {
        var ns = ClusterFixture.NewNamespace();
        var issuerKey = IssuerKeys.Namespaced(ns, "gone");
        var issuer = fixture.Grains.GetGrain<IIssuerGrain>(issuerKey);
        var resource = new ResourceKey(ns, "api");
        var grain = fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString());
        var spec = Cert($"api.{ns}.svc", new IssuerRef("gone", IssuerKinds.Issuer));

        // Never created: the certificate waits.
        var status = await grain.ApplyAsync(spec, Origin());
        Assert.Equal(Reasons.IssuerNotReady, status.Condition(Conditions.Ready)!.Reason);
        Assert.Contains(IssuerGrain.NotFoundReason, status.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);

        // Created (builtin): woken and issued.
        await issuer.ApplyAsync(new IssuerSpec { Builtin = true }, Origin());
        var issued = await fixture.Status.WaitCertificateAsync(resource, s => s.IsReady, "issued when the issuer appeared");
        Assert.Equal(1, issued.Revision);

        // Deleted: the next issuance (a spec change) waits again, with the certificate kept.
        await issuer.DeleteAsync();
        Assert.Null(await issuer.GetStatusAsync());
        status = await grain.ApplyAsync(spec with { Alt = [$"api2.{ns}.svc"] }, Origin(2));
        Assert.Equal(Reasons.IssuerNotReady, status.Condition(Conditions.Issuing)?.Reason ?? status.Condition(Conditions.Ready)!.Reason);
        Assert.Equal(1, status.Revision);

        // Created again: the waiting re-issue completes without a manual retry.
        await issuer.ApplyAsync(new IssuerSpec { Builtin = true }, Origin(3));
        await fixture.Status.WaitCertificateAsync(resource, s => s.Revision == 2 && s.IsReady, "re-issued when the issuer came back");
    }

    [Fact]
    public async Task An_issuerRef_change_re_issues_from_the_new_issuer_and_leaves_the_old_ones_list()
    {
        var ns = ClusterFixture.NewNamespace();
        var first = fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "first"));
        var second = fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "second"));
        await first.ApplyAsync(new IssuerSpec { Builtin = true }, Origin());
        var ca = MakeRootAndIntermediate("second");
        fixture.CaSecrets.Put(ns, "second-ca", ca.IntermediatePem, ca.IntermediateKeyPem);
        await second.ApplyAsync(Ca("second-ca"), Origin());

        var resource = new ResourceKey(ns, "api");
        var grain = fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString());
        var status = await grain.ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("first", IssuerKinds.Issuer)), Origin());
        Assert.True(status.IsReady);
        Assert.Equal(1, (await first.GetStatusAsync())!.Certificates);

        status = await grain.ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("second", IssuerKinds.Issuer)), Origin(2));
        Assert.Equal(2, status.Revision);
        var material = await grain.GetIssuedMaterialAsync(2);
        Assert.Equal(IssuerGrain.Describe(ca.IntermediatePem).Fingerprint, IssuerGrain.Describe(material!.ChainPem[0]).Fingerprint);
        Assert.Equal(0, (await first.GetStatusAsync())!.Certificates);
        Assert.Equal(1, (await second.GetStatusAsync())!.Certificates);

        // Deleted: it leaves the issuer's list too (a CA rotation has nothing to re-issue for it).
        await grain.DeleteAsync();
        Assert.Equal(0, (await second.GetStatusAsync())!.Certificates);
    }

    [Fact]
    public async Task A_new_CA_under_issued_certificates_starts_the_rotation_which_holds_signing_back_until_it_allows()
    {
        var ns = ClusterFixture.NewNamespace();
        var issuerKey = IssuerKeys.Namespaced(ns, "rotating");
        var rotation = fixture.Rotations.Register(issuerKey);
        var issuer = fixture.Grains.GetGrain<IIssuerGrain>(issuerKey);
        var old = MakeRootAndIntermediate("old");
        fixture.CaSecrets.Put(ns, "ca", old.IntermediatePem, old.IntermediateKeyPem);
        await issuer.ApplyAsync(Ca("ca"), Origin());
        var resource = new ResourceKey(ns, "api");
        var grain = fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString());
        Assert.True((await grain.ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("rotating", IssuerKinds.Issuer)), Origin())).IsReady);
        Assert.Empty(rotation.Begun);

        // The Secret gets a new intermediate: the rotation starts with both CAs and the certificate list.
        var renewed = MakeRootAndIntermediate("new");
        fixture.CaSecrets.Put(ns, "ca", renewed.IntermediatePem, renewed.IntermediateKeyPem);
        rotation.Status = new IssuerRotationStatus
        {
            Phase = "TrustingNewCa",
            FromFingerprint = IssuerGrain.Describe(old.IntermediatePem).Fingerprint,
            ToFingerprint = IssuerGrain.Describe(renewed.IntermediatePem).Fingerprint,
            Total = 1,
            Remaining = 1,
        };
        await issuer.OnCaSecretChangedAsync();
        await rotation.Changed.WaitAsync(() => rotation.Begun, b => b.Count > 0, TimeSpan.FromSeconds(30), "the rotation to begin");
        var start = Assert.Single(rotation.Begun);
        Assert.Equal(issuerKey, start.IssuerKey);
        Assert.Equal([resource], start.Certificates);
        Assert.Equal(IssuerGrain.Describe(old.IntermediatePem).Fingerprint, IssuerGrain.Describe(start.OldCaPem).Fingerprint);
        Assert.Equal(IssuerGrain.Describe(renewed.IntermediatePem).Fingerprint, IssuerGrain.Describe(start.NewCaPem).Fingerprint);
        Assert.Equal("TrustingNewCa", (await issuer.GetStatusAsync())!.Rotation!.Phase);

        // Before the new CA is trusted everywhere, nothing is signed with it.
        var request = new IssueRequest
        {
            Resource = resource,
            Origin = Origin(),
            Type = "Private",
            Fqdn = $"api.{ns}.svc",
            Lifetime = TimeSpan.FromDays(30),
            Key = new PrivateKeyRequest("ECDSA", 256),
        };
        var held = await issuer.IssueAsync(request);
        Assert.Null(held.Material);
        Assert.Equal("CaRotation", held.Reason);
        Assert.StartsWith(IssuerGrain.RotationTicketPrefix, held.Ticket, StringComparison.Ordinal);

        // A Breach's rotate is not held for the hours a rotation can take: signed by the new CA now.
        var rotate = await issuer.IssueAsync(request with { Purpose = IssuePurpose.Rotate });
        Assert.Equal(IssuerGrain.Describe(renewed.IntermediatePem).Fingerprint, IssuerGrain.Describe(rotate.Material!.ChainPem[0]).Fingerprint);
        // Nor is an issuance the issuer behind has in flight: its ticket is continued, not replaced.
        var inFlight = await issuer.IssueAsync(request with { Ticket = "arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/x/certificate/in-flight", Step = 3 });
        Assert.NotNull(inFlight.Material);

        rotation.MaySign = true;
        var signed = await issuer.IssueAsync(request with { Ticket = held.Ticket, Step = 1 });
        Assert.Equal(IssuerGrain.Describe(renewed.IntermediatePem).Fingerprint, IssuerGrain.Describe(signed.Material!.ChainPem[0]).Fingerprint);
        Assert.Contains((resource, IssuerGrain.Describe(renewed.IntermediatePem).Fingerprint), rotation.Issued);

        // Deleting the issuer pauses its rotation (never cancels it: the CAs stay trusted) and
        // keeps which CA signed what, so an issuer of that name re-created with the CA continues it.
        await issuer.DeleteAsync();
        Assert.Equal(1, rotation.Paused);
        Assert.Equal(0, rotation.Cancelled);
        await issuer.ApplyAsync(Ca("ca"), Origin());
        await rotation.Changed.WaitAsync(() => rotation.Begun, b => b.Count > 1, TimeSpan.FromSeconds(30), "the rotation to continue");
        Assert.Equal(IssuerGrain.Describe(renewed.IntermediatePem).Fingerprint, IssuerGrain.Describe(rotation.Begun[^1].NewCaPem).Fingerprint);
        Assert.Contains(resource, rotation.Begun[^1].Certificates);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_transient_failure_reading_the_Secret_is_retried_with_backoff_and_the_waiting_certificate_issued()
    {
        var ns = ClusterFixture.NewNamespace();
        var ca = MakeRootAndIntermediate("flaky");
        fixture.CaSecrets.Put(ns, "ca", ca.IntermediatePem, ca.IntermediateKeyPem);
        fixture.CaSecrets.FailNext(ns, "ca", times: 1);
        var issuerKey = IssuerKeys.Namespaced(ns, "flaky");
        var status = await fixture.Grains.GetGrain<IIssuerGrain>(issuerKey).ApplyAsync(Ca("ca"), Origin());
        var ready = status.Conditions.Single();
        Assert.Equal(IssuerGrain.CaUnavailableReason, ready.Reason);
        // Only the error's type reaches the status.
        Assert.Equal("reading the CA failed (HttpRequestException); Notary retries, and its log has the details.", ready.Message);

        var resource = new ResourceKey(ns, "api");
        var waiting = await fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString()).ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("flaky", IssuerKinds.Issuer)), Origin());
        Assert.Equal(Reasons.IssuerNotReady, waiting.Condition(Conditions.Ready)!.Reason);

        // The backoff's first retry (5 s) reads the Secret again; the certificate is woken and issued.
        await fixture.IssuerStatus.WaitReasonAsync(issuerKey, IssuerGrain.ReadyReason);
        await fixture.Status.WaitCertificateAsync(resource, s => s.IsReady, "issued after the issuer's retry");
        Assert.Equal(2, fixture.CaSecrets.Reads.Count(r => r == (ns, "ca")));
    }

    [Fact]
    public async Task An_acm_issuer_is_Ready_only_when_its_check_passes_and_issues_through_the_factorys_issuer()
    {
        var ns = ClusterFixture.NewNamespace();
        var arn = $"arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/{ns}";
        var spec = new IssuerSpec { Acm = new AcmIssuerSpec { Region = "eu-west-1", PrivateCaArn = arn, RoleArn = "arn:aws:iam::111122223333:role/notary" } };
        var issuerKey = IssuerKeys.Namespaced(ns, "pca");
        var issuer = fixture.Grains.GetGrain<IIssuerGrain>(issuerKey);
        fixture.Acm.Answer(arn, new AcmIssuerCheck(new IssuerReadiness(false, "AccessDenied", "the role arn:aws:iam::111122223333:role/notary cannot be assumed."), null));
        var status = await issuer.ApplyAsync(spec, Origin());
        Assert.Equal(("AccessDenied", "the role arn:aws:iam::111122223333:role/notary cannot be assumed."), (status.Conditions.Single().Reason, status.Conditions.Single().Message));
        Assert.Equal("acm", status.Type);

        var resource = new ResourceKey(ns, "api");
        var grain = fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString());
        var waiting = await grain.ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("pca", IssuerKinds.Issuer)), Origin());
        Assert.Contains("AccessDenied", waiting.Condition(Conditions.Ready)!.Message, StringComparison.Ordinal);

        // The operator fixes the role; the watcher's resync applies the Issuer again.
        fixture.Acm.Answer(arn, new AcmIssuerCheck(new IssuerReadiness(true, "Ready", "Private CA is ACTIVE."), fixture.Authority.Authority.CertificatePem));
        status = await issuer.ApplyAsync(spec, Origin());
        Assert.Equal(IssuerGrain.Describe(fixture.Authority.Authority.CertificatePem).Fingerprint, status.CaFingerprint);
        var issued = await fixture.Status.WaitCertificateAsync(resource, s => s.IsReady, "issued by the ACM issuer");
        Assert.StartsWith("arn:aws:acm-pca:eu-west-1:", issued.Arn, StringComparison.Ordinal);
        Assert.Contains(fixture.Acm.Created, c => c.Name == issuerKey && c.Spec.PrivateCaArn == arn);
        // The namespace the factory sees (ExternalId, the namespaced-acm rule) comes from the key.
        Assert.All(fixture.Acm.Created.Where(c => c.Name == issuerKey), c => Assert.Equal(ns, c.Spec.Namespace));
    }

    [Fact]
    public async Task An_acm_issuer_whose_Private_CA_returns_a_certificate_that_is_not_a_CA_is_not_Ready_and_issues_nothing()
    {
        var ns = ClusterFixture.NewNamespace();
        var arn = $"arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/{ns}";
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=not-a-ca", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var leaf = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        fixture.Acm.Answer(arn, new AcmIssuerCheck(new IssuerReadiness(true, "Ready", "Private CA is ACTIVE."), leaf.ExportCertificatePem()));
        var issuerKey = IssuerKeys.Cluster("pca-" + ns);

        var status = await fixture.Grains.GetGrain<IIssuerGrain>(issuerKey).ApplyAsync(
            new IssuerSpec { Acm = new AcmIssuerSpec { Region = "eu-west-1", PrivateCaArn = arn } }, Origin());

        var condition = status.Conditions.Single();
        Assert.Equal((IssuerGrain.AcmCaInvalidReason, false), (condition.Reason, condition.Status == "True"));
        Assert.Contains("not a CA", condition.Message, StringComparison.Ordinal);
        Assert.Null(status.CaFingerprint);
        Assert.DoesNotContain(fixture.Acm.Created, c => c.Name == issuerKey);
    }

    [Fact]
    public async Task An_acm_issuer_whose_privateCaArn_changes_to_another_CA_starts_the_rotation_of_the_certificates_it_issued()
    {
        var ns = ClusterFixture.NewNamespace();
        var (first, second) = ($"arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/{ns}-a", $"arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/{ns}-b");
        AcmIssuerSpec Acm(string arn) => new() { Region = "eu-west-1", PrivateCaArn = arn };
        var issuerKey = IssuerKeys.Namespaced(ns, "pca");
        var rotation = fixture.Rotations.Register(issuerKey);
        var issuer = fixture.Grains.GetGrain<IIssuerGrain>(issuerKey);
        var oldCa = fixture.Authority.Authority.CertificatePem;
        var newCa = MakeRootAndIntermediate("pca-b").IntermediatePem;
        fixture.Acm.Answer(first, new AcmIssuerCheck(new IssuerReadiness(true, "Ready", "Private CA is ACTIVE."), oldCa));
        fixture.Acm.Answer(second, new AcmIssuerCheck(new IssuerReadiness(true, "Ready", "Private CA is ACTIVE."), newCa));
        Assert.Equal(IssuerGrain.Describe(oldCa).Fingerprint, (await issuer.ApplyAsync(new IssuerSpec { Acm = Acm(first) }, Origin())).CaFingerprint);
        var resource = new ResourceKey(ns, "api");
        Assert.True((await fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString()).ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("pca", IssuerKinds.Issuer)), Origin())).IsReady);

        // The same ARN applied again (a resync) is no change.
        await issuer.ApplyAsync(new IssuerSpec { Acm = Acm(first) }, Origin());
        Assert.Empty(rotation.Begun);

        // The operator points the Issuer at another Private CA: its certificates move to it.
        var status = await issuer.ApplyAsync(new IssuerSpec { Acm = Acm(second) }, Origin(2));
        Assert.Equal(IssuerGrain.Describe(newCa).Fingerprint, status.CaFingerprint);
        var start = Assert.Single(rotation.Begun);
        Assert.Equal(issuerKey, start.IssuerKey);
        Assert.Equal([resource], start.Certificates);
        Assert.Equal(IssuerGrain.Describe(oldCa).Fingerprint, IssuerGrain.Describe(start.OldCaPem).Fingerprint);
        Assert.Equal(IssuerGrain.Describe(newCa).Fingerprint, IssuerGrain.Describe(start.NewCaPem).Fingerprint);
        Assert.Contains(fixture.Acm.Created, c => c.Name == issuerKey && c.Spec.PrivateCaArn == second);
    }

    [Fact]
    public async Task A_CertificatePolicy_listing_issuers_restricts_issuerRef_spelled_Kind_slash_Name()
    {
        var ns = ClusterFixture.NewNamespace();
        var platform = "platform-" + Guid.NewGuid().ToString("N")[..8];
        await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "team")).ApplyAsync(new IssuerSpec { Builtin = true }, Origin());
        await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Cluster(platform)).ApplyAsync(new IssuerSpec { Builtin = true }, Origin());
        await fixture.Grains.GetGrain<ICertificatePolicyGrain>(ICertificatePolicyGrain.ClusterKey).ApplyAsync(
            $"issuers-{ns}",
            new CertificatePolicySpec
            {
                NamespaceSelector = new LabelSelector { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns } },
                Issuers = [$"ClusterIssuer/{platform}"],
            },
            new ResourceVersionInfo($"issuers-{ns}", 1));

        var denied = new ResourceKey(ns, "own");
        var status = await fixture.Grains.GetGrain<ICertificateGrain>(denied.ToString()).ApplyAsync(Cert($"own.{ns}.svc", new IssuerRef("team", IssuerKinds.Issuer)), Origin());
        var ready = status.Condition(Conditions.Ready)!;
        Assert.Equal(Reasons.PolicyDenied, ready.Reason);
        Assert.Contains($"issuer \"Issuer/team\" is refused by CertificatePolicy \"issuers-{ns}\": its issuers are ClusterIssuer/{platform}", ready.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await fixture.Grains.GetGrain<IIssuerGrain>(IssuerKeys.Namespaced(ns, "team")).GetStatusAsync())!.Certificates);

        var allowed = new ResourceKey(ns, "shared");
        Assert.True((await fixture.Grains.GetGrain<ICertificateGrain>(allowed.ToString()).ApplyAsync(Cert($"shared.{ns}.svc", new IssuerRef(platform, IssuerKinds.ClusterIssuer)), Origin())).IsReady);
    }

    [Fact]
    public async Task The_issuer_state_never_holds_the_CA_private_key()
    {
        var ns = ClusterFixture.NewNamespace();
        var issuerKey = IssuerKeys.Namespaced(ns, "secretive");
        var ca = MakeRootAndIntermediate("secretive");
        fixture.CaSecrets.Put(ns, "ca", ca.IntermediatePem, ca.IntermediateKeyPem);
        var issuer = fixture.Grains.GetGrain<IIssuerGrain>(issuerKey);
        await issuer.ApplyAsync(Ca("ca"), Origin());
        var resource = new ResourceKey(ns, "api");
        Assert.True((await fixture.Grains.GetGrain<ICertificateGrain>(resource.ToString()).ApplyAsync(Cert($"api.{ns}.svc", new IssuerRef("secretive", IssuerKinds.Issuer)), Origin())).IsReady);

        var written = fixture.StateBytes.All(StateBytesRecorder.Recorded);
        Assert.NotEmpty(written);
        var all = written.SelectMany(b => b).ToArray();
        // The public CA certificate may be there; no form of its key is.
        Assert.True(Contains(all, Encoding.UTF8.GetBytes(ca.IntermediatePem.Split('\n')[1])), "the state holds the public CA certificate");
        var keyBase64 = string.Concat(ca.IntermediateKeyPem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));
        var keyDer = Convert.FromBase64String(keyBase64);
        Assert.False(Contains(all, keyDer), "the CA private key (DER) is in the issuer's state");
        Assert.False(Contains(all, Encoding.UTF8.GetBytes(keyBase64[..40])), "the CA private key (PEM) is in the issuer's state");
        Assert.False(Contains(all, Encoding.UTF8.GetBytes("PRIVATE KEY")), "a PEM private key is in the issuer's state");
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    private sealed record TestCa(string RootFile, string IntermediatePem, string IntermediateKeyPem);

    /// <summary>A root and an intermediate CA made with the openssl CLI; the intermediate's tls.crt carries the root after it.</summary>
    private TestCa MakeRootAndIntermediate(string name)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        string F(string file) => Path.Combine(dir, file);
        File.WriteAllText(F("ext.cnf"), "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
        Run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", F("root.key"), "-out", F("root.crt"), "-days", "30",
            "-subj", $"/CN={name} root", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        Run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", F("int.key"), "-out", F("int.csr"), "-subj", $"/CN={name} intermediate");
        Run("x509", "-req", "-in", F("int.csr"), "-CA", F("root.crt"), "-CAkey", F("root.key"), "-CAcreateserial", "-out", F("int.crt"), "-days", "20", "-extfile", F("ext.cnf"));
        return new TestCa(F("root.crt"), File.ReadAllText(F("int.crt")) + File.ReadAllText(F("root.crt")), File.ReadAllText(F("int.key")));

        static void Run(params string[] args)
        {
            var (code, output) = OpenSsl(args);
            Assert.True(code == 0, $"openssl {string.Join(' ', args)}: {output}");
        }
    }

    private static (int Code, string Output) OpenSsl(params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo("openssl", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }
}
