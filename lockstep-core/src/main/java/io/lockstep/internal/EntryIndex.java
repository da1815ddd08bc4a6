package io.lockstep.internal;

import io.lockstep.Digests;
import io.lockstep.DriftTarget;
import io.lockstep.KeyRange;
import io.lockstep.Versioned;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Entries ordered by {@linkplain KeyRange#hash key hash}, with each one's {@link Digests#entry}: a
 * range's digest is a sum over a slice found by binary search. Both sides of a drift check build
 * one (the checker over the source's listing, a replica over its memory). Immutable once built.
 */
public final class EntryIndex {
  private final long[] hashes; // ascending as unsigned numbers
  private final long[] digests;
  private final Versioned[] entries;
  private final Map<String, Integer> position;

  public EntryIndex(List<Versioned> list) {
    int n = list.size();
    long[][] rows = new long[n][];
    for (int i = 0; i < n; i++) {
      Versioned v = list.get(i);
      rows[i] = new long[] {KeyRange.hash(v.key()), Digests.entry(v), i};
    }
    Arrays.sort(rows, (a, b) -> Long.compareUnsigned(a[0], b[0]));
    hashes = new long[n];
    digests = new long[n];
    entries = new Versioned[n];
    position = new HashMap<>(Math.max(16, n * 2));
    for (int i = 0; i < n; i++) {
      hashes[i] = rows[i][0];
      digests[i] = rows[i][1];
      entries[i] = list.get((int) rows[i][2]);
      position.put(entries[i].key(), i);
    }
  }

  public int size() {
    return hashes.length;
  }

  /** How many of {@code keys} are in the index. */
  public int countOf(Set<String> keys) {
    int c = 0;
    for (String k : keys) {
      if (position.containsKey(k)) {
        c++;
      }
    }
    return c;
  }

  /** {digest, count} of the range, the excluded keys left out. */
  public long[] digest(KeyRange r, Set<String> excluded) {
    int from = lowerBound(r.lowestHash());
    int to = to(r);
    long d = 0;
    for (int i = from; i < to; i++) {
      d += digests[i];
    }
    long count = to - from;
    for (String k : excluded) {
      Integer i = position.get(k);
      if (i != null && r.containsHash(hashes[i])) {
        d -= digests[i];
        count--;
      }
    }
    return new long[] {d, count};
  }

  /** Key to entry digest for the range, the excluded keys left out. */
  public Map<String, Long> digestsByKey(KeyRange r, Set<String> excluded) {
    Map<String, Long> out = new HashMap<>();
    int to = to(r);
    for (int i = lowerBound(r.lowestHash()); i < to; i++) {
      if (!excluded.contains(entries[i].key())) {
        out.put(entries[i].key(), digests[i]);
      }
    }
    return out;
  }

  /** The summaries of the range's entries, the excluded keys left out. */
  public List<DriftTarget.Summary> summaries(KeyRange r, Set<String> excluded) {
    List<DriftTarget.Summary> out = new ArrayList<>();
    int to = to(r);
    for (int i = lowerBound(r.lowestHash()); i < to; i++) {
      Versioned v = entries[i];
      if (!excluded.contains(v.key())) {
        out.add(new DriftTarget.Summary(v.key(), v.modRevision(), digests[i]));
      }
    }
    return out;
  }

  /** The first index whose hash is not below {@code h} (unsigned). */
  private int lowerBound(long h) {
    int lo = 0;
    int hi = hashes.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (Long.compareUnsigned(hashes[mid], h) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private int to(KeyRange r) { // exclusive
    long high = r.highestHash();
    return high == -1L ? hashes.length : lowerBound(high + 1);
  }
}
