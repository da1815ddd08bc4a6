package io.lockstep;

/**
 * Where a replica is in its life, as Curator's {@code ConnectionState}: read it with {@link
 * Replica#state()}, follow it with {@link Replica#addStateListener}. A replica starts {@link
 * #LISTING}.
 *
 * <p>Transitions: {@code LISTING → FOLLOWING} once the first listing is applied; {@code FOLLOWING →
 * RECONNECTING} when the feed breaks or stays silent; {@code RECONNECTING → FOLLOWING} when it is
 * resumed; {@code FOLLOWING} or {@code RECONNECTING → RELISTING} on compaction, a gap, an
 * out-of-order change or {@link Replica#refresh()}; {@code RELISTING → FOLLOWING} once that listing
 * is applied; any state {@code → CLOSED} on close. A listing that fails is retried with backoff in
 * the same state.
 */
public enum ReplicaState {

  /**
   * Taking the first listing of the source (retrying with backoff while it fails). Memory is empty
   * and {@link Replica#isReady()} is false.
   */
  LISTING,

  /**
   * The change feed is open and every change it delivers is applied in revision order. Entered when
   * a listing has been applied and whenever the feed is resumed after {@link #RECONNECTING}; a
   * resumed feed that cannot connect reports an error and the replica is {@link #RECONNECTING}
   * again.
   */
  FOLLOWING,

  /**
   * The change feed broke (connection or leader lost) or stayed silent after a progress request;
   * the replica waits out its backoff and resumes from the revision after the one it applied.
   * Memory keeps serving, and lags the source until the feed is back.
   */
  RECONNECTING,

  /**
   * The replica takes a fresh listing after its first one, because the feed's history is gone
   * (compaction), it saw a gap or an out-of-order change, or {@link Replica#refresh()} asked.
   * Memory keeps serving until the listing replaces it, key by key.
   */
  RELISTING,

  /** The replica was closed; nothing changes any more. Final. */
  CLOSED
}
