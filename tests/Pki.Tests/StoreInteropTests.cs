using Notary.Pki.Tests.Support;

namespace Notary.Pki.Tests;

/// <summary>Every store Notary writes, read back by keytool (Java 17) and OpenSSL 3 without -legacy.</summary>
[Trait("Category", "Slow")]
public sealed class StoreInteropTests(InteropFixture pki) : IClassFixture<InteropFixture>
{
    private const string KeystorePassword = "keystore-secret";
    private const string TruststorePassword = "truststore-secret";

    private static readonly string[] Pbes2Aes256 = ["PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256"];

    public static TheoryData<StoreFormat, KeyAlgorithm> KeystoreCases => new()
    {
        { StoreFormat.Pkcs12, KeyAlgorithm.Rsa },
        { StoreFormat.Pkcs12, KeyAlgorithm.Ecdsa },
        { StoreFormat.Jks, KeyAlgorithm.Rsa },
        { StoreFormat.Jks, KeyAlgorithm.Ecdsa },
    };

    [Theory]
    [MemberData(nameof(KeystoreCases))]
    public async Task Keytool_lists_the_keystore_as_one_private_key_entry_with_its_chain(StoreFormat format, KeyAlgorithm algorithm)
    {
        using var dir = new TempDirectory();
        var path = dir.Write($"keystore.{Tools.Extension(format)}", StoreEncoder.BuildKeystore(format, "Svc-A", pki.A(algorithm), KeystorePassword));

        var listed = await Tools.KeytoolListAsync(path, format, KeystorePassword);

        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("Your keystore contains 1 entry", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains("Alias name: svc-a\n", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains("Entry type: PrivateKeyEntry", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains("Certificate chain length: 2", listed.StdOut, StringComparison.Ordinal);
        Assert.Contains($"Owner: CN={InteropFixture.FqdnA}", listed.StdOut, StringComparison.Ordinal);
        Assert.Equal(2, Tools.Count(listed.StdOut, "Issuer: CN=Notary Interop Root"));
        Assert.Contains(algorithm == KeyAlgorithm.Rsa ? "2048-bit RSA key" : "384-bit EC (secp384r1) key", listed.StdOut, StringComparison.Ordinal);

        var wrong = await Tools.KeytoolListAsync(path, format, "wrong-password");
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("password was incorrect", wrong.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StoreFormat.Pkcs12)]
    [InlineData(StoreFormat.Jks)]
    public async Task Keytool_lists_every_truststore_alias_as_a_trusted_certificate_entry(StoreFormat format)
    {
        using var dir = new TempDirectory();
        var entries = TruststoreEntries();
        var path = dir.Write($"truststore.{Tools.Extension(format)}", StoreEncoder.BuildTruststore(format, entries, TruststorePassword));

        var listed = await Tools.KeytoolListAsync(path, format, TruststorePassword);

        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Equal(5, entries.Count);
        Assert.Contains("Your keystore contains 5 entries", listed.StdOut, StringComparison.Ordinal);
        Assert.Equal(entries.Count, Tools.Count(listed.StdOut, "Entry type: trustedCertEntry"));
        Assert.Equal(0, Tools.Count(listed.StdOut, "PrivateKeyEntry"));
        foreach (var entry in entries)
        {
            Assert.Contains($"Alias name: {entry.Alias}\n", listed.StdOut, StringComparison.Ordinal);
        }

        var wrong = await Tools.KeytoolListAsync(path, format, "wrong-password");
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("password was incorrect", wrong.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(KeyAlgorithm.Rsa)]
    [InlineData(KeyAlgorithm.Ecdsa)]
    public async Task Openssl_reads_the_pkcs12_keystore_without_legacy_and_returns_the_matching_key(KeyAlgorithm algorithm)
    {
        using var dir = new TempDirectory();
        var issued = pki.A(algorithm);
        var path = dir.Write("keystore.p12", StoreEncoder.BuildKeystore(StoreFormat.Pkcs12, "svc-a", issued, KeystorePassword));

        var info = await Tools.OpensslAsync("pkcs12", "-in", path, "-info", "-passin", $"pass:{KeystorePassword}", "-nodes");

        Assert.True(info.ExitCode == 0, info.ToString());
        Assert.Contains("MAC: sha256, Iteration 10000", info.StdErr, StringComparison.Ordinal);
        Assert.Contains($"Shrouded Keybag: {Pbes2Aes256[0]}", info.StdErr, StringComparison.Ordinal);
        Assert.Contains($"PKCS7 Encrypted data: {Pbes2Aes256[0]}", info.StdErr, StringComparison.Ordinal);
        Assert.Equal(2, Tools.Count(info.StdOut, "-----BEGIN CERTIFICATE-----"));
        Assert.Equal(2, Tools.Count(info.StdOut, "friendlyName: svc-a"));
        Assert.Equal(2, Tools.Count(info.StdOut, "localKeyID:"));

        var keyPath = dir.Write("key.pem", Block(info.StdOut, "PRIVATE KEY"));
        var leafPath = dir.Write("leaf.pem", issued.CertificatePem);
        var keyPublic = await Tools.OpensslAsync("pkey", "-in", keyPath, "-pubout");
        var leafPublic = await Tools.OpensslAsync("x509", "-in", leafPath, "-pubkey", "-noout");
        Assert.True(keyPublic.ExitCode == 0, keyPublic.ToString());
        Assert.True(leafPublic.ExitCode == 0, leafPublic.ToString());
        Assert.Contains("-----BEGIN PUBLIC KEY-----", keyPublic.StdOut, StringComparison.Ordinal);
        Assert.Equal(leafPublic.StdOut, keyPublic.StdOut);

        var noKeys = await Tools.OpensslAsync("pkcs12", "-in", path, "-info", "-passin", $"pass:{KeystorePassword}", "-nokeys");
        Assert.True(noKeys.ExitCode == 0, noKeys.ToString());
        Assert.DoesNotContain("PRIVATE KEY", noKeys.StdOut, StringComparison.Ordinal);

        var wrong = await Tools.OpensslAsync("pkcs12", "-in", path, "-info", "-passin", "pass:wrong-password", "-nokeys");
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("Mac verify error", wrong.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(KeyAlgorithm.Rsa)]
    [InlineData(KeyAlgorithm.Ecdsa)]
    public async Task Keytool_recovers_the_jks_private_key_through_the_key_protector(KeyAlgorithm algorithm)
    {
        // keytool -list never decrypts a key; converting to PKCS12 does, and openssl then shows it.
        using var dir = new TempDirectory();
        var issued = pki.A(algorithm);
        var jks = dir.Write("keystore.jks", StoreEncoder.BuildKeystore(StoreFormat.Jks, "svc-a", issued, KeystorePassword));
        var converted = dir.File("converted.p12");

        var import = await Tools.KeytoolAsync(
            "-importkeystore", "-noprompt", "-srckeystore", jks, "-srcstoretype", "JKS", "-srcstorepass", KeystorePassword,
            "-destkeystore", converted, "-deststoretype", "PKCS12", "-deststorepass", KeystorePassword);
        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.Contains("1 entries successfully imported, 0 entries failed", import.Output, StringComparison.Ordinal);

        var keys = await Tools.OpensslAsync("pkcs12", "-in", converted, "-passin", $"pass:{KeystorePassword}", "-nodes", "-nocerts");
        Assert.True(keys.ExitCode == 0, keys.ToString());
        var keyPublic = await Tools.OpensslAsync("pkey", "-in", dir.Write("key.pem", Block(keys.StdOut, "PRIVATE KEY")), "-pubout");
        var leafPublic = await Tools.OpensslAsync("x509", "-in", dir.Write("leaf.pem", issued.CertificatePem), "-pubkey", "-noout");
        Assert.True(keyPublic.ExitCode == 0, keyPublic.ToString());
        Assert.Equal(leafPublic.StdOut, keyPublic.StdOut);
    }

    [Fact]
    public async Task Openssl_reads_the_pkcs12_truststore_without_legacy()
    {
        using var dir = new TempDirectory();
        var entries = TruststoreEntries();
        var path = dir.Write("truststore.p12", StoreEncoder.BuildTruststore(StoreFormat.Pkcs12, entries, TruststorePassword));

        var info = await Tools.OpensslAsync("pkcs12", "-in", path, "-info", "-passin", $"pass:{TruststorePassword}", "-nokeys");

        Assert.True(info.ExitCode == 0, info.ToString());
        Assert.Contains("MAC: sha256, Iteration 10000", info.StdErr, StringComparison.Ordinal);
        Assert.Contains($"PKCS7 Encrypted data: {Pbes2Aes256[0]}", info.StdErr, StringComparison.Ordinal);
        Assert.Equal(entries.Count, Tools.Count(info.StdOut, "-----BEGIN CERTIFICATE-----"));
        Assert.Equal(entries.Count, Tools.Count(info.StdOut, "2.16.840.1.113894.746875.1.1"));
        foreach (var entry in entries)
        {
            Assert.Contains($"friendlyName: {entry.Alias}\n", info.StdOut, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Jks_truststores_are_reproducible_and_keystores_differ_only_in_the_salt()
    {
        var entries = TruststoreEntries();
        Assert.Equal(
            StoreEncoder.BuildTruststore(StoreFormat.Jks, entries, TruststorePassword),
            StoreEncoder.BuildTruststore(StoreFormat.Jks, entries, TruststorePassword));

        var first = StoreEncoder.BuildKeystore(StoreFormat.Jks, "svc-a", pki.RsaA, KeystorePassword);
        var second = StoreEncoder.BuildKeystore(StoreFormat.Jks, "svc-a", pki.RsaA, KeystorePassword);
        Assert.Equal(first.Length, second.Length);
        var differing = Enumerable.Range(0, first.Length).Where(i => first[i] != second[i]).ToList();
        Assert.NotEmpty(differing);

        // Everything up to the protected key's salt is identical; so is the certificate chain after it.
        var saltStart = differing[0];
        Assert.True(saltStart > 12, "the header must not change between builds");
        Assert.Equal(first.AsSpan(0, saltStart).ToArray(), second.AsSpan(0, saltStart).ToArray());
    }

    [Fact]
    public void Encoder_refuses_bad_input_with_clear_messages()
    {
        var mismatched = pki.RsaA with { PrivateKeyPem = pki.B.PrivateKeyPem };
        var error = Assert.Throws<PkiException>(() => StoreEncoder.BuildKeystore(StoreFormat.Pkcs12, "svc-a", mismatched, KeystorePassword));
        Assert.Equal($"keystore entry \"svc-a\": the private key does not match the certificate \"CN={InteropFixture.FqdnA}\"", error.Message);

        error = Assert.Throws<PkiException>(() => StoreEncoder.BuildKeystore(StoreFormat.Jks, "svc-a", pki.RsaA, ""));
        Assert.Equal("a store password must not be empty", error.Message);

        error = Assert.Throws<PkiException>(() => StoreEncoder.BuildKeystore(StoreFormat.Jks, " ", pki.RsaA, KeystorePassword));
        Assert.Equal("a store alias must not be empty", error.Message);

        var duplicate = new[] { new TrustedEntry("Same", pki.B.CertificatePem), new TrustedEntry("same", pki.C.CertificatePem) };
        error = Assert.Throws<PkiException>(() => StoreEncoder.BuildTruststore(StoreFormat.Pkcs12, duplicate, TruststorePassword));
        Assert.Equal("truststore alias \"same\" appears more than once", error.Message);
    }

    /// <summary>svc-a's truststore: itself, svc-b upstream, svc-c downstream, and both roots.</summary>
    private List<TrustedEntry> TruststoreEntries() =>
        [.. TruststorePolicy.Select(
            TestPki.Source("ns-a", "svc-a", pki.RsaA),
            [TestPki.Source("ns-b", "svc-b", pki.B)],
            [TestPki.Source("ns-c", "svc-c", pki.C)], TrustMode.Issuers)];

    private static string Block(string text, string label)
    {
        var begin = $"-----BEGIN {label}-----";
        var end = $"-----END {label}-----";
        var start = text.IndexOf(begin, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no {label} block in the output");
        var stop = text.IndexOf(end, start, StringComparison.Ordinal) + end.Length;
        return text[start..stop] + "\n";
    }
}
