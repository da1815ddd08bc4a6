package io.lockstep.redis;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The values of the map found in a format other than Lockstep's (written to {@code <ns>:data} or
 * {@code <ns>:log} by another program, or truncated): how many, and the keys they were found under.
 * Every find is counted (a listing counts a key it skips again); the keys of the last {@value
 * #REMEMBERED} distinct finds are remembered, most recent last, so each is logged at WARNING once,
 * not at every listing, and the last {@value #SHOWN} are shown in the backend's stats. Thread safe.
 */
final class UndecodableValues {
  /** How many of the most recent keys {@link #latestKeys()} shows. */
  static final int SHOWN = 10;

  /** How many distinct keys are remembered, so that each is logged once. */
  static final int REMEMBERED = 1000;

  private final AtomicLong count = new AtomicLong();

  @SuppressWarnings("serial") // never serialised
  private final Map<String, Boolean> keys = // guarded by itself; access order: most recent last
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > REMEMBERED;
        }
      };

  /**
   * Counts one undecodable value found under {@code key}.
   *
   * @return whether the key is new (not among those remembered): log it at WARNING then
   */
  boolean found(String key) {
    count.incrementAndGet();
    synchronized (keys) {
      return keys.put(key, Boolean.TRUE) == null;
    }
  }

  /** Counts one undecodable value whose key is unknown (a malformed stream entry). */
  void foundUnnamed() {
    count.incrementAndGet();
  }

  /** How many undecodable values were found since the backend started. */
  long count() {
    return count.get();
  }

  /** The keys of the last {@value #SHOWN} distinct finds, the most recent last. */
  List<String> latestKeys() {
    synchronized (keys) {
      List<String> all = new ArrayList<>(keys.keySet());
      return List.copyOf(all.subList(Math.max(0, all.size() - SHOWN), all.size()));
    }
  }
}
