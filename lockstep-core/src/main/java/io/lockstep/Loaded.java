package io.lockstep;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link Loader} returns: the value's bytes and, optionally, how long they stay valid.
 *
 * @param value the bytes to cache and return (the group keeps this array; do not change it later)
 * @param ttl how long the value may be served from any cache, or {@code null} for the group's
 *     {@link GroupOptions#defaultTtl() default} (which may be "forever")
 */
public record Loaded(byte[] value, @Nullable Duration ttl) {
  public Loaded {
    Objects.requireNonNull(value, "value");
    if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
      throw new IllegalArgumentException("ttl: must be positive, was " + ttl);
    }
  }

  /** The value with the group's default expiry. */
  public static Loaded of(byte[] value) {
    return new Loaded(value, null);
  }

  /** The value, valid for {@code ttl}. */
  public static Loaded of(byte[] value, Duration ttl) {
    return new Loaded(value, ttl);
  }
}
