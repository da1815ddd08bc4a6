package io.lockstep.redis;

import io.lettuce.core.SslOptions;
import io.lockstep.spi.BackendUri;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * Who the Redis backend is to the server and how it checks the server: the ACL user and password
 * ({@code AUTH}) from the URI's user info ({@code redis://user:password@host}, percent-encoded) or
 * from the parameters {@code user}, {@code password} and {@code password_file} (the first line of a
 * file, which keeps the password out of the command line); and for {@code rediss://} the CA bundle
 * ({@code ca_file}, PEM; default: the JDK's trust store) and an optional client certificate ({@code
 * cert_file} with {@code key_file}, PEM, PKCS#8 key).
 */
final class RedisAuth {
  static final String USER = "user";
  static final String PASSWORD = "password";
  static final String PASSWORD_FILE = "password_file";
  static final String CA_FILE = "ca_file";
  static final String CERT_FILE = "cert_file";
  static final String KEY_FILE = "key_file";

  private RedisAuth() {}

  /** An ACL user (null: the default user) and its password. */
  record Credentials(@Nullable String user, String password) {
    @Override
    public String toString() { // never the password
      return "Credentials[user=" + user + ", password=***]";
    }
  }

  /** The PEM files of a TLS connection; each may be null. */
  record TlsFiles(@Nullable Path ca, @Nullable Path cert, @Nullable Path key) {
    SslOptions sslOptions() {
      SslOptions.Builder b = SslOptions.builder().jdkSslProvider();
      if (ca != null) {
        b.trustManager(ca.toFile());
      }
      if (cert != null && key != null) {
        b.keyManager(cert.toFile(), key.toFile(), null);
      }
      return b.build();
    }
  }

  static @Nullable Credentials credentials(BackendUri uri, @Nullable String userInfo) {
    String user = uri.params().get(USER);
    String password = uri.params().get(PASSWORD);
    String passwordFile = uri.params().get(PASSWORD_FILE);
    if (password != null && passwordFile != null) {
      throw new IllegalArgumentException("backend URI: give password or password_file, not both");
    }
    if (userInfo != null) {
      if (user != null || password != null || passwordFile != null) {
        throw new IllegalArgumentException(
            "backend URI: credentials both before the host (user:password@) and as parameters");
      }
      int colon = userInfo.indexOf(':');
      if (colon < 0) {
        throw new IllegalArgumentException(
            "backend URI: user info must be user:password@ or :password@ (the default user)");
      }
      user = decode(userInfo.substring(0, colon));
      password = decode(userInfo.substring(colon + 1));
    }
    if (passwordFile != null) {
      password = BackendUri.firstLineOf("password_file", Path.of(passwordFile));
    }
    if (user != null && user.isEmpty()) {
      user = null;
    }
    if (password == null) {
      if (user != null) {
        throw new IllegalArgumentException(
            "backend URI: user '" + user + "' needs a password (password or password_file)");
      }
      return null;
    }
    return new Credentials(user, password);
  }

  static @Nullable TlsFiles tlsFiles(BackendUri uri, boolean tls) {
    Path ca = uri.fileParam(CA_FILE);
    Path cert = uri.fileParam(CERT_FILE);
    Path key = uri.fileParam(KEY_FILE);
    if (!tls) {
      if (ca != null || cert != null || key != null) {
        throw new IllegalArgumentException(
            "backend URI: ca_file, cert_file and key_file need rediss:// (TLS)");
      }
      return null;
    }
    if ((cert == null) != (key == null)) {
      throw new IllegalArgumentException(
          "backend URI: cert_file and key_file go together: give both");
    }
    return new TlsFiles(ca, cert, key);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }
}
