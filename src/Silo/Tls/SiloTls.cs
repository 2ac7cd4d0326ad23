using Orleans.Connections.Security;

namespace Notary.Silo.Tls;

/// <summary>
/// Silo-to-silo mutual TLS: every connection between silos, in both directions, presents this
/// silo's current certificate (chosen per handshake, so a renewal needs no restart) and accepts
/// only a peer whose certificate <see cref="PeerCertificates.IsSilo"/> approves. A process
/// without such a certificate cannot join the cluster or send a message to a silo.
/// </summary>
public static class SiloTls
{
    public static void Use(ISiloBuilder silo, CertificateHolder holder, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(holder);
        silo.UseTls(options =>
        {
            options.LocalServerCertificateSelector = (_, _) => holder.Certificate;
            options.LocalClientCertificateSelector = (_, _, _, _, _) => holder.Certificate;
            options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
            options.RemoteCertificateValidation = (certificate, _, _) =>
                PeerCertificates.IsSilo(certificate, holder.Authority, holder.Name, time.GetUtcNow());
        });
    }
}
