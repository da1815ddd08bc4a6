/**
 * The {@code lockstep} command line. Backends are not required: they are found at run time by URI
 * scheme, through the providers of core's {@link io.lockstep.spi.BackendProvider}.
 */
module io.lockstep.cli {
  requires io.lockstep;
  requires io.lockstep.server;
  requires io.lockstep.process;
  requires io.lockstep.bench;
  requires info.picocli;
  requires com.fasterxml.jackson.databind;
  requires HdrHistogram;
  requires java.net.http;
  requires java.logging;
  requires jul.to.slf4j;

  opens io.lockstep.cli to
      info.picocli;
}
