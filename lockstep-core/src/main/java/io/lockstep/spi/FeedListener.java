package io.lockstep.spi;

import java.util.List;

/**
 * Receives a feed's signals. A feed calls it from one thread at a time, in order. Calls after
 * {@link #onCompacted} or {@link #onError} are ignored by the engine.
 */
public interface FeedListener {

  /**
   * All changes of one revision.
   *
   * @param revision the revision
   * @param changes at least one change, each to a different key
   * @param headRevision the newest revision the source reported with this delivery, or the revision
   *     itself when unknown. The engine counts it as this namespace's head (lag) only on a {@link
   *     RevisionModel#CONTIGUOUS} source; on a {@link RevisionModel#SPARSE} one it may be moved by
   *     other namespaces' writes and is not lag.
   */
  void onChanges(long revision, List<Change> changes, long headRevision);

  /**
   * Every change of the namespace up to {@code revision} has been delivered (a progress
   * notification).
   */
  void onProgress(long revision);

  /**
   * The feed cannot resume from the requested revision: history up to {@code compactRevision} is
   * gone. The engine re-lists.
   */
  void onCompacted(long compactRevision);

  /** The feed broke (connection lost, leader lost, server error). The engine reconnects. */
  void onError(Throwable error);

  /**
   * The history id ({@link Snapshot#epoch()}) of the source this feed reads from. A feed reports it
   * before its first delivery from that source and again whenever it may have changed (for example
   * after reading history on a new connection); deliveries that follow belong to it. When it
   * differs from the epoch of the replica's last listing, the engine stops this session and resets
   * from a new listing. Backends that keep no history id never call it (the default ignores it).
   */
  default void onEpoch(String epoch) {}
}
