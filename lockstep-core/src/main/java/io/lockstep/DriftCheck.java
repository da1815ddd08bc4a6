package io.lockstep;

import io.lockstep.internal.Backends;
import io.lockstep.internal.EntryIndex;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.Snapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The drift check: compares a replica ({@link DriftTarget}) with a listing of the source of truth
 * at one revision, finds the keys that differ by range digests, and repairs them.
 *
 * <h2>How</h2>
 *
 * <p>The source is listed at revision R. The replica is asked for the digest of the whole key space
 * as of R ({@link DriftTarget#ranges}); equal digests and counts end the check. Otherwise each
 * differing range is split into its {@value KeyRange#FANOUT} {@linkplain KeyRange children} and
 * those are asked for, level by level (one request per level), until a differing range holds at
 * most {@link #LEAF_ENTRIES} entries on either side: then its entry summaries (key, mod revision,
 * entry digest; no value) are compared key by key. Only differing ranges are descended into, so
 * with d drifted keys among n the check asks about O(d · 16 · log<sub>16</sub> n) ranges and O(d ·
 * {@value #LEAF_ENTRIES}) summaries, not n entries.
 *
 * <p>The replica compares its memory as of R exactly: it waits until it has applied R, reads every
 * entry at one applied revision A ≥ R, and leaves out (and names) the keys that changed in (R, A]
 * (the rest hold at A what they held at R); the check leaves the same keys out of the listing for
 * that answer. A key that keeps changing is thus never reported as drift; it is checked next time.
 *
 * <p>A replica in near mode holds only the keys it has read, and says so ({@link
 * DriftTarget.Ranges#partial()}): its held keys' summaries (as many as its near-mode bound) are
 * then compared with the source's entries, and only those; a held value loaded after R is left out
 * like a change.
 *
 * <p>Thread safety: {@link #run} is a pure function of its arguments and the target.
 */
public final class DriftCheck {

  /** A differing range of at most this many entries on either side is compared key by key. */
  public static final int LEAF_ENTRIES = 32;

  private DriftCheck() {}

  /**
   * Lists a namespace of a source of truth once, without joining it as a member: the source side of
   * a drift check run outside any instance (the {@code lockstep check} command).
   *
   * @throws BackendUnavailableException when the listing did not complete within {@code timeout}
   */
  public static Snapshot listSource(String backendUri, String keyPrefix, Duration timeout) {
    try (Backend backend =
        Backends.open(backendUri, new BackendContext(keyPrefix, "lockstep-check", timeout))) {
      return backend.snapshot().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new BackendUnavailableException(
          "listing " + keyPrefix + " took longer than " + timeout.toMillis() + " ms", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackendUnavailableException("interrupted while listing " + keyPrefix, e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException r) {
        throw r;
      }
      throw new BackendUnavailableException("listing " + keyPrefix + " failed: " + c, e);
    }
  }

  /**
   * Checks {@code target} against {@code source} and, with {@code repair}, repairs what differs.
   *
   * @param startNanos when the check started ({@link System#nanoTime()}), for the report's time, so
   *     that listing the source counts
   */
  public static DriftReport run(
      DriftTarget target, Snapshot source, boolean repair, long startNanos) {
    EntryIndex index = new EntryIndex(source.entries());
    long revision = source.revision();
    Set<String> drifted = new TreeSet<>();
    Set<String> excludedEver = new HashSet<>();
    Set<String> targetOnly = new HashSet<>();
    long bytes = 0;
    List<KeyRange> digests = List.of(KeyRange.ALL);
    List<KeyRange> entries = List.of();
    while (!digests.isEmpty() || !entries.isEmpty()) {
      DriftTarget.Ranges answer = target.ranges(revision, digests, entries);
      bytes += answer.bytes();
      if (answer.partial()) { // near mode: the keys it holds, no more
        return partial(target, index, revision, repair, bytes, startNanos);
      }
      Set<String> excluded = answer.excluded();
      excludedEver.addAll(excluded);
      List<KeyRange> nextDigests = new ArrayList<>();
      List<KeyRange> nextEntries = new ArrayList<>();
      for (DriftTarget.RangeDigest d : answer.digests()) {
        long[] mine = index.digest(d.range(), excluded);
        if (mine[0] == d.digest() && mine[1] == d.count()) {
          continue;
        }
        if (d.range().isLeaf() || Math.max(mine[1], d.count()) <= LEAF_ENTRIES) {
          nextEntries.add(d.range());
        } else {
          nextDigests.addAll(d.range().children());
        }
      }
      for (DriftTarget.RangeEntries e : answer.entries()) {
        Map<String, Long> mine = index.digestsByKey(e.range(), excluded);
        for (DriftTarget.Summary s : e.entries()) {
          if (excluded.contains(s.key())) {
            continue;
          }
          Long d = mine.remove(s.key());
          if (d == null) {
            drifted.add(s.key());
            targetOnly.add(s.key());
          } else if (d != s.digest()) {
            drifted.add(s.key());
          }
        }
        drifted.addAll(mine.keySet()); // in the source, not on the replica
      }
      digests = nextDigests;
      entries = nextEntries;
    }
    drifted.removeAll(excludedEver); // changed since R on the replica: judged next time
    long checked = index.size() - index.countOf(excludedEver) + targetOnly.size();
    return report(target, revision, checked, drifted, repair, bytes, startNanos);
  }

  /**
   * A replica that holds only some keys (near mode): the summaries of the keys it holds (bounded by
   * its near-mode bound), each compared with the source's entry; a key it holds that the source no
   * longer has is drift, a key the source has that it does not hold is none.
   */
  private static DriftReport partial(
      DriftTarget target,
      EntryIndex index,
      long revision,
      boolean repair,
      long bytes,
      long startNanos) {
    DriftTarget.Ranges held = target.ranges(revision, List.of(), List.of(KeyRange.ALL));
    bytes += held.bytes();
    Map<String, Long> source = index.digestsByKey(KeyRange.ALL, Set.of());
    Set<String> drifted = new TreeSet<>();
    long checked = 0;
    for (DriftTarget.RangeEntries e : held.entries()) {
      for (DriftTarget.Summary s : e.entries()) {
        if (held.excluded().contains(s.key())) {
          continue; // changed, or loaded, after R: judged next time
        }
        checked++;
        Long d = source.get(s.key());
        if (d == null || d != s.digest()) {
          drifted.add(s.key());
        }
      }
    }
    return report(target, revision, checked, drifted, repair, bytes, startNanos);
  }

  private static DriftReport report(
      DriftTarget target,
      long revision,
      long checked,
      Set<String> drifted,
      boolean repair,
      long bytes,
      long startNanos) {
    List<String> repaired = List.of();
    if (repair && !drifted.isEmpty()) {
      DriftTarget.Repaired r = target.repair(List.copyOf(drifted));
      bytes += r.bytes();
      repaired = new ArrayList<>(r.repaired());
      repaired.retainAll(drifted);
      Collections.sort(repaired);
    }
    return new DriftReport(
        target.name(),
        revision,
        checked,
        List.copyOf(drifted),
        repaired,
        bytes,
        Duration.ofNanos(System.nanoTime() - startNanos));
  }
}
