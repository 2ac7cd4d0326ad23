// Many real mutual-TLS handshakes in one JVM (a JVM start costs 1-2 s): the pairs come from a
// file, one per line, tab-separated:
//
//   ID  SERVER_KS SERVER_KS_PASS SERVER_TS SERVER_TS_PASS CLIENT_KS CLIENT_KS_PASS CLIENT_TS CLIENT_TS_PASS EXPECTED_SERVER_FQDN
//
// java MutualTlsBatch.java PAIRS_FILE
//
// Each handshake is the one of MutualTls.java: a server on 127.0.0.1 that needs a client
// certificate, a client that verifies the server against EXPECTED_SERVER_FQDN (endpoint
// identification "HTTPS", SNI), one line exchanged both ways. Store types are detected by Java
// (PKCS12 and JKS). Prints "OK ID" or "FAIL ID <why>" per line, in order; exits 0 once all ran.

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

public class MutualTlsBatch {
    private static final int TIMEOUT_MS = 15_000;

    public static void main(String[] args) throws Exception {
        // As MutualTls.java: the servers run as the README ("Trust modes") tells a Java service
        // with a Pinned truststore to run, or the client would send no certificate.
        if (System.getProperty("jdk.tls.server.disableExtensions") == null) {
            System.setProperty("jdk.tls.server.disableExtensions", "certificate_authorities");
        }
        for (String line : Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            String result;
            try {
                result = handshake(f);
            } catch (Exception e) {
                result = "setup failed: " + e;
            }
            System.out.println((result == null ? "OK " + f[0] : "FAIL " + f[0] + " " + result.replace('\n', ' ')));
        }
        System.out.flush();
    }

    /** Null when both sides completed the handshake and exchanged a line; otherwise why not. */
    private static String handshake(String[] f) throws Exception {
        SSLContext serverContext = context(f[1], f[2], f[3], f[4]);
        SSLContext clientContext = context(f[5], f[6], f[7], f[8]);
        String fqdn = f[9];
        SSLServerSocket server = (SSLServerSocket) serverContext.getServerSocketFactory()
            .createServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        server.setNeedClientAuth(true);
        server.setSoTimeout(TIMEOUT_MS);
        int port = server.getLocalPort();
        AtomicReference<String> serverResult = new AtomicReference<>("server: no connection");
        Thread serverThread = new Thread(() -> {
            try (SSLSocket socket = (SSLSocket) server.accept()) {
                socket.setSoTimeout(TIMEOUT_MS);
                socket.startHandshake();
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                String line = in.readLine();
                OutputStream out = socket.getOutputStream();
                out.write(("pong " + line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                serverResult.set(null);
            } catch (Exception e) {
                serverResult.set("server: " + e);
            }
        });
        serverThread.start();
        String clientResult = null;
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MS);
            plain.setSoTimeout(TIMEOUT_MS);
            try (SSLSocket socket = (SSLSocket) clientContext.getSocketFactory().createSocket(plain, fqdn, port, true)) {
                SSLParameters parameters = socket.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                parameters.setServerNames(List.of(new SNIHostName(fqdn)));
                socket.setSSLParameters(parameters);
                socket.startHandshake();
                OutputStream out = socket.getOutputStream();
                out.write("ping\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                String reply = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8)).readLine();
                if (!"pong ping".equals(reply)) {
                    clientResult = "client: unexpected reply " + reply;
                }
            }
        } catch (Exception e) {
            clientResult = "client: " + e;
        }
        serverThread.join(TIMEOUT_MS);
        server.close();
        if (clientResult != null) {
            return clientResult + (serverResult.get() == null ? "" : "; " + serverResult.get());
        }
        return serverResult.get();
    }

    // A store file is read once per batch (decrypting a PKCS12 is most of a handshake's cost when
    // many lines share versions); every line still gets SSLContexts of its own (no resumption).
    private static final Map<String, KeyManager[]> KEY_MANAGERS = new HashMap<>();
    private static final Map<String, TrustManager[]> TRUST_MANAGERS = new HashMap<>();

    private static SSLContext context(String keystore, String keystorePassword, String truststore, String truststorePassword) throws Exception {
        KeyManager[] keys = KEY_MANAGERS.get(keystore + "\0" + keystorePassword);
        if (keys == null) {
            KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keyManagers.init(load(keystore, keystorePassword), keystorePassword.toCharArray());
            keys = keyManagers.getKeyManagers();
            KEY_MANAGERS.put(keystore + "\0" + keystorePassword, keys);
        }
        TrustManager[] trust = TRUST_MANAGERS.get(truststore + "\0" + truststorePassword);
        if (trust == null) {
            TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trustManagers.init(load(truststore, truststorePassword));
            trust = trustManagers.getTrustManagers();
            TRUST_MANAGERS.put(truststore + "\0" + truststorePassword, trust);
        }
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys, trust, null);
        return context;
    }

    private static KeyStore load(String path, String password) throws Exception {
        // Java 17 reads PKCS12 and JKS under either type (keystore.type.compat).
        KeyStore store = KeyStore.getInstance("JKS");
        try (InputStream in = new FileInputStream(path)) {
            store.load(in, password.toCharArray());
        }
        return store;
    }
}
