package io.lockstep.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * HTTPS for the server and for its calls to other members. The files are PEM: {@code certificate}
 * holds this instance's certificate followed by any intermediates; {@code privateKey} its key, as
 * PKCS#8 ({@code BEGIN PRIVATE KEY}), encrypted PKCS#8 ({@code BEGIN ENCRYPTED PRIVATE KEY}, with
 * {@code keyPasswordFile}) or OpenSSL's traditional RSA/EC format. All of them are read again when
 * their content changes on disk, checked every {@code reloadInterval}; new connections then get the
 * new certificate, without a restart.
 *
 * @param certificate the certificate chain, PEM
 * @param privateKey the private key, PEM
 * @param keyPasswordFile a file holding the key's password (its first line), for an encrypted key;
 *     null: the key is not encrypted
 * @param clientCa null: clients need no certificate; else the CA certificates (PEM) that client
 *     certificates must be signed by, and every connection without one is refused (mutual TLS)
 * @param trust the CA certificates (PEM) this server trusts when it calls other members over HTTPS;
 *     null: {@code clientCa} when given, else the JDK's default trust store
 * @param reloadInterval how often the files are checked for a change
 */
public record TlsSettings(
    Path certificate,
    Path privateKey,
    Path keyPasswordFile,
    Path clientCa,
    Path trust,
    Duration reloadInterval) {

  /** The default check interval of the files: 10 s. */
  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(10);

  public TlsSettings {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(privateKey, "privateKey");
    if (reloadInterval == null) {
      reloadInterval = DEFAULT_RELOAD_INTERVAL;
    }
    if (reloadInterval.isZero() || reloadInterval.isNegative()) {
      throw new IllegalArgumentException(
          "reloadInterval: must be a positive duration, was " + reloadInterval);
    }
  }

  /** Server certificate and key only: no client certificates asked, the JDK's trust store. */
  public static TlsSettings of(Path certificate, Path privateKey) {
    return new TlsSettings(certificate, privateKey, null, null, null, DEFAULT_RELOAD_INTERVAL);
  }

  /** Whether clients must present a certificate signed by {@link #clientCa()}. */
  public boolean mutual() {
    return clientCa != null;
  }
}
