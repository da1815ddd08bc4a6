package io.lockstep.server;

import java.time.Duration;

/**
 * The demo loading group behind {@code /data/<id>} (the groupcache example's {@code data} group).
 *
 * @param delay how long its loader sleeps before answering (the slow source); zero or more
 * @param ttl how long a loaded entry is kept; positive
 * @param peerDeadline how long a call to another member's group may take (connect and answer)
 *     before this instance loads the key itself; positive
 */
public record DataGroupSettings(Duration delay, Duration ttl, Duration peerDeadline) {
  /** 50 ms loads, entries kept 1 minute (the example's TTL), 1 s peer deadline. */
  public static final DataGroupSettings DEFAULTS =
      new DataGroupSettings(Duration.ofMillis(50), Duration.ofMinutes(1), Duration.ofSeconds(1));

  public DataGroupSettings {
    if (delay == null || delay.isNegative()) {
      throw new IllegalArgumentException("delay: must be zero or positive, was " + delay);
    }
    if (ttl == null || ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("ttl: must be positive, was " + ttl);
    }
    if (peerDeadline == null || peerDeadline.isNegative() || peerDeadline.isZero()) {
      throw new IllegalArgumentException("peerDeadline: must be positive, was " + peerDeadline);
    }
  }
}
