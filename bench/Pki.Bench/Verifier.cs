using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace Notary.Pki.Bench;

/// <summary>
/// Checks every kept output with both backends, so neither backend can look fast by producing
/// something the other cannot read: the certificate parses, chains to (is signed by) the CA, has
/// the requested key, CN, SAN, EKUs and a 16-byte serial, and the PKCS#8 key matches it.
/// </summary>
internal sealed class Verifier
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    private readonly BenchCa _ca;
    private readonly BcCertificate _bcCa;

    public Verifier(BenchCa ca)
    {
        _ca = ca;
        _bcCa = new X509CertificateParser().ReadCertificate(ca.CertificateDer);
    }

    public IEnumerable<string> VerifyLeaf(IssuedLeaf leaf, LeafAlgorithm algorithm) =>
        Guard("dotnet", () => VerifyLeafWithDotNet(leaf, algorithm))
            .Concat(Guard("bouncycastle", () => VerifyLeafWithBouncyCastle(leaf, algorithm)));

    public static IEnumerable<string> VerifyKeystore(byte[] pfx, KeystoreInput input) =>
        Guard("dotnet", () => VerifyKeystoreWithDotNet(pfx, input))
            .Concat(Guard("bouncycastle", () => VerifyKeystoreWithBouncyCastle(pfx, input)));

    private static List<string> Guard(string checker, Func<IEnumerable<string>> check)
    {
        try
        {
            return check().Select(f => $"{checker} check: {f}").ToList();
        }
        catch (Exception e)
        {
            return [$"{checker} check threw {e.GetType().Name}: {e.Message}"];
        }
    }

    private IEnumerable<string> VerifyLeafWithDotNet(IssuedLeaf leaf, LeafAlgorithm algorithm)
    {
        using var certificate = X509CertificateLoader.LoadCertificate(leaf.CertificateDer);
        using var ca = X509CertificateLoader.LoadCertificate(_ca.CertificateDer);

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuth));
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuth));
        if (!chain.Build(certificate))
        {
            yield return "chain to the CA does not build: " +
                string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()));
        }

        if (certificate.GetNameInfo(X509NameType.SimpleName, false) != BenchCa.LeafFqdn)
        {
            yield return $"CN is {certificate.GetNameInfo(X509NameType.SimpleName, false)}";
        }

        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SingleOrDefault();
        if (san is null || !san.EnumerateDnsNames().SequenceEqual([BenchCa.LeafFqdn]))
        {
            yield return "SAN is not exactly the fqdn";
        }

        var eku = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().SingleOrDefault();
        var usages = eku?.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToHashSet() ?? [];
        if (!usages.SetEquals([ServerAuth, ClientAuth]))
        {
            yield return "EKU is not serverAuth + clientAuth";
        }

        if (certificate.SerialNumberBytes.Length != 16)
        {
            yield return $"serial is {certificate.SerialNumberBytes.Length} bytes";
        }

        byte[] spki = certificate.PublicKey.ExportSubjectPublicKeyInfo();
        byte[] fromPrivate;
        int size;
        if (algorithm.Kind == KeyKind.Rsa)
        {
            using var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(leaf.PrivateKeyPkcs8, out _);
            fromPrivate = rsa.ExportSubjectPublicKeyInfo();
            size = rsa.KeySize;
        }
        else
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportPkcs8PrivateKey(leaf.PrivateKeyPkcs8, out _);
            fromPrivate = ecdsa.ExportSubjectPublicKeyInfo();
            size = ecdsa.KeySize;
        }

        if (size != algorithm.Size)
        {
            yield return $"key size is {size}, expected {algorithm.Size}";
        }

        if (!spki.AsSpan().SequenceEqual(fromPrivate))
        {
            yield return "PKCS#8 private key does not match the certificate's public key";
        }
    }

    private IEnumerable<string> VerifyLeafWithBouncyCastle(IssuedLeaf leaf, LeafAlgorithm algorithm)
    {
        var certificate = new X509CertificateParser().ReadCertificate(leaf.CertificateDer);
        certificate.Verify(_bcCa.GetPublicKey()); // throws when the signature does not verify
        certificate.CheckValidity();
        if (!certificate.IssuerDN.Equivalent(_bcCa.SubjectDN))
        {
            yield return "issuer is not the CA's subject";
        }

        if (!certificate.SubjectDN.GetValueList(X509Name.CN).SequenceEqual([BenchCa.LeafFqdn]))
        {
            yield return "CN is not the fqdn";
        }

        var names = certificate.GetSubjectAlternativeNames();
        if (names is null || names.Count != 1 || (int)names[0][0] != GeneralName.DnsName || (string)names[0][1] != BenchCa.LeafFqdn)
        {
            yield return "SAN is not exactly the fqdn";
        }

        var usages = certificate.GetExtendedKeyUsage()?.Select(o => o.Id).ToHashSet() ?? [];
        if (!usages.SetEquals([ServerAuth, ClientAuth]))
        {
            yield return "EKU is not serverAuth + clientAuth";
        }

        if (certificate.SerialNumber.SignValue <= 0 || certificate.SerialNumber.ToByteArray().Length != 16)
        {
            yield return "serial is not a positive 16-byte integer";
        }

        var publicKey = certificate.GetPublicKey();
        var privateKey = PrivateKeyFactory.CreateKey(leaf.PrivateKeyPkcs8);
        switch (privateKey, publicKey)
        {
            case (RsaPrivateCrtKeyParameters priv, RsaKeyParameters pub):
                if (pub.Modulus.BitLength != algorithm.Size)
                {
                    yield return $"RSA modulus is {pub.Modulus.BitLength} bits";
                }

                if (!priv.Modulus.Equals(pub.Modulus) || !priv.PublicExponent.Equals(pub.Exponent))
                {
                    yield return "PKCS#8 RSA key does not match the certificate";
                }

                break;
            case (ECPrivateKeyParameters priv, ECPublicKeyParameters pub):
                if (pub.Parameters.Curve.FieldSize != algorithm.Size)
                {
                    yield return $"EC field is {pub.Parameters.Curve.FieldSize} bits";
                }

                if (!priv.Parameters.G.Multiply(priv.D).Normalize().Equals(pub.Q))
                {
                    yield return "PKCS#8 EC key does not match the certificate";
                }

                break;
            default:
                yield return $"unexpected key types {privateKey.GetType().Name} / {publicKey.GetType().Name}";
                break;
        }
    }

    private static IEnumerable<string> VerifyKeystoreWithDotNet(byte[] pfx, KeystoreInput input)
    {
        var certificates = X509CertificateLoader.LoadPkcs12Collection(pfx, KeystoreInput.Password);
        try
        {
            var withKey = certificates.Where(c => c.HasPrivateKey).ToList();
            if (certificates.Count != 2 || withKey.Count != 1)
            {
                yield return $"expected leaf with key + CA, found {certificates.Count} certificate(s), {withKey.Count} with a key";
            }
            else if (!withKey[0].RawData.AsSpan().SequenceEqual(input.Leaf.CertificateDer))
            {
                yield return "the entry with the key is not the leaf";
            }
        }
        finally
        {
            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }

    private static IEnumerable<string> VerifyKeystoreWithBouncyCastle(byte[] pfx, KeystoreInput input)
    {
        var store = new Pkcs12StoreBuilder().Build();
        using (var stream = new MemoryStream(pfx))
        {
            store.Load(stream, KeystoreInput.Password.ToCharArray());
        }

        var keyAliases = store.Aliases.Where(store.IsKeyEntry).ToList();
        if (keyAliases.Count != 1)
        {
            yield return $"expected one key entry, found {keyAliases.Count}";
            yield break;
        }

        var chain = store.GetCertificateChain(keyAliases[0]);
        if (chain is null || chain.Length != 2)
        {
            yield return $"expected a chain of 2, found {chain?.Length ?? 0}";
        }
        else if (!chain[0].Certificate.GetEncoded().AsSpan().SequenceEqual(input.Leaf.CertificateDer))
        {
            yield return "the key entry's first certificate is not the leaf";
        }

        AsymmetricKeyParameter key = store.GetKey(keyAliases[0]).Key;
        var expected = PrivateKeyFactory.CreateKey(input.Leaf.PrivateKeyPkcs8);
        if (!key.Equals(expected))
        {
            yield return "the stored key is not the leaf's key";
        }
    }
}
