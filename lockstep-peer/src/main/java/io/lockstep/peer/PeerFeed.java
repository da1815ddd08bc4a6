package io.lockstep.peer;

import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import java.util.List;

/**
 * One feed session over the {@link ChangeStream}: delivers revisions from {@code from} on, drops
 * older ones (duplicates, or changes already in the listing the session started from), and passes a
 * jump on as it is: on the peer backend's contiguous revisions a jump is a gap, and the engine
 * re-lists. Progress marks are passed on too; one above what was delivered tells the engine it
 * missed something. Called under the stream's lock.
 */
final class PeerFeed implements Feed {
  /** Asks the leader for a progress mark; false when no leader is known. */
  interface Prober {
    boolean requestProgress();
  }

  private final ChangeStream stream;
  private final FeedListener listener;
  private final Prober prober;
  private long next;
  private volatile boolean done;

  PeerFeed(ChangeStream stream, long from, FeedListener listener, Prober prober) {
    this.stream = stream;
    this.next = from;
    this.listener = listener;
    this.prober = prober;
  }

  void offer(long revision, Change change, long head) {
    if (done || revision < next) {
      return;
    }
    next = revision + 1;
    listener.onChanges(revision, List.of(change), Math.max(revision, head));
  }

  void progress(long revision) {
    if (!done) {
      listener.onProgress(revision);
    }
  }

  void compacted(long revision) {
    if (!done) {
      done = true;
      listener.onCompacted(revision);
    }
  }

  void fail(Throwable error) {
    if (!done) {
      done = true;
      listener.onError(error);
    }
  }

  @Override
  public boolean requestProgress() {
    return !done && prober.requestProgress();
  }

  @Override
  public void close() {
    done = true;
    stream.remove(this);
  }
}
