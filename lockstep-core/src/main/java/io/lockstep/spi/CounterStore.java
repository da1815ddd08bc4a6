package io.lockstep.spi;

import io.lockstep.IncrementResult;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * The backend's named counters: 64-bit integers kept in the source of truth, in the backend's
 * namespace but outside the replicated map (never listed, never in the feed, never a map revision).
 *
 * <p>Every increment is one atomic operation of the source (a Redis {@code INCRBY}, an etcd
 * transaction, a Raft log entry); the caller never reads, adds and writes back. A counter that was
 * never incremented reads 0. Futures fail with {@link io.lockstep.BackendUnavailableException} when
 * the source cannot be reached; an increment whose answer was lost says so ({@link
 * io.lockstep.BackendUnavailableException#mayHaveCommitted()}). Names are validated by the engine
 * (letters, digits and {@code ._-}, 1 to 128 characters) before they reach the backend. Thread
 * safe.
 */
public interface CounterStore {

  /**
   * Adds {@code delta} (which may be negative or 0) atomically and returns the new value.
   *
   * <p>Answered once, by the backend, within the node's operation timeout: with the value, or with
   * a {@link io.lockstep.BackendUnavailableException} whose {@code mayHaveCommitted()} is true only
   * when the increment may really have been applied. An increment that never left this instance by
   * then is withdrawn and answered as not committed. Nothing is sent, or sent again, after the
   * answer: when the engine completes the returned future itself (its own deadline passed), the
   * caller is gone and the increment must not be applied later. A retry of a lost answer must not
   * count twice (Redis re-sends the same request id, which its script applies at most once).
   */
  CompletableFuture<Long> incrementAndGet(String name, long delta);

  /**
   * {@link #incrementAndGet(String, long)} carrying the caller's request id. With a non-null {@code
   * requestId} the backend remembers, atomically with the increment, the id's {@link
   * RequestIds#digest digest}, the {@link RequestIds#increment fingerprint} of (name, delta) and
   * the new value; the same id sent again with the same request counts nothing and answers that
   * value with {@code replayed} true, and with a different request fails with {@link
   * io.lockstep.RequestIdReusedException}. Null: as the plain overload. The default ignores the id;
   * every bundled backend overrides it.
   */
  default CompletableFuture<IncrementResult> incrementAndGet(
      String name, long delta, @Nullable String requestId) {
    return incrementAndGet(name, delta).thenApply(v -> new IncrementResult(v, false));
  }

  /** The current value, read linearizably; 0 for a counter never incremented. */
  CompletableFuture<Long> get(String name);
}
