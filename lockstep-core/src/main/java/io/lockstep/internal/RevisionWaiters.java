package io.lockstep.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Futures waiting for the applied revision to reach a value. Waiters for one revision share a
 * future and each caller gets its own copy, so one caller's timeout cannot fail another's. A caller
 * that gives up (its copy times out or is cancelled) is forgotten, so revisions that are never
 * reached do not pile up. Not on the read path: a short lock guards the waiting set.
 */
final class RevisionWaiters {
  private final TreeMap<Long, Waiter> waiting = new TreeMap<>();
  private final LongSupplier applied;
  private @Nullable Throwable closed; // guarded by this: once set, every await fails with it

  private static final class Waiter {
    final CompletableFuture<Long> shared = new CompletableFuture<>();
    int callers;
  }

  RevisionWaiters(LongSupplier applied) {
    this.applied = applied;
  }

  CompletableFuture<Long> await(long revision) {
    long now = applied.getAsLong();
    if (now >= revision) {
      return CompletableFuture.completedFuture(now);
    }
    Waiter w;
    synchronized (this) {
      if (closed != null) {
        return CompletableFuture.failedFuture(closed);
      }
      w = waiting.computeIfAbsent(revision, r -> new Waiter());
      w.callers++;
    }
    // The applier may have advanced between the check and the insert: look again.
    now = applied.getAsLong();
    if (now >= revision) {
      advance(now);
    }
    CompletableFuture<Long> copy = w.shared.copy();
    copy.whenComplete(
        (v, err) -> {
          if (err != null) {
            release(revision, w);
          }
        });
    return copy;
  }

  private synchronized void release(long revision, Waiter w) {
    if (--w.callers <= 0 && waiting.get(revision) == w) {
      waiting.remove(revision);
    }
  }

  /**
   * Completes every waiter at or below {@code revision}. Called after the applied revision moves.
   */
  void advance(long revision) {
    List<Waiter> due = null;
    synchronized (this) {
      for (Map.Entry<Long, Waiter> e;
          (e = waiting.firstEntry()) != null && e.getKey() <= revision; ) {
        waiting.pollFirstEntry();
        if (due == null) {
          due = new ArrayList<>(4);
        }
        due.add(e.getValue());
      }
    }
    if (due != null) {
      for (Waiter w : due) {
        w.shared.complete(revision);
      }
    }
  }

  /** Fails every waiter, e.g. when the map closes. */
  void failAll(Throwable cause) {
    List<Waiter> all;
    synchronized (this) {
      all = new ArrayList<>(waiting.values());
      waiting.clear();
    }
    for (Waiter w : all) {
      w.shared.completeExceptionally(cause);
    }
  }

  /** Fails every waiter with {@code cause}, and every later one: the map closed. */
  void close(Throwable cause) {
    synchronized (this) {
      if (closed == null) {
        closed = cause;
      }
    }
    failAll(cause);
  }

  synchronized int size() {
    return waiting.size();
  }
}
