package io.lockstep.server;

import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.ConnectionLimit;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.component.LifeCycle;

/**
 * The connection-level limits of {@link ServerLimits}, on Jetty: the number of connections ({@link
 * ConnectionLimit}), the idle timeout of each, the time a request's headers may take ({@link
 * SlowHeaders}), their size, and the slowest rate a body may arrive at.
 */
final class ConnectorLimits {
  private ConnectorLimits() {}

  /** On the server, before it starts (its connectors are added by then). */
  static void apply(Server server, ServerLimits limits) {
    server.addBean(new ConnectionLimit(limits.maxConnections(), server));
    server.addBean(new SlowHeaders(server, limits.headerTimeout(), limits.minRequestDataRate()));
    server.addEventListener(
        new LifeCycle.Listener() {
          @Override
          public void lifeCycleStarting(LifeCycle event) {
            for (Connector c : server.getConnectors()) {
              if (c instanceof AbstractConnector connector) {
                connector.setIdleTimeout(limits.idleTimeout().toMillis());
              }
            }
          }
        });
  }

  /** On every connector's HTTP configuration. */
  static void apply(HttpConfiguration http, ServerLimits limits) {
    http.setRequestHeaderSize(limits.maxRequestHeaderBytes());
    http.setMinRequestDataRate(0); // SlowHeaders bounds bodies, with a grace Jetty's lacks
  }
}
