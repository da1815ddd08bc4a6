package io.lockstep.server;

import java.time.Duration;

/**
 * The demo loading group behind {@code /data/<id>} (the groupcache example's {@code data} group).
 *
 * @param delay how long its loader sleeps before answering (the slow source); zero or more
 * @param ttl how long a loaded entry is kept; positive
 */
public record DataGroupSettings(Duration delay, Duration ttl) {
  /** 50 ms loads, entries kept 1 minute (the example's TTL). */
  public static final DataGroupSettings DEFAULTS =
      new DataGroupSettings(Duration.ofMillis(50), Duration.ofMinutes(1));

  public DataGroupSettings {
    if (delay == null || delay.isNegative()) {
      throw new IllegalArgumentException("delay: must be zero or positive, was " + delay);
    }
    if (ttl == null || ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("ttl: must be positive, was " + ttl);
    }
  }
}
