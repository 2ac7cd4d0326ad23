using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;

namespace Notary.Pki.Bench;

/// <summary>
/// The same unit of issuance with BouncyCastle 2.7.0: RsaKeyPairGenerator / ECKeyPairGenerator
/// (named-curve parameters, so BC's specialised P-256/P-384 arithmetic is used), an
/// X509V3CertificateGenerator signed through Asn1SignatureFactory, PKCS#8 via PrivateKeyInfoFactory.
/// BC key objects are immutable, but each thread still gets its own instance and SecureRandom so
/// the two backends are measured under the same rules.
/// </summary>
internal sealed class BouncyCastleLeafIssuer : IOperation<IssuedLeaf>
{
    private readonly LeafAlgorithm _algorithm;
    private readonly SecureRandom _random = new();
    private readonly AsymmetricKeyParameter _caKey;
    private readonly X509Name _caName;
    private readonly AuthorityKeyIdentifier _authorityKeyId;
    private readonly X509Name _subject;
    private readonly IAsymmetricCipherKeyPairGenerator _keyGenerator;

    public BouncyCastleLeafIssuer(BenchCa ca, LeafAlgorithm algorithm, string fqdn)
    {
        _algorithm = algorithm;
        _caKey = PrivateKeyFactory.CreateKey(ca.PrivateKeyPkcs8);
        var caCertificate = new X509CertificateParser().ReadCertificate(ca.CertificateDer);
        _caName = caCertificate.SubjectDN;
        _authorityKeyId = new AuthorityKeyIdentifier(
            X509ExtensionUtilities.CreateSubjectKeyIdentifier(caCertificate.GetPublicKey()).GetKeyIdentifier());
        _subject = new X509Name([X509Name.CN], [fqdn]);
        Fqdn = fqdn;

        if (algorithm.Kind == KeyKind.Rsa)
        {
            var rsa = new RsaKeyPairGenerator();
            // BC's defaults (e = 65537, 100 bits of certainty), i.e. what a plain Init(KeyGenerationParameters) does.
            rsa.Init(new KeyGenerationParameters(_random, algorithm.Size));
            _keyGenerator = rsa;
        }
        else
        {
            var ec = new ECKeyPairGenerator();
            var curve = algorithm.Size == 256 ? SecObjectIdentifiers.SecP256r1 : SecObjectIdentifiers.SecP384r1;
            ec.Init(new ECKeyGenerationParameters(curve, _random));
            _keyGenerator = ec;
        }
    }

    public string Fqdn { get; }

    public IssuedLeaf Run()
    {
        var keyPair = _keyGenerator.GenerateKeyPair();

        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(new BigInteger(1, LeafValidity.NewSerial()));
        generator.SetIssuerDN(_caName);
        generator.SetSubjectDN(_subject);
        var now = TimeProvider.System.GetUtcNow();
        generator.SetNotBefore((now - LeafValidity.Backdate).UtcDateTime);
        generator.SetNotAfter((now + LeafValidity.Lifetime).UtcDateTime);
        generator.SetPublicKey(keyPair.Public);
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(false));
        int usage = _algorithm.Kind == KeyKind.Rsa
            ? KeyUsage.DigitalSignature | KeyUsage.KeyEncipherment
            : KeyUsage.DigitalSignature;
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(usage));
        generator.AddExtension(X509Extensions.ExtendedKeyUsage, false,
            new ExtendedKeyUsage(KeyPurposeID.id_kp_serverAuth, KeyPurposeID.id_kp_clientAuth));
        generator.AddExtension(X509Extensions.SubjectAlternativeName, false,
            new GeneralNames(new GeneralName(GeneralName.DnsName, Fqdn)));
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false,
            X509ExtensionUtilities.CreateSubjectKeyIdentifier(keyPair.Public));
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, _authorityKeyId);

        var certificate = generator.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", _caKey, _random));
        byte[] pkcs8 = PrivateKeyInfoFactory.CreatePrivateKeyInfo(keyPair.Private).GetEncoded();
        return new IssuedLeaf(certificate.GetEncoded(), pkcs8);
    }

    public void Dispose()
    {
        // Nothing native to release; IDisposable is part of the operation contract.
    }
}
