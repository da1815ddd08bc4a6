/**
 * The Redis backend ({@code redis://}, {@code rediss://}), a thin adapter over core's SPI on
 * Lettuce.
 */
module io.lockstep.redis {
  requires io.lockstep;
  requires lettuce.core;
  requires com.fasterxml.jackson.databind;

  provides io.lockstep.spi.BackendProvider with
      io.lockstep.redis.RedisBackendProvider;
}
