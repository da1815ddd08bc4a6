package io.lockstep.internal;

import io.lockstep.BackendUnavailableException;
import io.lockstep.ChangeEvent;
import io.lockstep.ChangeListener;
import io.lockstep.DriftCheck;
import io.lockstep.DriftReport;
import io.lockstep.DriftTarget;
import io.lockstep.KeyRange;
import io.lockstep.LockstepConfig;
import io.lockstep.LockstepException;
import io.lockstep.Versioned;
import io.lockstep.spi.Backend;
import io.lockstep.spi.Snapshot;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * This instance's replica as a {@link DriftTarget}, and the drift check of it against the source
 * ({@link #reconcile(boolean)}); see {@link DriftCheck} and {@code docs/drift.md}.
 *
 * <p><b>Memory as of a revision.</b> A change listener keeps a log of the last {@value
 * #LOG_CAPACITY} changes applied (revision, key). It runs on the applier, and every read of the log
 * happens there too ({@link Replicator#readBetweenSteps}, {@link Replicator#repairKey}), so the log
 * always agrees with memory. Asked for memory as of revision R, the replica waits until it has
 * applied R, copies its entries at its applied revision A, and leaves out the keys the log shows
 * changed in (R, A]. When the log no longer reaches back to R (more than {@value #LOG_CAPACITY}
 * changes since, or a listing that changed more than {@value #LARGE_LISTING} keys since, which
 * moves the log's floor instead of filling it), the request fails and the check lists the source
 * again (three times at most).
 *
 * <p><b>Repair.</b> Each drifted key is read from the source (a strong read at S) and installed
 * through the engine once S is applied, unless the key changed here after S; more than {@value
 * #RELIST_ABOVE} keys are repaired by one relist instead.
 *
 * <p>Thread safe; one check at a time.
 */
public final class Reconciler implements DriftTarget {

  /** Changes remembered to tell which keys changed after a check's revision. */
  static final int LOG_CAPACITY = 1 << 17;

  /** A listing that changes more keys than this moves the log's floor instead of filling it. */
  static final int LARGE_LISTING = 1000;

  /** Strong reads of a repair in flight at once. */
  static final int REPAIRS_IN_FLIGHT = 64;

  /** More drifted keys than this are repaired by a relist. */
  static final int RELIST_ABOVE = 1000;

  private final Replicator map;
  private final Backend backend;
  private final LockstepConfig config;
  private final ReentrantLock checking = new ReentrantLock();

  // The change log: touched by the applier only.
  private final ArrayDeque<Change> log = new ArrayDeque<>();
  private long floor; // every change above it is in the log

  private volatile Cached cached; // the last index of memory, while memory is unchanged

  private record Change(long revision, String key) {}

  private record Cached(long applied, long digest, EntryIndex index) {}

  /** Registers the change log on {@code map}; construct before the map starts. */
  Reconciler(Replicator map, Backend backend, LockstepConfig config) {
    this.map = map;
    this.backend = backend;
    this.config = config;
    map.addListener(
        new ChangeListener() {
          @Override
          public void onChange(ChangeEvent event) {
            record(event.revision(), event.key());
          }

          @Override
          public void onRevision(long revision, List<ChangeEvent> events) {
            if (events.size() > LARGE_LISTING && events.get(0).fromRelist()) {
              // A listing changed many keys: memory is the listing's at this revision, so a check
              // at or after it needs nothing older, and one before it lists again.
              log.clear();
              floor = Math.max(floor, revision);
              return;
            }
            for (ChangeEvent e : events) {
              record(revision, e.key());
            }
          }
        });
  }

  private void record(long revision, String key) { // on the applier
    log.addLast(new Change(revision, key));
    while (log.size() > LOG_CAPACITY) {
      floor = Math.max(floor, log.removeFirst().revision());
    }
  }

  /** Keys changed after {@code revision}; on the applier. */
  private Set<String> changedSince(long revision) {
    if (revision < floor) {
      throw new LockstepException(
          config.instanceId()
              + ": revision "
              + revision
              + " is older than the changes this replica remembers (from "
              + floor
              + "); list the source again");
    }
    Set<String> out = new HashSet<>();
    for (Iterator<Change> it = log.descendingIterator(); it.hasNext(); ) {
      Change c = it.next();
      if (c.revision() <= revision) {
        break;
      }
      out.add(c.key());
    }
    return out;
  }

  /** Whether {@code key} changed after {@code revision}; on the applier. */
  private boolean changedAfter(String key, long revision) {
    if (revision < floor) {
      return true; // cannot tell: leave the key alone
    }
    for (Iterator<Change> it = log.descendingIterator(); it.hasNext(); ) {
      Change c = it.next();
      if (c.revision() <= revision) {
        return false;
      }
      if (c.key().equals(key)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String name() {
    return config.instanceId();
  }

  private Duration waitBound() {
    Duration t = config.operationTimeout().multipliedBy(3);
    return t.compareTo(Duration.ofSeconds(10)) < 0 ? Duration.ofSeconds(10) : t;
  }

  private record MemoryAt(
      long applied, long digest, List<Versioned> entries, Set<String> excluded) {}

  @Override
  public Ranges ranges(long revision, List<KeyRange> digests, List<KeyRange> entries) {
    if (!map.replica().awaitRevision(revision, waitBound())) {
      throw new LockstepException(
          config.instanceId()
              + ": revision "
              + revision
              + " not applied within "
              + waitBound().toMillis()
              + " ms (applied "
              + map.appliedRevision()
              + ")");
    }
    boolean near = config.near();
    MemoryAt m =
        join(
            map.readBetweenSteps(
                (applied, all) -> {
                  Set<String> changed = changedSince(revision);
                  if (near) {
                    // A near replica may hold a value loaded after R (a strong read at its own
                    // revision): newer than the listing, so judged next time, like a change.
                    Set<String> newer = new java.util.HashSet<>(changed);
                    for (Versioned v : all) {
                      if (v.modRevision() > revision) {
                        newer.add(v.key());
                      }
                    }
                    changed = newer;
                  }
                  return new MemoryAt(applied, map.digest(), all, changed);
                }),
            "reading memory");
    Cached c = cached;
    // Near mode: loads change memory without a new applied revision (and the digest stays 0), so
    // the index is built afresh; it holds at most the near-mode bound.
    if (near || c == null || c.applied() != m.applied() || c.digest() != m.digest()) {
      c = new Cached(m.applied(), m.digest(), new EntryIndex(m.entries()));
      cached = c;
    }
    EntryIndex index = c.index();
    long bytes = 16;
    List<RangeDigest> ds = new ArrayList<>(digests.size());
    for (KeyRange r : digests) {
      long[] d = index.digest(r, m.excluded());
      ds.add(new RangeDigest(r, d[0], (int) d[1]));
      bytes += 2L * r.toString().length() + 30; // asked, then answered with a digest and a count
    }
    List<RangeEntries> es = new ArrayList<>(entries.size());
    for (KeyRange r : entries) {
      RangeEntries e = new RangeEntries(r, index.summaries(r, m.excluded()));
      es.add(e);
      bytes += 2L * r.toString().length() + 10;
      for (Summary s : e.entries()) {
        bytes += s.key().getBytes(StandardCharsets.UTF_8).length + 40;
      }
    }
    for (String k : m.excluded()) {
      bytes += k.getBytes(StandardCharsets.UTF_8).length + 3;
    }
    return new Ranges(m.applied(), m.excluded(), ds, es, bytes, near);
  }

  @Override
  public Repaired repair(Collection<String> keys) {
    long bytes = 0;
    for (String k : keys) {
      bytes += k.getBytes(StandardCharsets.UTF_8).length + 3;
    }
    if (keys.size() > RELIST_ABOVE) {
      join(map.replica().refresh(), "re-listing to repair " + keys.size() + " keys");
      return new Repaired(List.copyOf(keys), List.of(), bytes);
    }
    List<String> order = List.copyOf(keys);
    List<String> repaired = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    for (int from = 0;
        from < order.size();
        from += REPAIRS_IN_FLIGHT) { // bounded load on the source
      List<String> chunk = order.subList(from, Math.min(order.size(), from + REPAIRS_IN_FLIGHT));
      List<CompletableFuture<Boolean>> done = new ArrayList<>(chunk.size());
      for (String k : chunk) {
        done.add(
            backend
                .get(k)
                .thenCompose(
                    read -> map.repairKey(k, read.entry(), read.revision(), this::changedAfter))
                .orTimeout(waitBound().toNanos(), TimeUnit.NANOSECONDS));
      }
      for (int i = 0; i < chunk.size(); i++) {
        if (join(done.get(i), "repairing '" + chunk.get(i) + "'")) {
          repaired.add(chunk.get(i));
        } else {
          skipped.add(chunk.get(i));
        }
      }
    }
    return new Repaired(repaired, skipped, bytes);
  }

  /**
   * Lists the source and checks this replica against it; with {@code repair}, repairs what differs.
   * One check at a time: a second caller waits for the first.
   */
  public DriftReport reconcile(boolean repair) {
    checking.lock();
    try {
      long start = System.nanoTime();
      for (int attempt = 1; ; attempt++) {
        Snapshot source =
            join(
                backend
                    .snapshot()
                    .orTimeout(waitBound().multipliedBy(6).toNanos(), TimeUnit.NANOSECONDS),
                "listing the source");
        try {
          return DriftCheck.run(this, source, repair, start);
        } catch (BackendUnavailableException e) {
          throw e;
        } catch (LockstepException e) { // not applied in time, or relisted since: list again
          if (attempt >= 3) {
            throw e;
          }
        }
      }
    } finally {
      checking.unlock();
    }
  }

  private <T> T join(CompletableFuture<T> f, String what) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LockstepException(config.instanceId() + ": interrupted while " + what, e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof TimeoutException) {
        throw new BackendUnavailableException(
            config.instanceId() + ": timed out " + what + " (is the backend reachable?)", c);
      }
      if (c instanceof RuntimeException r) {
        throw r;
      }
      throw new LockstepException(config.instanceId() + ": failed " + what + ": " + c, e);
    }
  }
}
