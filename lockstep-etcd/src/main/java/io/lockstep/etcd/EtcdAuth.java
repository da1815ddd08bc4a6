package io.lockstep.etcd;

import io.lockstep.spi.BackendUri;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;

/**
 * TLS and authentication of the etcd backend, from its URI: the user and password from the user
 * info before the first endpoint ({@code etcd://user:password@host:port,...}, percent-encoded) or
 * the parameters {@code user}, {@code password}, {@code password_file} (the first line of a file,
 * which keeps the password off the command line); TLS with {@code tls=true} or a {@code ca_file}
 * (PEM CA bundle; default: the JDK's trust store), and a client certificate with {@code cert_file}
 * and {@code key_file} (PEM, PKCS#8 key).
 *
 * @param tls whether the endpoints are {@code https}
 * @param caFile the CA bundle, or null for the JDK's trust store
 * @param certFile the client certificate chain, or null
 * @param keyFile the client key, or null
 * @param user the etcd user, or null for no authentication
 * @param password the user's password, or null
 */
record EtcdAuth(
    boolean tls, Path caFile, Path certFile, Path keyFile, String user, String password) {
  static final String TLS = "tls";
  static final String CA_FILE = "ca_file";
  static final String CERT_FILE = "cert_file";
  static final String KEY_FILE = "key_file";
  static final String USER = "user";
  static final String PASSWORD = "password";
  static final String PASSWORD_FILE = "password_file";
  static final Set<String> KNOWN =
      Set.of(TLS, CA_FILE, CERT_FILE, KEY_FILE, USER, PASSWORD, PASSWORD_FILE);

  static final EtcdAuth NONE = new EtcdAuth(false, null, null, null, null, null);

  /** Reads the parameters, and the user info of the first endpoint when not null. */
  static EtcdAuth parse(BackendUri uri, String userInfo) {
    String tlsParam = uri.params().get(TLS);
    if (tlsParam != null && !tlsParam.equals("true") && !tlsParam.equals("false")) {
      throw new IllegalArgumentException(
          "backend URI: tls must be true or false, was '" + tlsParam + "'");
    }
    Path ca = uri.fileParam(CA_FILE);
    Path cert = uri.fileParam(CERT_FILE);
    Path key = uri.fileParam(KEY_FILE);
    boolean tls = "true".equals(tlsParam) || (tlsParam == null && ca != null);
    if (!tls && (ca != null || cert != null || key != null)) {
      throw new IllegalArgumentException(
          "backend URI: ca_file, cert_file and key_file need TLS (not tls=false)");
    }
    if ((cert == null) != (key == null)) {
      throw new IllegalArgumentException(
          "backend URI: cert_file and key_file go together: give both");
    }
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
      if (colon <= 0) {
        throw new IllegalArgumentException("backend URI: user info must be user:password@");
      }
      user = decode(userInfo.substring(0, colon));
      password = decode(userInfo.substring(colon + 1));
    }
    if (passwordFile != null) {
      password = BackendUri.firstLineOf("password_file", Path.of(passwordFile));
    }
    if ((user == null || user.isEmpty()) != (password == null)) {
      throw new IllegalArgumentException(
          "backend URI: user and password (or password_file) go together: give both");
    }
    return new EtcdAuth(tls, ca, cert, key, user == null || user.isEmpty() ? null : user, password);
  }

  @Override
  public String toString() { // never the password
    return "EtcdAuth[tls="
        + tls
        + ", caFile="
        + caFile
        + ", certFile="
        + certFile
        + ", user="
        + user
        + (password == null ? "" : ", password=***")
        + "]";
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }
}
