// One-way TLS in one JVM on 127.0.0.1: a server presenting the key and chain of SERVER_P12 (a
// PKCS12 made with openssl), a client whose only trust is the truststore Notary built. Used to
// prove a Truststore's trust source in a real handshake.
//
// java SourceHandshake.java SERVER_P12 SERVER_PASS TRUSTSTORE TRUSTSTORE_PASS
//
// Prints "HANDSHAKE OK <server subject>" and exits 0, or "CLIENT FAILED: <exception>" and exits 1.

import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

public class SourceHandshake {
    public static void main(String[] args) throws Exception {
        KeyStore serverStore = load(args[0], args[1]);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(serverStore, args[1].toCharArray());
        SSLContext serverContext = SSLContext.getInstance("TLS");
        serverContext.init(kmf.getKeyManagers(), null, null);

        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(load(args[2], args[3]));
        SSLContext clientContext = SSLContext.getInstance("TLS");
        clientContext.init(null, tmf.getTrustManagers(), null);

        SSLServerSocket server = (SSLServerSocket) serverContext.getServerSocketFactory()
            .createServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        server.setSoTimeout(15_000);
        Thread accept = new Thread(() -> {
            try (Socket socket = server.accept()) {
                ((SSLSocket) socket).startHandshake();
                socket.getOutputStream().write('x');
                socket.getOutputStream().flush();
            } catch (Exception e) {
                // The client's refusal ends the server's handshake too.
            }
        });
        accept.start();
        try (SSLSocket client = (SSLSocket) clientContext.getSocketFactory().createSocket("127.0.0.1", server.getLocalPort())) {
            client.setSoTimeout(15_000);
            client.startHandshake();
            client.getInputStream().read();
            X509Certificate peer = (X509Certificate) client.getSession().getPeerCertificates()[0];
            System.out.println("HANDSHAKE OK " + peer.getSubjectX500Principal().getName());
        } catch (Exception e) {
            System.out.println("CLIENT FAILED: " + e);
            System.exit(1);
        } finally {
            accept.join(15_000);
            server.close();
        }
    }

    private static KeyStore load(String path, String password) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(path)) {
            store.load(in, password.toCharArray());
        }
        return store;
    }
}
