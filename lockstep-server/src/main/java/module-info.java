/** The Lockstep HTTP API over one node, as a library to embed; it brings no backend. */
module io.lockstep.server {
  requires transitive io.lockstep;
  requires io.javalin;
  requires org.eclipse.jetty.server;
  requires org.eclipse.jetty.http;
  requires org.eclipse.jetty.util;
  requires org.bouncycastle.pkix;
  requires org.bouncycastle.provider;
  requires jetty.servlet.api;
  requires com.fasterxml.jackson.databind;
  requires java.net.http;
  requires micrometer.core;
  requires micrometer.registry.prometheus;
  requires org.slf4j;
  requires com.github.benmanes.caffeine;

  exports io.lockstep.server;

  opens io.lockstep.server to
      com.fasterxml.jackson.databind;
}
