/** The load tool behind {@code lockstep bench}. */
module io.lockstep.bench {
  requires com.fasterxml.jackson.databind;
  requires HdrHistogram;
  requires java.net.http;

  exports io.lockstep.bench;

  opens io.lockstep.bench to
      com.fasterxml.jackson.databind;
}
