using Notary.Grains.Abstractions.Ports;
using Notary.Pki;

namespace Notary.Grains.Issuers;

/// <summary>
/// Issuer adapter for the built-in CA: issues Private certificates from the root that
/// <see cref="ICertificateAuthoritySource"/> provides. It cannot issue Public certificates
/// (no public CA trusts it), and says so.
/// </summary>
public sealed class BuiltInIssuer(ICertificateAuthoritySource authority, TimeProvider time) : ICertificateIssuer
{
    public const string DefaultName = "builtin";

    public string Name { get; init; } = DefaultName;

    /// <summary>Where the root it signs with comes from (the built-in root's issuer grain signs the default path's certificates from it).</summary>
    public ICertificateAuthoritySource Authority => authority;

    /// <summary>What each certificate's identifier starts with (its serial follows).</summary>
    public string ArnPrefix { get; init; } = "urn:notary:builtin:certificate/";

    public bool Supports(string certificateType) => certificateType == "Private";

    public async Task<IssueProgress> IssueAsync(IssueRequest request, CancellationToken cancellationToken)
    {
        var ca = await authority.GetAsync(cancellationToken).ConfigureAwait(false);
        var key = new KeySpec(
            request.Key.Algorithm.Equals("ECDSA", StringComparison.OrdinalIgnoreCase) ? KeyAlgorithm.Ecdsa : KeyAlgorithm.Rsa,
            request.Key.Size);
        IssuedCertificate issued;
        try
        {
            issued = ca.Issue(new LeafRequest(request.Fqdn, request.Alt, request.Lifetime, key), time.GetUtcNow(), request.PrivateKeyPem);
        }
        catch (PkiException ex)
        {
            throw new IssuerRejectedException("InvalidSpec", ex.Message);
        }

        return IssueProgress.Issued(new IssuedMaterial(
            ArnPrefix + issued.SerialNumber,
            issued.CertificatePem,
            issued.ChainPem,
            issued.PrivateKeyPem,
            issued.SerialNumber,
            issued.NotBefore,
            issued.NotAfter));
    }
}
