package io.lockstep.cli;

import io.lockstep.server.TlsSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The TLS flags of {@code lockstep serve}. */
final class TlsOptions {
  @Option(
      names = "--tls-cert",
      paramLabel = "PEM",
      defaultValue = "${env:LOCKSTEP_TLS_CERT}",
      description = {
        "Serve HTTPS only (plain HTTP on the port is refused) with this certificate chain (PEM:"
            + " the certificate, then any intermediates); needs --tls-key. The files are read"
            + " again when they change. Env LOCKSTEP_TLS_CERT. Default: none (plain HTTP)."
      })
  Path cert;

  @Option(
      names = "--tls-key",
      paramLabel = "PEM",
      defaultValue = "${env:LOCKSTEP_TLS_KEY}",
      description =
          "The certificate's private key (PEM: PKCS#8, encrypted PKCS#8, or OpenSSL's RSA/EC"
              + " format). Env LOCKSTEP_TLS_KEY.")
  Path key;

  @Option(
      names = "--tls-key-password-file",
      paramLabel = "FILE",
      defaultValue = "${env:LOCKSTEP_TLS_KEY_PASSWORD_FILE}",
      description =
          "A file whose first line is the password of an encrypted --tls-key."
              + " Env LOCKSTEP_TLS_KEY_PASSWORD_FILE.")
  Path keyPasswordFile;

  @Option(
      names = "--tls-client-ca",
      paramLabel = "PEM",
      defaultValue = "${env:LOCKSTEP_TLS_CLIENT_CA}",
      description =
          "Mutual TLS: every client (tools, probes, other instances) must present a certificate"
              + " signed by one of these CA certificates, or the connection is refused."
              + " Env LOCKSTEP_TLS_CLIENT_CA. Default: no client certificates asked.")
  Path clientCa;

  @Option(
      names = "--tls-trust",
      paramLabel = "PEM",
      defaultValue = "${env:LOCKSTEP_TLS_TRUST}",
      description =
          "The CA certificates trusted when this instance calls other instances over https"
              + " (/cluster, /api/v1/refresh; host names verified). Env LOCKSTEP_TLS_TRUST."
              + " Default: --tls-client-ca when given, else the JDK's trust store.")
  Path trust;

  @Option(
      names = "--tls-reload-interval",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_TLS_RELOAD_INTERVAL:-10s}",
      converter = DurationConverter.class,
      description =
          "How often the TLS files are checked for a change. Env LOCKSTEP_TLS_RELOAD_INTERVAL."
              + " Default: 10s.")
  Duration reloadInterval;

  /** The TLS settings, or null without {@code --tls-cert}; a usage error names the bad flag. */
  TlsSettings settings(CommandLine cmd) {
    if (cert == null && key == null) {
      for (Object[] other :
          new Object[][] {
            {"--tls-key-password-file", keyPasswordFile},
            {"--tls-client-ca", clientCa},
            {"--tls-trust", trust}
          }) {
        if (other[1] != null) {
          throw new ParameterException(
              cmd, "Invalid value for option '" + other[0] + "': needs --tls-cert and --tls-key");
        }
      }
      return null;
    }
    if (cert == null || key == null) {
      throw new ParameterException(cmd, "--tls-cert and --tls-key go together: give both");
    }
    if (reloadInterval.isZero() || reloadInterval.isNegative()) {
      throw new ParameterException(
          cmd, "Invalid value for option '--tls-reload-interval': must be positive");
    }
    readable(cmd, "--tls-cert", cert);
    readable(cmd, "--tls-key", key);
    readable(cmd, "--tls-key-password-file", keyPasswordFile);
    readable(cmd, "--tls-client-ca", clientCa);
    readable(cmd, "--tls-trust", trust);
    return new TlsSettings(cert, key, keyPasswordFile, clientCa, trust, reloadInterval);
  }

  private static void readable(CommandLine cmd, String flag, Path file) {
    if (file != null && !Files.isReadable(file)) {
      throw new ParameterException(
          cmd, "Invalid value for option '" + flag + "': cannot read " + file);
    }
  }
}
