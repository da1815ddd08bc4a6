package io.lockstep;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A map of string keys to byte values whose every instance holds a full copy in memory and follows
 * the source of truth in revision order.
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>{@link #get(String)} is a lock-free lookup in memory: no I/O, no allocation.
 *   <li>Changes are applied strictly in revision order, one revision as one step. A change the
 *       feed cannot deliver (compaction, trimmed stream, gap) makes the instance re-list; a change is
 *       never skipped silently.
 *   <li>On one instance, reads never go back in time: once revision R is visible, nothing older is.
 *   <li>A write returns its committed revision only after this instance has applied it, so the
 *       writer reads its own write locally. Any other instance reads it after {@link
 *       #awaitRevision(long, Duration)} with that revision (session consistency).
 *   <li>Writes made straight into the source by other programs are followed like our own.
 * </ul>
 *
 * <h2>Non-guarantees</h2>
 *
 * <ul>
 *   <li>LOCAL reads may lag the source by the feed delay, unbounded while the backend is
 *       unreachable; {@link #stats()} reports the lag.
 *   <li>Two instances are not updated at the same instant; at any moment they may be at different
 *       revisions.
 *   <li>Listeners run on the applying thread; a slow listener delays every later change.
 * </ul>
 *
 * <p>Thread safety: every method may be called from any thread.
 */
public interface ReplicatedMap {

  /** This instance's entry for {@code key} from memory, or null when it holds none. */
  Versioned get(String key);

  /**
   * Reads {@code key} with the given consistency. {@link ReadConsistency#STRONG} asks the source of
   * truth and may throw {@link BackendUnavailableException}.
   *
   * @return the entry, or null when the key is absent
   */
  Versioned get(String key, ReadConsistency consistency);

  /** A strong read, asynchronously; see {@link ReadConsistency#STRONG}. */
  CompletableFuture<Versioned> getStrongAsync(String key);

  /**
   * Waits until this instance has applied {@code revision}.
   *
   * @return true when it has, false when {@code timeout} passed first
   */
  boolean awaitRevision(long revision, Duration timeout);

  /**
   * Completes when this instance has applied {@code revision}. Bound the wait yourself (e.g. {@link
   * CompletableFuture#orTimeout}); a future that times out or is cancelled is forgotten. Completes
   * exceptionally only when the map closes.
   */
  CompletableFuture<Long> awaitRevisionAsync(long revision);

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
   * Writes {@code value} only if the key's mod revision is {@code expectedRevision} (0: only if
   * the key is absent).
   *
   * @return {@link WriteResult.Status#APPLIED}, or {@link WriteResult.Status#CONFLICT} with the
   *     current revision
   */
  WriteResult compareAndSet(String key, long expectedRevision, byte[] value, String contentType);

  /** {@link #compareAndSet} asynchronously. */
  CompletableFuture<WriteResult> compareAndSetAsync(String key, long expectedRevision, byte[] value,
      String contentType);

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
   * The entries held in memory whose key starts with {@code prefix}, in key order.
   *
   * @param limit the most entries returned; 0 or less means no limit
   */
  List<Versioned> list(String prefix, int limit);

  /** Registers a listener for every change applied from now on; close the result to remove it. */
  AutoCloseable addListener(ChangeListener listener);

  /** The highest revision this instance has applied. */
  long appliedRevision();

  /** The digest over the entries held in memory; see {@link Digests}. */
  long digest();

  /** The number of keys held in memory. */
  int size();

  /** True once the first listing has been applied. */
  boolean isReady();

  /**
   * Re-lists from the source now, replacing memory with what it holds.
   *
   * @return completes with the listing's revision once applied
   */
  CompletableFuture<Long> refresh();

  /** Counters and lag of this replica. */
  ReplicaStats stats();
}
