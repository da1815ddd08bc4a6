package io.lockstep.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.Map;

/**
 * The counter names this process increments, bounded: a name is held from its first increment until
 * it has been idle for a while, and a new name past the bound is refused with 503 {@code
 * overloaded} and {@code Retry-After}, so a flood of made-up names cannot grow the per-name state
 * (a batching counter's window) without end. Reads keep no per-name state at all and are not
 * counted. Thread safe (a Caffeine cache that expires names after their last use).
 */
final class CounterNames {
  private final int max;
  private final Duration idle;
  private final Cache<String, Boolean> names;

  CounterNames(int max, Duration idle) {
    this.max = max;
    this.idle = idle;
    this.names = Caffeine.newBuilder().expireAfterAccess(idle).build();
  }

  /** Admits {@code name}, or throws the 503 when it is new and the bound is reached. */
  void admit(String name) {
    if (names.getIfPresent(name) != null) {
      return;
    }
    synchronized (this) { // check and insert as one, so concurrent new names never pass the bound
      if (names.getIfPresent(name) != null) {
        return;
      }
      if (names.estimatedSize() >= max) {
        names.cleanUp(); // expire idle names now, then count again
        if (names.estimatedSize() >= max) {
          throw new ApiException(
              503,
              ErrorMapper.OVERLOADED,
              "too many counter names in use on this instance (the limit is "
                  + max
                  + " names incremented within "
                  + idle.toMillis()
                  + " ms); '"
                  + name
                  + "' was not counted; retry later",
              Map.of(
                  Headers.RETRY_AFTER, Long.toString(Math.max(1, Math.min(60, idle.toSeconds())))));
        }
      }
      names.put(name, Boolean.TRUE);
    }
  }

  /** Names held now. */
  long size() {
    names.cleanUp();
    return names.estimatedSize();
  }
}
