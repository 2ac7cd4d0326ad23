// A real mutual-TLS handshake between two Java endpoints on 127.0.0.1, used by the Pki tests to
// prove that the keystores and truststores Notary writes work in the JVM, not just in keytool.
//
// java MutualTls.java STORETYPE SERVER_KS SERVER_KS_PASS SERVER_TS SERVER_TS_PASS
//                     CLIENT_KS CLIENT_KS_PASS CLIENT_TS CLIENT_TS_PASS EXPECTED_SERVER_FQDN
//
// The client connects to 127.0.0.1 but verifies the server's certificate against
// EXPECTED_SERVER_FQDN (endpoint identification "HTTPS", SNI set to it), as a service in the
// cluster would. Prints "HANDSHAKE OK <server subject>" and "SERVER SAW <client subject>" and
// exits 0 only when both sides completed the handshake and exchanged one line.
//
// The server runs as the README ("Trust modes") tells a Java service with a Pinned truststore
// to run: with -Djdk.tls.server.disableExtensions=certificate_authorities. Otherwise the
// server's CertificateRequest names the subjects of its trusted certificates (the pinned
// leaves) as the acceptable issuers, and Java's default key manager then finds no client
// certificate issued by one of them and sends none. Pass
// -Djdk.tls.server.disableExtensions= (empty) to run a server with Java's defaults.

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

public class MutualTls {
    private static final int TIMEOUT_MS = 15_000;

    public static void main(String[] args) throws Exception {
        if (args.length != 10) {
            System.err.println("usage: MutualTls STORETYPE SERVER_KS SERVER_KS_PASS SERVER_TS SERVER_TS_PASS"
                + " CLIENT_KS CLIENT_KS_PASS CLIENT_TS CLIENT_TS_PASS EXPECTED_SERVER_FQDN");
            System.exit(2);
        }
        if (System.getProperty("jdk.tls.server.disableExtensions") == null) {
            System.setProperty("jdk.tls.server.disableExtensions", "certificate_authorities");
        }
        String type = args[0];
        SSLContext serverContext = context(type, args[1], args[2], args[3], args[4]);
        SSLContext clientContext = context(type, args[5], args[6], args[7], args[8]);
        String fqdn = args[9];

        SSLServerSocket server = (SSLServerSocket) serverContext.getServerSocketFactory()
            .createServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        server.setNeedClientAuth(true);
        server.setSoTimeout(TIMEOUT_MS);
        int port = server.getLocalPort();

        AtomicReference<String> serverResult = new AtomicReference<>("SERVER FAILED: no connection");
        Thread serverThread = new Thread(() -> {
            try (SSLSocket socket = (SSLSocket) server.accept()) {
                socket.setSoTimeout(TIMEOUT_MS);
                socket.startHandshake();
                String peer = socket.getSession().getPeerPrincipal().getName();
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                String line = in.readLine();
                OutputStream out = socket.getOutputStream();
                out.write(("pong " + line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                serverResult.set("SERVER SAW " + peer);
            } catch (Exception e) {
                serverResult.set("SERVER FAILED: " + e);
            }
        });
        serverThread.start();

        String clientResult;
        boolean clientOk = false;
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MS);
            plain.setSoTimeout(TIMEOUT_MS);
            try (SSLSocket socket = (SSLSocket) clientContext.getSocketFactory().createSocket(plain, fqdn, port, true)) {
                SSLParameters parameters = socket.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                parameters.setServerNames(List.of(new SNIHostName(fqdn)));
                socket.setSSLParameters(parameters);
                socket.startHandshake();
                String peer = socket.getSession().getPeerPrincipal().getName();
                // With TLS 1.3 the server judges the client certificate after the client's
                // handshake completes, so only a round trip proves the server accepted it.
                OutputStream out = socket.getOutputStream();
                out.write("ping\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                String reply = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8)).readLine();
                if ("pong ping".equals(reply)) {
                    clientOk = true;
                    clientResult = "HANDSHAKE OK " + peer;
                } else {
                    clientResult = "CLIENT FAILED: unexpected reply " + reply;
                }
            }
        } catch (Exception e) {
            clientResult = "CLIENT FAILED: " + e;
        }

        serverThread.join(TIMEOUT_MS);
        server.close();
        System.out.println(clientResult);
        System.out.println(serverResult.get());
        boolean serverOk = serverResult.get().startsWith("SERVER SAW ");
        System.exit(clientOk && serverOk ? 0 : 1);
    }

    private static SSLContext context(String type, String keystore, String keystorePassword, String truststore, String truststorePassword) throws Exception {
        KeyStore keys = load(type, keystore, keystorePassword);
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, keystorePassword.toCharArray());
        KeyStore trust = load(type, truststore, truststorePassword);
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
        return context;
    }

    private static KeyStore load(String type, String path, String password) throws Exception {
        KeyStore store = KeyStore.getInstance(type);
        try (InputStream in = new FileInputStream(path)) {
            store.load(in, password.toCharArray());
        }
        return store;
    }
}
