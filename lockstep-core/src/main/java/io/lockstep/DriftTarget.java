package io.lockstep;

import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * A replica as a drift check sees it: it answers range digests and entry summaries of its memory at
 * a source revision, and repairs keys from the source. {@link DriftCheck} drives it. {@link
 * Lockstep#driftTarget()} is this instance's own replica; the server serves the same over HTTP
 * ({@code POST /admin/drift/ranges}, {@code POST /admin/drift/repair}), which the {@code lockstep
 * check} command calls.
 *
 * <p>Implementations are thread safe.
 */
public interface DriftTarget {

  /** The replica's name in reports: an instance id or a URL. */
  String name();

  /**
   * The replica's memory as of source revision {@code revision}: waits (bounded) until it has
   * applied {@code revision}, reads every entry at one applied revision A, and leaves out the keys
   * that changed in (revision, A], which it names in {@link Ranges#excluded()}: every other key
   * holds at A what it held at {@code revision}.
   *
   * @param digests the ranges to answer with a digest and a count
   * @param entries the ranges to answer with a summary of each entry
   * @throws LockstepException when the replica has not applied {@code revision} in time, or no
   *     longer remembers which keys changed since (a check then lists the source again)
   */
  Ranges ranges(long revision, List<KeyRange> digests, List<KeyRange> entries);

  /**
   * Installs the source's entry (or its absence) for each key, through the replica's engine: each
   * key is read from the source (a strong read at some revision S), then installed once the replica
   * has applied S, unless the key changed on the replica after S (a key never moves back).
   *
   * @return the keys repaired or found right already, and the bytes exchanged
   */
  Repaired repair(Collection<String> keys);

  /**
   * A replica's answer for some ranges.
   *
   * @param appliedRevision the applied revision A its memory was read at
   * @param excluded keys that changed after the asked revision, left out of every range
   * @param digests the digest ranges, in the order asked
   * @param entries the entry ranges, in the order asked
   * @param bytes the bytes this answer cost to move (request and response)
   * @param partial the replica holds only some keys (near mode): only those it holds are compared,
   *     and a key the source has and it does not is no drift
   */
  record Ranges(
      long appliedRevision,
      Set<String> excluded,
      List<RangeDigest> digests,
      List<RangeEntries> entries,
      long bytes,
      boolean partial) {
    public Ranges {
      excluded = Set.copyOf(excluded);
      digests = List.copyOf(digests);
      entries = List.copyOf(entries);
    }

    /** The answer of a replica that holds every key (full mode). */
    public Ranges(
        long appliedRevision,
        Set<String> excluded,
        List<RangeDigest> digests,
        List<RangeEntries> entries,
        long bytes) {
      this(appliedRevision, excluded, digests, entries, bytes, false);
    }
  }

  /**
   * One range's digest: the sum of {@link Digests#entry} over its entries, and how many.
   *
   * @param range the range
   * @param digest the sum, modulo 2<sup>64</sup>
   * @param count the entries in the range
   */
  record RangeDigest(KeyRange range, long digest, int count) {}

  /**
   * One range's entries, summarised.
   *
   * @param range the range
   * @param entries one per key, in any order
   */
  record RangeEntries(KeyRange range, List<Summary> entries) {
    public RangeEntries {
      entries = List.copyOf(entries);
    }
  }

  /**
   * An entry without its value: its key, mod revision and {@link Digests#entry} (which covers the
   * value).
   */
  record Summary(String key, long modRevision, long digest) {
    /** The summary of an entry. */
    public static Summary of(Versioned v) {
      return new Summary(v.key(), v.modRevision(), Digests.entry(v));
    }
  }

  /**
   * A repair's outcome.
   *
   * @param repaired the keys that now hold the source's entry (installed, or found right already)
   * @param skipped the keys left alone because they changed on the replica after the source read
   * @param bytes the bytes the repair cost to move (request and response)
   */
  record Repaired(List<String> repaired, List<String> skipped, long bytes) {
    public Repaired {
      repaired = List.copyOf(repaired);
      skipped = List.copyOf(skipped);
    }
  }
}
