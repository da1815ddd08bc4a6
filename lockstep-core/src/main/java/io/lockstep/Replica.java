package io.lockstep;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;

/**
 * This instance's copy of a {@link ReplicatedMap} as a replica: how far it has applied the source,
 * what it holds, in what state it is, and ways to wait for it or to re-list. Obtain it with {@link
 * ReplicatedMap#replica()}. (As Caffeine keeps a cache's introspection behind {@code
 * cache.policy()}, this keeps the map's interface to reading and writing.)
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>The applied revision never goes back; once it is R, every change up to R is in memory.
 *   <li>{@link #awaitRevision(long, Duration)} with the revision a write answered gives
 *       read-your-writes on any instance (session consistency).
 *   <li>{@link #stats()} is one moment: its keys, digest, counters and epoch are those of its
 *       applied revision (the backend's own figures are read when the stats are).
 *   <li>The replica follows the source for ever: a broken feed is resumed after a backoff, a feed
 *       that cannot resume makes it re-list; {@link #state()} says which it is doing.
 * </ul>
 *
 * <h2>Non-guarantees</h2>
 *
 * <ul>
 *   <li>The applied revision may lag the source by the feed delay, without bound while the backend
 *       is unreachable ({@link ReplicaStats#lagMillis()}).
 *   <li>A state listener may learn of a state after it has already been left.
 * </ul>
 *
 * <p>Thread safety: every method may be called from any thread.
 */
public interface Replica {

  /** The highest revision this instance has applied. */
  long appliedRevision();

  /** The digest over the entries held in memory; see {@link Digests}. */
  long digest();

  /** True once the first listing has been applied. */
  boolean isReady();

  /** Counters and lag of this replica, taken at one moment. */
  ReplicaStats stats();

  /**
   * The entries whose key starts with {@code prefix}, in key order, and the applied revision they
   * all stood at. A consistent iteration snapshot: it copies the matching entries (cost linear in
   * the size of the map).
   *
   * @param limit the most entries returned; 0 or less means no limit
   */
  LocalSnapshot snapshot(String prefix, int limit);

  /**
   * The entries held for {@code keys} (absent keys left out), in key order, and the applied
   * revision they all stood at.
   */
  LocalSnapshot snapshot(Collection<String> keys);

  /** Where the replica is in its life now. */
  ReplicaState state();

  /**
   * Registers a listener for every state change from now on (read {@link #state()} for the current
   * one); see {@link ReplicaStateListener} for the thread that calls it. Close the result to remove
   * it.
   */
  Registration addStateListener(ReplicaStateListener listener);

  /**
   * Waits until this instance has applied {@code revision}.
   *
   * @return true when it has, false when {@code timeout} passed first
   * @throws IllegalStateException when called by a change listener (on the replication thread) for
   *     a revision not yet applied: it would wait for its own thread
   */
  boolean awaitRevision(long revision, Duration timeout);

  /**
   * Completes when this instance has applied {@code revision}. Bound the wait yourself (e.g. {@link
   * CompletableFuture#orTimeout}); a future that times out or is cancelled is forgotten. Completes
   * exceptionally only when the map closes or the source's history is reset ({@link
   * HistoryResetException}). Completes on the callback executor (see {@link ReplicatedMap}).
   */
  CompletableFuture<Long> awaitRevisionAsync(long revision);

  /**
   * Re-lists from the source now, replacing memory with what it holds (state {@link
   * ReplicaState#RELISTING}).
   *
   * @return completes with the listing's revision once applied, on the callback executor; a change
   *     listener must not wait for it (its {@code join()} throws there)
   */
  CompletableFuture<Long> refresh();
}
