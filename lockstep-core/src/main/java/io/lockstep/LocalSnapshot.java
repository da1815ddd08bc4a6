package io.lockstep;

import java.util.Collections;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Entries read from this instance's memory as they all stood at one applied revision: no entry of a
 * later revision, none missing that the revision held. Obtain it with {@link
 * Replica#snapshot(String, int)} or {@link Replica#snapshot(java.util.Collection)}.
 *
 * @param revision the applied revision the entries are at
 * @param entries the entries, in key order, unmodifiable
 */
public record LocalSnapshot(long revision, List<Versioned> entries) {

  /** Keeps {@code entries} as given: the engine hands over a fresh, key-ordered list. */
  public LocalSnapshot {
    entries = Collections.unmodifiableList(entries);
  }

  /** The entry for {@code key}, or null when the snapshot holds none. A binary search. */
  public @Nullable Versioned get(String key) {
    int lo = 0;
    int hi = entries.size() - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      int c = entries.get(mid).key().compareTo(key);
      if (c < 0) {
        lo = mid + 1;
      } else if (c > 0) {
        hi = mid - 1;
      } else {
        return entries.get(mid);
      }
    }
    return null;
  }
}
