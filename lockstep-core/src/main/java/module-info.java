/**
 * Lockstep's public API ({@code io.lockstep}) and backend SPI ({@code io.lockstep.spi}). The
 * engines in {@code io.lockstep.internal} are not exported: code outside this module cannot compile
 * against them. Backends are found at run time by URI scheme through {@link
 * io.lockstep.spi.BackendProvider}.
 *
 * <p>Besides JSpecify, core needs one library at run time: Caffeine, the loading group's caches
 * (not part of the API). The loading group's peer protocol uses the JDK's HTTP client and, for its
 * optional embedded listener, the JDK's {@code com.sun.net.httpserver}.
 */
module io.lockstep {
  requires transitive org.jspecify;
  requires com.github.benmanes.caffeine;
  requires java.net.http;
  requires jdk.httpserver;

  exports io.lockstep;
  exports io.lockstep.spi;

  uses io.lockstep.spi.BackendProvider;
}
