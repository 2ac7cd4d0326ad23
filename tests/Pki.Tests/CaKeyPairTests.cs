using Notary.Pki.Tests.Support;

namespace Notary.Pki.Tests;

/// <summary>
/// CA key pairs as a team puts them in a <c>ca</c> issuer's Secret, made by the real openssl CLI:
/// a root, an intermediate, a second-level intermediate, an impostor root with the root's name, a
/// leaf that is not a CA, a CA whose keyUsage cannot sign certificates.
/// </summary>
public sealed class OpensslCas : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    public string RootCrt { get; private set; } = "";
    public string RootKey { get; private set; } = "";
    public string IntermediateCrt { get; private set; } = "";
    public string IntermediateKey { get; private set; } = "";
    public string SubCrt { get; private set; } = "";
    public string SubKey { get; private set; } = "";
    public string ImpostorRootCrt { get; private set; } = "";
    public string LeafCrt { get; private set; } = "";
    public string LeafKey { get; private set; } = "";
    public string NoCertSignCrt { get; private set; } = "";
    public string NoCertSignKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        const string caExt = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
        await Root("root", "/CN=Team Root CA/O=Team");
        await Root("impostor", "/CN=Team Root CA/O=Team");
        await Signed("intermediate", "/CN=Team Intermediate CA/O=Team", "root", caExt);
        await Signed("sub", "/CN=Team Sub CA/O=Team", "intermediate", caExt);
        await Signed("leaf", "/CN=svc.team.svc", "intermediate", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n");
        await Signed("nocertsign", "/CN=Team Odd CA/O=Team", "root", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n");

        RootCrt = Read("root.crt");
        RootKey = Read("root.key");
        ImpostorRootCrt = Read("impostor.crt");
        IntermediateCrt = Read("intermediate.crt");
        IntermediateKey = Read("intermediate.key");
        SubCrt = Read("sub.crt");
        SubKey = Read("sub.key");
        LeafCrt = Read("leaf.crt");
        LeafKey = Read("leaf.key");
        NoCertSignCrt = Read("nocertsign.crt");
        NoCertSignKey = Read("nocertsign.key");
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    private string Read(string name) => File.ReadAllText(_dir.File(name));

    private async Task Root(string name, string subject) =>
        Ok(await Tools.OpensslAsync(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", _dir.File(name + ".key"), "-out", _dir.File(name + ".crt"), "-subj", subject, "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"));

    private async Task Signed(string name, string subject, string issuer, string extensions)
    {
        var ext = _dir.Write(name + ".ext", extensions);
        Ok(await Tools.OpensslAsync(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", _dir.File(name + ".key"), "-out", _dir.File(name + ".csr"), "-subj", subject));
        Ok(await Tools.OpensslAsync(
            "x509", "-req", "-in", _dir.File(name + ".csr"), "-CA", _dir.File(issuer + ".crt"), "-CAkey", _dir.File(issuer + ".key"),
            "-CAcreateserial", "-days", "20", "-extfile", ext, "-out", _dir.File(name + ".crt")));
    }

    private static void Ok(ToolResult result) => Assert.True(result.ExitCode == 0, result.ToString());
}

public sealed class CaKeyPairTests(OpensslCas cas) : IClassFixture<OpensslCas>
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public void A_self_signed_root_with_its_key_loads()
    {
        using var ca = CaKeyPairs.Load(cas.RootCrt, cas.RootKey, Now);
        Assert.Single(ca.ChainPem);
    }

    [Fact]
    public void An_intermediate_followed_by_its_root_loads_and_leaves_carry_both()
    {
        using var ca = CaKeyPairs.Load(cas.IntermediateCrt + cas.RootCrt, cas.IntermediateKey, Now);
        Assert.Equal(2, ca.ChainPem.Count);
    }

    [Fact]
    public void A_two_level_chain_in_order_loads()
    {
        using var ca = CaKeyPairs.Load(cas.SubCrt + cas.IntermediateCrt + cas.RootCrt, cas.SubKey, Now);
        Assert.Equal(3, ca.ChainPem.Count);
    }

    [Fact]
    public void A_chain_ending_in_an_intermediate_without_its_root_is_accepted_as_given()
    {
        using var ca = CaKeyPairs.Load(cas.SubCrt + cas.IntermediateCrt, cas.SubKey, Now);
        Assert.Equal(2, ca.ChainPem.Count);
    }

    public static TheoryData<string> RefusalCases() => new()
    {
        "leaf-not-ca", "keyusage-without-certsign", "mismatched-key", "expired", "expired-root-in-chain", "not-yet-valid",
        "wrong-order-chain", "impostor-root", "garbage-certificate", "garbage-key", "empty-certificate",
    };

    [Theory]
    [MemberData(nameof(RefusalCases))]
    public void Refusals_name_the_reason_and_subject_and_never_the_key(string name)
    {
        var (certificate, key, now, reason, mentions) = Case(name);
        var error = Assert.Throws<CaKeyPairException>(() => CaKeyPairs.Load(certificate, key, now));
        Assert.Equal(reason, error.Reason);
        Assert.Contains(mentions, error.Message, StringComparison.Ordinal);
        foreach (var line in key.Split('\n').Where(l => l.Length > 20 && !l.StartsWith("-----", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(line, error.Message, StringComparison.Ordinal);
        }
    }

    private (string Certificate, string Key, DateTimeOffset Now, string Reason, string Mentions) Case(string name) => name switch
    {
        "leaf-not-ca" => (cas.LeafCrt + cas.IntermediateCrt, cas.LeafKey, Now, CaKeyPairReasons.NotACa, "CN=svc.team.svc"),
        "keyusage-without-certsign" => (cas.NoCertSignCrt, cas.NoCertSignKey, Now, CaKeyPairReasons.NotACa, "keyCertSign"),
        "mismatched-key" => (cas.IntermediateCrt + cas.RootCrt, cas.RootKey, Now, CaKeyPairReasons.KeyMismatch, "CN=Team Intermediate CA"),
        // The intermediate lives 20 days, the root 30: at day 25 the intermediate has expired.
        "expired" => (cas.IntermediateCrt + cas.RootCrt, cas.IntermediateKey, Now.AddDays(25), CaKeyPairReasons.Expired, "CN=Team Intermediate CA"),
        "expired-root-in-chain" => (cas.RootCrt, cas.RootKey, Now.AddDays(31), CaKeyPairReasons.Expired, "CN=Team Root CA"),
        "not-yet-valid" => (cas.RootCrt, cas.RootKey, Now.AddDays(-2), CaKeyPairReasons.NotYetValid, "not valid before"),
        "wrong-order-chain" => (cas.SubCrt + cas.RootCrt + cas.IntermediateCrt, cas.SubKey, Now, CaKeyPairReasons.ChainInvalid, "CN=Team Sub CA"),
        "impostor-root" => (cas.IntermediateCrt + cas.ImpostorRootCrt, cas.IntermediateKey, Now, CaKeyPairReasons.ChainInvalid, "does not verify"),
        "garbage-certificate" => ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", cas.RootKey, Now, CaKeyPairReasons.Unparsable, "tls.crt"),
        "garbage-key" => (cas.RootCrt, "-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n", Now, CaKeyPairReasons.Unparsable, "tls.key"),
        "empty-certificate" => ("", cas.RootKey, Now, CaKeyPairReasons.Unparsable, "no PEM CERTIFICATE"),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };
}
