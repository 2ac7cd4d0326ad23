namespace Notary.Pki;

/// <summary>An invalid PKI input. The message names the culprit and never contains key material or passwords.</summary>
public sealed class PkiException : Exception
{
    public PkiException() { }
    public PkiException(string message) : base(message) { }
    public PkiException(string message, Exception inner) : base(message, inner) { }
}
