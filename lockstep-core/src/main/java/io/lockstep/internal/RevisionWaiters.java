package io.lockstep.internal;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.LongSupplier;

/**
 * Futures waiting for the applied revision to reach a value. Lock-free: waiters for one revision
 * share a future, and each caller gets its own copy, so one caller's timeout cannot fail another's.
 */
final class RevisionWaiters {
  private final ConcurrentSkipListMap<Long, CompletableFuture<Long>> waiting = new ConcurrentSkipListMap<>();
  private final LongSupplier applied;

  RevisionWaiters(LongSupplier applied) {
    this.applied = applied;
  }

  CompletableFuture<Long> await(long revision) {
    long now = applied.getAsLong();
    if (now >= revision) {
      return CompletableFuture.completedFuture(now);
    }
    CompletableFuture<Long> shared = waiting.computeIfAbsent(revision, r -> new CompletableFuture<>());
    // The applier may have advanced between the check and the insert: look again.
    now = applied.getAsLong();
    if (now >= revision) {
      advance(now);
    }
    return shared.copy();
  }

  /** Completes every waiter at or below {@code revision}. Called after the applied revision moves. */
  void advance(long revision) {
    ConcurrentNavigableMap<Long, CompletableFuture<Long>> due = waiting.headMap(revision, true);
    for (Map.Entry<Long, CompletableFuture<Long>> e; (e = due.pollFirstEntry()) != null; ) {
      e.getValue().complete(revision);
    }
  }

  int size() {
    return waiting.size();
  }
}
