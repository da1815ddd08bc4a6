package io.lockstep.server;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The TLS material of one server, from its {@link TlsSettings}: Jetty's {@link
 * SslContextFactory.Server} for the listening side, and an {@link SSLContext} for calls to other
 * members (presenting this instance's certificate, trusting {@link TlsSettings#trust()}). A
 * background check reads the files again when their content changes and swaps both without a
 * restart ({@link SslContextFactory#reload}); a change that cannot be loaded (a half-written file,
 * a key that does not match the certificate) is logged and the old material kept until the files
 * are whole again. Thread safe.
 */
final class ServerTls implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(ServerTls.class.getName());

  private final TlsSettings settings;
  private final SslContextFactory.Server jetty = new SslContextFactory.Server();
  private final SSLContext client;
  private final ScheduledExecutorService watcher;
  private volatile X509ExtendedKeyManager keys;
  private volatile X509ExtendedTrustManager trusted;
  private volatile String fingerprint;

  /** Loads the files; fails with a message naming the file that cannot be used. */
  ServerTls(TlsSettings settings) throws IOException {
    this.settings = settings;
    Material m = load();
    fingerprint = m.fingerprint;
    configure(jetty, m);
    keys = m.keyManager;
    trusted = m.trustManager;
    try {
      client = SSLContext.getInstance("TLS");
      client.init(
          new KeyManager[] {new CurrentKeys()},
          new TrustManager[] {new CurrentTrust()},
          new SecureRandom());
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot make the TLS client context: " + e.getMessage(), e);
    }
    watcher =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("lockstep-tls-reload").unstarted(r));
    long every = settings.reloadInterval().toMillis();
    watcher.scheduleWithFixedDelay(this::reloadIfChanged, every, every, TimeUnit.MILLISECONDS);
  }

  /** The listening side's factory, for Jetty's SSL connection factory. */
  SslContextFactory.Server jetty() {
    return jetty;
  }

  /** The context of calls to other members. */
  SSLContext client() {
    return client;
  }

  /** Reads the files again when their content changed; true when new material was taken. */
  boolean reloadIfChanged() {
    try {
      String now = fingerprint();
      if (now.equals(fingerprint)) {
        return false;
      }
      Material m = load();
      jetty.reload(f -> configure((SslContextFactory.Server) f, m));
      keys = m.keyManager;
      trusted = m.trustManager;
      fingerprint = m.fingerprint;
      LOG.log(
          Level.INFO,
          "TLS: reloaded "
              + settings.certificate()
              + " (certificate serial "
              + m.serial.toString(16)
              + ")");
      return true;
    } catch (Exception e) { // keep serving with what was loaded; try again at the next check
      LOG.log(Level.WARNING, "TLS: the changed files cannot be used yet: " + e.getMessage());
      return false;
    }
  }

  @Override
  public void close() {
    watcher.shutdownNow();
  }

  private void configure(SslContextFactory.Server f, Material m) {
    f.setKeyStore(m.keyStore);
    f.setKeyStorePassword(new String(m.storePassword));
    f.setCertAlias("lockstep");
    if (m.clientCa != null) {
      f.setTrustStore(m.clientCa);
      f.setNeedClientAuth(true);
    }
  }

  private record Material(
      String fingerprint,
      KeyStore keyStore,
      char[] storePassword,
      KeyStore clientCa,
      X509ExtendedKeyManager keyManager,
      X509ExtendedTrustManager trustManager,
      java.math.BigInteger serial) {}

  private Material load() throws IOException {
    String print = fingerprint();
    char[] password =
        settings.keyPasswordFile() == null ? null : PemFiles.password(settings.keyPasswordFile());
    List<X509Certificate> chain = PemFiles.certificates(settings.certificate());
    PrivateKey key = PemFiles.privateKey(settings.privateKey(), password);
    char[] storePassword =
        HexFormat.of().formatHex(new SecureRandom().generateSeed(16)).toCharArray();
    KeyStore ks;
    try {
      ks = PemFiles.keyStore(chain, key, storePassword);
    } catch (IOException e) {
      throw new IOException(
          settings.privateKey() + " and " + settings.certificate() + ": " + e.getMessage(), e);
    }
    KeyStore clientCa =
        settings.clientCa() == null
            ? null
            : PemFiles.trustStore(PemFiles.certificates(settings.clientCa()));
    Path trustFile = settings.trust() != null ? settings.trust() : settings.clientCa();
    KeyStore trust =
        trustFile == null ? null : PemFiles.trustStore(PemFiles.certificates(trustFile));
    try {
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, storePassword);
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust); // null: the JDK's default trust store
      return new Material(
          print,
          ks,
          storePassword,
          clientCa,
          (X509ExtendedKeyManager) kmf.getKeyManagers()[0],
          (X509ExtendedTrustManager) tmf.getTrustManagers()[0],
          chain.get(0).getSerialNumber());
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot use the TLS material: " + e.getMessage(), e);
    }
  }

  /** A digest of every file's content (a missing optional file counts as empty). */
  private String fingerprint() throws IOException {
    MessageDigest d;
    try {
      d = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (Path p :
        new Path[] {
          settings.certificate(),
          settings.privateKey(),
          settings.keyPasswordFile(),
          settings.clientCa(),
          settings.trust()
        }) {
      if (p == null) {
        d.update((byte) 0);
        continue;
      }
      try {
        d.update(Files.readAllBytes(p));
      } catch (NoSuchFileException e) {
        throw new IOException(p + ": no such file", e);
      }
      d.update((byte) 1);
    }
    return HexFormat.of().formatHex(d.digest());
  }

  /** This instance's key and chain as last loaded, for calls to other members. */
  private final class CurrentKeys extends X509ExtendedKeyManager {
    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return keys.getClientAliases(keyType, issuers);
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return keys.chooseClientAlias(keyType, issuers, socket);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine e) {
      return keys.chooseEngineClientAlias(keyType, issuers, e);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return keys.getServerAliases(keyType, issuers);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return keys.chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine e) {
      return keys.chooseEngineServerAlias(keyType, issuers, e);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return keys.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return keys.getPrivateKey(alias);
    }
  }

  /** The trust bundle as last loaded, for calls to other members. */
  private final class CurrentTrust extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      trusted.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      trusted.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      trusted.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      trusted.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      trusted.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      trusted.checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return trusted.getAcceptedIssuers();
    }
  }
}
