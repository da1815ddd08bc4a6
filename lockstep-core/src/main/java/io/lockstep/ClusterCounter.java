package io.lockstep;

import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * A named counter shared by every instance of the namespace, kept in the backend. Obtain one from
 * {@link Lockstep#counter(String)} or {@link Lockstep#counter(String, CounterOptions)}.
 *
 * <p><b>Guarantees.</b> Every increment is one atomic operation of the backend; no instance reads,
 * adds and writes back, so concurrent increments from any number of instances are never lost or
 * double counted. Each successful {@link #incrementAndGet(long)} returns a value no other increment
 * of this counter returned (for positive deltas): the counter's value right after this increment in
 * the backend's order. On a durable backend (etcd, the peer backend, Redis with AOF) the total
 * survives restarts.
 *
 * <p><b>Batching.</b> With {@link CounterOptions#batchWindow()} above zero, increments made on this
 * instance within the window are summed and sent as one backend increment when it ends. The total
 * stays exact and the returned values stay unique (the batch's increments are numbered
 * consecutively inside the range the backend handed out), but an increment completes only when its
 * batch was sent, up to the window plus one round trip later, and other instances see it only then.
 * {@link #get()} reads the backend and does not include increments still waiting in this instance's
 * batch. {@link #close()} sends what is waiting.
 *
 * <p><b>Failures.</b> An increment that fails with {@link BackendUnavailableException} was not
 * counted and will not be, unless {@link BackendUnavailableException#mayHaveCommitted()} says it
 * was sent and its answer lost, so it may or may not have been counted. Either way it is not
 * retried, and it is never sent to the backend after its caller was answered: an increment still
 * waiting in this instance when its deadline passes is withdrawn ("not counted"). So a caller may
 * safely retry exactly the failures whose {@code mayHaveCommitted()} is false. Which failures say
 * which, per backend, is in {@code docs/counters.md}.
 *
 * <p><b>Non-guarantees.</b> With batching, a failed batch fails every increment in it, and
 * increments waiting when the process dies are lost. On Redis without persistence the total does
 * not survive a Redis restart. Values are 64-bit and overflow silently past {@link Long#MAX_VALUE}.
 *
 * <p>Thread safe. Operations are bounded by the node's operation timeout; the backend answers an
 * increment by then itself, and the engine waits a short grace past it (a tenth of the timeout, 50
 * ms to 1 s) for that answer before answering "may have committed" on its own.
 */
public interface ClusterCounter extends AutoCloseable {

  /** The counter's name. */
  String name();

  /** Adds {@code delta} atomically in the backend; completes with the value right after it. */
  CompletableFuture<Long> incrementAndGetAsync(long delta);

  /**
   * Adds {@code delta} and returns the value right after it.
   *
   * @throws BackendUnavailableException when the backend cannot be reached or did not answer in
   *     time
   */
  long incrementAndGet(long delta);

  /**
   * Adds {@code delta} carrying a request id (for example an HTTP {@code Idempotency-Key}): the
   * backend remembers the id with the increment, atomically, so the same id sent again, from any
   * instance, counts nothing and answers the first value with {@link IncrementResult#replayed()}
   * true; the same id with another delta or counter fails with {@link RequestIdReusedException}. A
   * caller may therefore retry every failure, "may have committed" included, with the same id. An
   * increment with an id is never batched. Null: as {@link #incrementAndGetAsync(long)}.
   */
  CompletableFuture<IncrementResult> incrementAsync(long delta, @Nullable String requestId);

  /** The value in the backend, read linearizably (0 for a counter never incremented). */
  CompletableFuture<Long> getAsync();

  /**
   * The value in the backend.
   *
   * @throws BackendUnavailableException when the backend cannot be reached or did not answer in
   *     time
   */
  long get();

  /**
   * Ends this handle: sends the increments waiting in the batch window and waits for them and for
   * any batch already in flight (bounded by the operation timeout), then refuses this handle's
   * further use. Other handles of the same counter, from other calls to {@link Lockstep#counter},
   * are not affected. Idempotent.
   */
  @Override
  void close();
}
