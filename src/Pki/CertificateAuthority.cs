using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Notary.Pki;

/// <summary>
/// The built-in CA: a self-signed root that issues leaf certificates for service-to-service TLS
/// (serverAuth + clientAuth, CN and SAN = fqdn plus alt names, random positive serial).
/// Pure: no I/O; the caller persists <see cref="CertificatePem"/> and <see cref="ExportPrivateKeyPem"/>.
/// An imported intermediate CA may bring its own issuers after its certificate in the PEM; they
/// become the rest of every leaf's chain.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    /// <summary>Leaves start this long before "now" so that peers with a slow clock accept them.</summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    /// <summary>The root key when <see cref="CreateRoot"/> is given none: broadly compatible and strong enough past 2030.</summary>
    public static readonly KeySpec DefaultRootKey = new(KeyAlgorithm.Rsa, 3072);

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    // RFC 5280 ub-common-name: a longer fqdn stays in the SAN only.
    private const int MaxCommonNameLength = 64;

    /// <summary>GeneralizedTime "99991231235959Z", RFC 5280's "no well-defined expiration".</summary>
    private static readonly DateTimeOffset LatestNotAfter = new(9999, 12, 31, 23, 59, 59, TimeSpan.Zero);

    private readonly X509Certificate2 _certificate;
    private readonly AsymmetricAlgorithm _key;
    private readonly IReadOnlyList<string> _chainPem;
    private readonly X509SignatureGenerator _signatureGenerator;
    private readonly HashAlgorithmName _hash;
    private readonly Lock _signing = new();
    private X509Extension? _authorityKeyIdentifier;
    private bool _disposed;

    private CertificateAuthority(X509Certificate2 certificate, AsymmetricAlgorithm key, IReadOnlyList<string> issuersPem)
    {
        _certificate = certificate;
        _key = key;
        _signatureGenerator = SignatureGenerator(key);
        _hash = HashFor(key);
        NotBefore = ToUtc(certificate.NotBefore);
        NotAfter = ToUtc(certificate.NotAfter);
        CertificatePem = Pem.Write(Pem.CertificateLabel, certificate.RawData);
        _chainPem = [CertificatePem, .. issuersPem];
    }

    /// <summary>Creates a new self-signed root CA valid from <paramref name="now"/> for <paramref name="lifetime"/>.</summary>
    public static CertificateAuthority CreateRoot(string commonName, TimeSpan lifetime, DateTimeOffset now, KeySpec? key = null)
    {
        if (string.IsNullOrWhiteSpace(commonName) || commonName.Length > MaxCommonNameLength)
        {
            throw new PkiException($"CA common name \"{commonName}\" must be 1 to {MaxCommonNameLength} characters");
        }

        if (lifetime <= TimeSpan.Zero)
        {
            throw new PkiException($"CA lifetime {GoDuration.Format(lifetime)} must be positive");
        }

        var start = TruncateToSeconds(now);
        if (lifetime > LatestNotAfter - start)
        {
            throw new PkiException($"CA lifetime {GoDuration.Format(lifetime)} ends after the year 9999, the last date X.509 can express");
        }

        var keySpec = key ?? DefaultRootKey;
        var privateKey = keySpec.Generate();
        try
        {
            var subject = new X500DistinguishedNameBuilder();
            subject.AddCommonName(commonName);
            var name = subject.Build();
            var request = NewRequest(name, privateKey, privateKey);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

            using var generated = request.Create(name, SignatureGenerator(privateKey), start - ClockSkewAllowance, start + lifetime, NewSerialNumber());
            var certificate = X509CertificateLoader.LoadCertificate(generated.RawData);
            return new CertificateAuthority(certificate, privateKey, []);
        }
        catch
        {
            privateKey.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads a CA from its PEM certificate (optionally followed by its own issuers, root last) and its
    /// PKCS#8 (or PKCS#1/SEC1) PEM private key; throws <see cref="PkiException"/> with a clear message
    /// when they do not match or the certificate is not a CA.
    /// </summary>
    public static CertificateAuthority FromPem(string certificatePem, string privateKeyPem)
    {
        var blocks = Pem.ReadCertificates(certificatePem, "CA certificate");
        if (blocks.Count == 0)
        {
            throw new PkiException("CA certificate: no PEM CERTIFICATE block found");
        }

        var certificate = Pem.Load(blocks[0], "CA certificate");
        AsymmetricAlgorithm? key = null;
        try
        {
            var subject = certificate.Subject;
            var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
            if (constraints is not { CertificateAuthority: true })
            {
                throw new PkiException($"CA certificate \"{subject}\" is not a CA: it lacks basicConstraints CA=true");
            }

            var usage = certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
            if (usage is not null && !usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign))
            {
                throw new PkiException($"CA certificate \"{subject}\" is not a CA: its keyUsage lacks keyCertSign");
            }

            key = Pem.ReadPrivateKey(privateKeyPem, "CA private key");
            if (!Pem.Matches(certificate, key))
            {
                throw new PkiException($"CA private key does not match the CA certificate \"{subject}\" (their public keys differ)");
            }

            var issuers = blocks.Skip(1).Select(der => Pem.Write(Pem.CertificateLabel, der)).ToList();
            return new CertificateAuthority(certificate, key, issuers);
        }
        catch
        {
            key?.Dispose();
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>The CA's own certificate (one PEM block).</summary>
    public string CertificatePem { get; }

    /// <summary>
    /// What every issued leaf carries as its chain: this CA, then its issuers up to the root.
    /// For an imported intermediate, persist <c>PemEncoder.Bundle(ChainPem)</c> rather than
    /// <see cref="CertificatePem"/> alone so that <see cref="FromPem"/> gets the issuers back.
    /// </summary>
    public IReadOnlyList<string> ChainPem => _chainPem;

    public DateTimeOffset NotAfter { get; }

    public DateTimeOffset NotBefore { get; }

    public string ExportPrivateKeyPem()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Pem.ExportPkcs8(_key);
    }

    /// <summary>
    /// Issues a leaf valid from <paramref name="now"/> (minus a small clock-skew allowance) for
    /// the requested lifetime, capped at the CA's own notAfter. Throws <see cref="PkiException"/>
    /// for an invalid request (bad fqdn, unsupported key, non-positive lifetime).
    /// </summary>
    public IssuedCertificate Issue(LeafRequest request, DateTimeOffset now, string? privateKeyPem = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(request);
        var dnsNames = DnsNames.Validate(request.Fqdn, request.AltNames);
        if (request.Key?.Validate() is { } keyError)
        {
            throw new PkiException($"certificate for \"{request.Fqdn}\": {keyError}");
        }

        if (request.Key is null)
        {
            throw new PkiException($"certificate for \"{request.Fqdn}\": no key specification");
        }

        if (request.Lifetime <= TimeSpan.Zero)
        {
            throw new PkiException($"certificate for \"{request.Fqdn}\": lifetime {GoDuration.Format(request.Lifetime)} must be positive");
        }

        var start = TruncateToSeconds(now);
        var caNotBefore = NotBefore;
        var caNotAfter = NotAfter;
        if (start >= caNotAfter)
        {
            throw new PkiException($"CA \"{_certificate.Subject}\" expired at {caNotAfter:O}; it cannot issue at {start:O}");
        }

        if (start < caNotBefore)
        {
            throw new PkiException($"CA \"{_certificate.Subject}\" is not valid before {caNotBefore:O}; it cannot issue at {start:O}");
        }

        var notBefore = Max(start - ClockSkewAllowance, caNotBefore);
        var notAfter = request.Lifetime >= caNotAfter - start ? caNotAfter : start + request.Lifetime;

        // A key pair generated by the caller (PKCS#8 PEM) is only signed for: generating one takes seconds for RSA-4096.
        using var leafKey = privateKeyPem is null ? request.Key.Generate() : request.Key.Read(privateKeyPem);
        var subject = new X500DistinguishedNameBuilder();
        if (request.Fqdn.Length <= MaxCommonNameLength)
        {
            subject.AddCommonName(request.Fqdn);
        }

        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        foreach (var uri in request.Uris ?? [])
        {
            if (!uri.IsAbsoluteUri)
            {
                throw new PkiException($"certificate for \"{request.Fqdn}\": URI name \"{uri}\" is not absolute");
            }

            san.AddUri(uri);
        }

        var usages = X509KeyUsageFlags.DigitalSignature;
        if (request.Key.Algorithm == KeyAlgorithm.Rsa)
        {
            usages |= X509KeyUsageFlags.KeyEncipherment;
        }

        // In the order the leaves have always carried them (CertificateRequest wrote them before CertificateEncoder did).
        var subjectPublicKeyInfo = leafKey.ExportSubjectPublicKeyInfo();
        X509Extension[] extensions =
        [
            new X509BasicConstraintsExtension(false, false, 0, true),
            new X509KeyUsageExtension(usages, true),
            new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid), new Oid(ClientAuthOid)], false),

            // With an empty subject RFC 5280 requires the SAN to be critical.
            san.Build(critical: request.Fqdn.Length > MaxCommonNameLength),
            new X509SubjectKeyIdentifierExtension(PublicKey.CreateFromSubjectPublicKeyInfo(subjectPublicKeyInfo, out _), false),

            // The CA's own key identifier: the same for every leaf, so made once (and only when
            // first needed: an imported CA without one fails here, at issuance, as it always did).
            _authorityKeyIdentifier ??= X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_certificate, true, false),
        ];

        var subjectName = subject.Build();
        var serialNumber = NewSerialNumber();
        notBefore = TruncateToSeconds(notBefore);
        notAfter = TruncateToSeconds(notAfter);
        byte[] leafDer;
        lock (_signing)
        {
            leafDer = CertificateEncoder.Encode(_certificate.SubjectName, subjectName, subjectPublicKeyInfo, serialNumber, notBefore, notAfter, extensions, _signatureGenerator, _hash);
        }

        return new IssuedCertificate(
            Pem.Write(Pem.CertificateLabel, leafDer),
            _chainPem,
            Pem.ExportPkcs8(leafKey),
            // NewSerialNumber's 16 bytes are the DER INTEGER's content, as X509Certificate2.SerialNumber shows it.
            Convert.ToHexString(serialNumber),
            notBefore,
            notAfter);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _key.Dispose();
        _certificate.Dispose();
    }

    public override string ToString() => $"CertificateAuthority {{ Subject = {_certificate.Subject}, NotAfter = {NotAfter:O} }}";

    /// <summary>A request for <paramref name="subjectKey"/> whose hash suits the signer's key.</summary>
    private static CertificateRequest NewRequest(X500DistinguishedName subject, AsymmetricAlgorithm subjectKey, AsymmetricAlgorithm signerKey)
    {
        var hash = HashFor(signerKey);
        return subjectKey switch
        {
            RSA rsa => new CertificateRequest(subject, rsa, hash, RSASignaturePadding.Pkcs1),
            ECDsa ec => new CertificateRequest(subject, ec, hash),
            _ => throw new PkiException($"key type {subjectKey.GetType().Name} is not supported"),
        };
    }

    /// <summary>The hash a signature by <paramref name="signerKey"/> uses: SHA-384 for P-384, else SHA-256.</summary>
    private static HashAlgorithmName HashFor(AsymmetricAlgorithm signerKey) =>
        signerKey is ECDsa { KeySize: > 256 } ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;

    private static X509SignatureGenerator SignatureGenerator(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
        _ => throw new PkiException($"key type {key.GetType().Name} is not supported"),
    };

    /// <summary>16 random bytes, high bit cleared (positive), never zero.</summary>
    private static byte[] NewSerialNumber()
    {
        var serial = new byte[16];
        do
        {
            RandomNumberGenerator.Fill(serial);
            serial[0] &= 0x7F;
        }
        while (serial[0] == 0); // also keeps the DER INTEGER exactly 16 bytes and non-zero

        return serial;
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private static DateTimeOffset ToUtc(DateTime value) => new DateTimeOffset(value).ToUniversalTime();

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

}
