package io.lockstep.server;

import java.io.IOException;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;

/**
 * The HTTPS connector that replaces Javalin's plain one when TLS is on: TLS, then HTTP/1.1, on the
 * configured address and port. A client that speaks plain HTTP to it fails the handshake and is
 * disconnected; nothing is served to it.
 */
final class TlsConnector {
  private TlsConnector() {}

  /** Loads the TLS files; a file that cannot be used is an {@link IllegalArgumentException}. */
  static ServerTls load(TlsSettings settings) {
    try {
      return new ServerTls(settings);
    } catch (IOException e) {
      throw new IllegalArgumentException("tls: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("tls: " + e, e);
    }
  }

  static ServerConnector create(
      Server server, HttpConfiguration plain, ServerTls tls, ServerSettings settings) {
    HttpConfiguration https = new HttpConfiguration(plain);
    https.setSecureScheme("https");
    https.addCustomizer(new SecureRequestCustomizer());
    ServerConnector c =
        new ServerConnector(
            server,
            new SslConnectionFactory(tls.jetty(), HttpVersion.HTTP_1_1.asString()),
            new HttpConnectionFactory(https));
    c.setHost(settings.bindHost());
    c.setPort(settings.port());
    return c;
  }
}
