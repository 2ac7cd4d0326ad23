namespace Notary.Pki;

/// <summary>Why a CA key pair (a <c>ca</c> issuer's Secret) cannot be used; <see cref="Reason"/> is a condition reason.</summary>
public sealed class CaKeyPairException(string reason, string message) : Exception(message)
{
    /// <summary>NotACa, KeyMismatch, Expired, NotYetValid, ChainInvalid, Unparsable.</summary>
    public string Reason { get; } = reason;
}

/// <summary>Loads a team's CA key pair and checks it before anything is signed with it.</summary>
public static class CaKeyPairs
{
    /// <summary>
    /// The CA in <paramref name="certificatePem"/> (its issuers may follow, root last) with its
    /// <paramref name="privateKeyPem"/>; throws <see cref="CaKeyPairException"/> naming what is wrong.
    /// CONTRACT (issue 18): the resources stream completes the checks (chain verification, validity window, reasons).
    /// </summary>
    public static CertificateAuthority Load(string certificatePem, string privateKeyPem, DateTimeOffset now)
    {
        CertificateAuthority authority;
        try
        {
            authority = CertificateAuthority.FromPem(certificatePem, privateKeyPem);
        }
        catch (PkiException ex)
        {
            throw new CaKeyPairException("NotACa", ex.Message);
        }

        if (authority.NotAfter <= now)
        {
            authority.Dispose();
            throw new CaKeyPairException("Expired", $"the CA certificate expired at {authority.NotAfter:O}");
        }

        return authority;
    }
}
