/**
 * Lockstep's public API ({@code io.lockstep}) and backend SPI ({@code io.lockstep.spi}). The
 * engines in {@code io.lockstep.internal} are not exported: code outside this module cannot compile
 * against them. Backends are found at run time by URI scheme through {@link
 * io.lockstep.spi.BackendProvider}.
 */
module io.lockstep {
  requires transitive org.jspecify;

  exports io.lockstep;
  exports io.lockstep.spi;

  uses io.lockstep.spi.BackendProvider;
}
