using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Notary.Pki.Bench;

/// <summary>
/// The unit of issuance with System.Security.Cryptography (OpenSSL 3 on Linux): generate the leaf
/// key, build and sign the certificate with the CA's X509SignatureGenerator, export PKCS#8.
/// One instance per thread: it owns an ECDsa handle for the CA key, and .NET does not promise that
/// one key object may sign from several threads at once.
/// </summary>
internal sealed class DotNetLeafIssuer : IOperation<IssuedLeaf>
{
    private static readonly OidCollection LeafUsages = [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")];

    private readonly LeafAlgorithm _algorithm;
    private readonly ECDsa _caKey;
    private readonly X509SignatureGenerator _caSigner;
    private readonly X500DistinguishedName _caName;
    private readonly X509AuthorityKeyIdentifierExtension _authorityKeyId;
    private readonly X500DistinguishedName _subject;

    public DotNetLeafIssuer(BenchCa ca, LeafAlgorithm algorithm, string fqdn)
    {
        _algorithm = algorithm;
        _caKey = ECDsa.Create();
        _caKey.ImportPkcs8PrivateKey(ca.PrivateKeyPkcs8, out _);
        _caSigner = X509SignatureGenerator.CreateForECDsa(_caKey);
        using var caCertificate = X509CertificateLoader.LoadCertificate(ca.CertificateDer);
        _caName = caCertificate.SubjectName;
        _authorityKeyId = X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caCertificate, true, false);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(fqdn);
        _subject = subject.Build();
        Fqdn = fqdn;
    }

    public string Fqdn { get; }

    public IssuedLeaf Run()
    {
        using AsymmetricAlgorithm key = _algorithm.Kind switch
        {
            KeyKind.Rsa => RSA.Create(_algorithm.Size),
            KeyKind.Ecdsa => ECDsa.Create(_algorithm.Size == 256 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384),
            _ => throw new InvalidOperationException($"unknown key kind {_algorithm.Kind}"),
        };
        var publicKey = key switch
        {
            RSA rsa => new PublicKey(rsa),
            ECDsa ecdsa => new PublicKey(ecdsa),
            _ => throw new InvalidOperationException("unreachable"),
        };

        var request = new CertificateRequest(_subject, publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var usage = _algorithm.Kind == KeyKind.Rsa
            ? X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment
            : X509KeyUsageFlags.DigitalSignature;
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(LeafUsages, false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(Fqdn);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(publicKey, false));
        request.CertificateExtensions.Add(_authorityKeyId);

        var now = TimeProvider.System.GetUtcNow();
        using var certificate = request.Create(
            _caName, _caSigner, now - LeafValidity.Backdate, now + LeafValidity.Lifetime, LeafValidity.NewSerial());
        return new IssuedLeaf(certificate.RawData, key.ExportPkcs8PrivateKey());
    }

    public void Dispose() => _caKey.Dispose();
}
