package io.lockstep;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * A map of string keys to byte values whose every instance holds a full copy in memory (or, in
 * {@link ReplicaMode#NEAR near mode}, the keys it has read) and follows the source of truth in
 * revision order. This interface reads and writes the map; {@link #replica()} tells how far this
 * instance's copy has got and waits for it.
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>{@link #get(String)} is a lock-free lookup in memory: no I/O, no allocation (in near mode,
 *       a hit; a miss loads the key, see below).
 *   <li>Changes are applied strictly in revision order, one revision as one step. A change the feed
 *       cannot deliver (compaction, trimmed stream, gap) makes the instance re-list; a change is
 *       never skipped silently.
 *   <li>Multi-key reads ({@link #list}, {@link #getAll}, {@link Replica#snapshot(String, int)}) see
 *       memory at exactly one applied revision, never part of one.
 *   <li>On one instance, reads never go back in time: once revision R is visible, nothing older is.
 *   <li>A write returns its committed revision only after this instance has applied it, so the
 *       writer reads its own write locally. Any other instance reads it after {@link
 *       Replica#awaitRevision(long, java.time.Duration)} with that revision (session consistency).
 *   <li>Writes made straight into the source by other programs are followed like our own.
 * </ul>
 *
 * <h2>Near mode</h2>
 *
 * <p>In {@link ReplicaMode#NEAR} the instance holds only the keys it has read, within a bound
 * ({@link LockstepBuilder#nearMaxKeys}, {@link LockstepBuilder#nearMaxBytes}). A hit of {@link
 * #get(String)} is still a lock-free lookup; a miss loads the key from the source (one strong read
 * per key at a time) and may throw {@link BackendUnavailableException}, and on the replication
 * thread (a change listener) it throws {@link IllegalStateException}. The feed keeps held keys up
 * to date (or drops them, {@link NearOnChange#INVALIDATE}); a load's value is kept only if no newer
 * change of the key went by meanwhile, reads never go back in time (relists included), and a
 * deleted key is never served again: absence is not held, a miss of an absent key asks the source
 * each time. {@link #list}, {@link #getAll}, {@link #size} and the replica's snapshots see the held
 * keys only, and the digest is 0. See {@code docs/replicated-map.md}, "Near mode".
 *
 * <h2>Non-guarantees</h2>
 *
 * <ul>
 *   <li>LOCAL reads may lag the source by the feed delay, unbounded while the backend is
 *       unreachable; {@link Replica#stats()} reports the lag.
 *   <li>Two instances are not updated at the same instant; at any moment they may be at different
 *       revisions.
 *   <li>Change listeners run on the applying thread; a slow listener delays every later change.
 * </ul>
 *
 * <h2>Threads</h2>
 *
 * <p>Every method may be called from any thread. The futures of the {@code *Async} methods (and of
 * {@link Replica#refresh()}, {@link Replica#awaitRevisionAsync}) complete on the callback executor
 * ({@link LockstepBuilder#callbackExecutor}, by default {@link
 * java.util.concurrent.ForkJoinPool#commonPool()}), never on the replication thread or a backend
 * client's I/O thread, so a callback may block, even on this map. A change listener runs on the
 * replication thread and must not block on the map: the blocking methods ({@link #put}, {@link
 * #delete}, {@link #compareAndSet}, {@link #compareAndDelete}, a STRONG {@link #get(String,
 * ReadConsistency)}, {@link Replica#awaitRevision}) and {@code get()}/{@code join()} on an
 * unfinished future of this map throw {@link IllegalStateException} there instead of waiting for
 * ever. When the map closes, every call still pending completes exceptionally with a {@link
 * LockstepException} saying so (a write may have committed all the same).
 */
public interface ReplicatedMap {

  /**
   * This instance's entry for {@code key} from memory, or null when it holds none. In near mode, a
   * key not held is loaded from the source first (see "Near mode" above).
   */
  @Nullable Versioned get(String key);

  /**
   * Reads {@code key} with the given consistency. {@link ReadConsistency#STRONG} asks the source of
   * truth and may throw {@link BackendUnavailableException}.
   *
   * @return the entry, or null when the key is absent
   */
  @Nullable Versioned get(String key, ReadConsistency consistency);

  /** A strong read, asynchronously; see {@link ReadConsistency#STRONG}. */
  CompletableFuture<@Nullable Versioned> getStrongAsync(String key);

  /**
   * Writes {@code value} under {@code key} unconditionally.
   *
   * @return the committed revision, already applied here
   * @throws IllegalArgumentException for an empty, oversized or reserved key, or an oversized value
   * @throws BackendUnavailableException when the source cannot be reached
   * @throws NotAppliedException when it committed but was not applied here in time
   */
  WriteResult put(String key, byte[] value, String contentType);

  /** {@link #put} asynchronously; validation errors are thrown at once. */
  CompletableFuture<WriteResult> putAsync(String key, byte[] value, String contentType);

  /**
   * Writes {@code value} only if the key's mod revision is {@code expectedRevision} (0: only if the
   * key is absent).
   *
   * @return {@link WriteResult.Status#APPLIED}, or {@link WriteResult.Status#CONFLICT} with the
   *     current revision
   */
  WriteResult compareAndSet(String key, long expectedRevision, byte[] value, String contentType);

  /** {@link #compareAndSet} asynchronously. */
  CompletableFuture<WriteResult> compareAndSetAsync(
      String key, long expectedRevision, byte[] value, String contentType);

  /**
   * Removes {@code key}.
   *
   * @return {@link WriteResult.Status#APPLIED} with the committed revision, or {@link
   *     WriteResult.Status#NOT_FOUND} when there was no such key
   */
  WriteResult delete(String key);

  /** {@link #delete} asynchronously. */
  CompletableFuture<WriteResult> deleteAsync(String key);

  /**
   * Removes {@code key} only if its mod revision is {@code expectedRevision}.
   *
   * @return APPLIED, CONFLICT (with the current revision, 0 when absent)
   */
  WriteResult compareAndDelete(String key, long expectedRevision);

  /** {@link #compareAndDelete} asynchronously. */
  CompletableFuture<WriteResult> compareAndDeleteAsync(String key, long expectedRevision);

  /**
   * {@link #putAsync(String, byte[], String)} carrying a request id (for example an HTTP {@code
   * Idempotency-Key}): the backend remembers the id with the write, atomically, so the same id sent
   * again, from this instance or any other, changes nothing and answers the first answer with
   * {@link WriteResult#replayed()} true; the same id with a different request fails with {@link
   * RequestIdReusedException}. How long an id is remembered depends on the backend ({@code
   * docs/http-api.md}). Null: as without one.
   */
  CompletableFuture<WriteResult> putAsync(
      String key, byte[] value, String contentType, @Nullable String requestId);

  /** {@link #compareAndSetAsync(String, long, byte[], String)} carrying a request id. */
  CompletableFuture<WriteResult> compareAndSetAsync(
      String key,
      long expectedRevision,
      byte[] value,
      String contentType,
      @Nullable String requestId);

  /** {@link #deleteAsync(String)} carrying a request id. */
  CompletableFuture<WriteResult> deleteAsync(String key, @Nullable String requestId);

  /** {@link #compareAndDeleteAsync(String, long)} carrying a request id. */
  CompletableFuture<WriteResult> compareAndDeleteAsync(
      String key, long expectedRevision, @Nullable String requestId);

  /**
   * The entries held in memory whose key starts with {@code prefix}, in key order, all as they
   * stood at one applied revision ({@link Replica#snapshot(String, int)} tells which).
   *
   * @param limit the most entries returned; 0 or less means no limit
   */
  List<Versioned> list(String prefix, int limit);

  /**
   * The entries held in memory for {@code keys} (absent keys are left out), all as they stood at
   * one applied revision: two keys written in one revision are both seen or neither. {@link
   * Replica#snapshot(Collection)} also tells the revision.
   *
   * @return an unmodifiable map from key to entry
   */
  Map<String, Versioned> getAll(Collection<String> keys);

  /** The number of keys held in memory. */
  int size();

  /**
   * Registers a listener for every change applied from now on; see {@link ChangeListener} for the
   * thread that calls it. Close the result to remove it.
   */
  Registration addListener(ChangeListener listener);

  /**
   * This instance's copy as a replica: applied revision, digest, stats, state and its listeners,
   * waiting for a revision, re-listing. The same object on every call.
   */
  Replica replica();
}
