package io.lockstep.peer;

import io.lockstep.spi.Change;
import io.lockstep.spi.FeedListener;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What this instance has received of the leader's multicasts, and the feeds reading it.
 *
 * <p>Every instance receives every committed change once the leader multicasts it, whether a feed
 * is open or not. The last received changes are kept while they are contiguous (up to {@value
 * #MAX_BATCHES} of them, {@value #MAX_BYTES} bytes), so a feed opened after a listing, or re-opened
 * after the engine resumed, starts from what already arrived. A hole in what arrived (a partition,
 * a leader that died mid-multicast) drops the kept run: a feed that needs a revision no longer kept
 * reports {@link FeedListener#onCompacted}, and the engine re-lists.
 *
 * <p>Feeds are fed under one lock, so each listener is called from one thread at a time, in order.
 */
final class ChangeStream {
  static final int MAX_BATCHES = 4096;
  static final long MAX_BYTES = 16L << 20;

  private final Object lock = new Object();
  private final ArrayDeque<Received> kept = new ArrayDeque<>();
  private final CopyOnWriteArrayList<PeerFeed> feeds = new CopyOnWriteArrayList<>();
  private final List<MarkWaiter> markWaiters = new ArrayList<>(); // guarded by lock
  private long keptBytes;
  private long last; // highest revision of the kept run; 0 before anything arrived
  private long head; // highest revision heard of
  private String epoch = ""; // the history of the last listing; guarded by lock

  private record Received(long revision, Change change, long bytes) {}

  private record MarkWaiter(long revision, CompletableFuture<Long> future) {}

  void onCommit(long revision, Change change, int bytes) {
    synchronized (lock) {
      head = Math.max(head, revision);
      if (last != 0 && revision <= last) {
        Received same = keptAt(revision);
        if (same == null || same.change().equals(change)) {
          return; // a duplicate: a re-send, or a second sender
        }
        // The same revision names another change: the group lost its log (every voter's folder)
        // and numbers changes again. What is kept is of the old history; feeds must relist.
        kept.clear();
        keptBytes = 0;
        last = 0;
        head = revision;
        for (PeerFeed f : feeds) {
          f.compacted(revision);
        }
        feeds.clear();
      }
      if (last != 0 && revision != last + 1) {
        kept.clear(); // a hole: what was kept no longer joins what comes
        keptBytes = 0;
      }
      kept.addLast(new Received(revision, change, bytes));
      keptBytes += bytes;
      last = revision;
      while (kept.size() > 1 && (kept.size() > MAX_BATCHES || keptBytes > MAX_BYTES)) {
        keptBytes -= kept.removeFirst().bytes();
      }
      for (PeerFeed f : feeds) {
        f.offer(revision, change, head);
      }
    }
  }

  /**
   * A listing of history {@code listingEpoch} at {@code revision} was answered. When it is another
   * history than the one of the last listing (every voter's log was lost and the group started
   * again), what was kept, and the revisions heard of, belong to the old history: they go, and the
   * run starts again after the listing. Without this the new history's revisions, at or below those
   * kept, would be dropped as duplicates.
   */
  void onListing(String listingEpoch, long revision) {
    synchronized (lock) {
      if (listingEpoch.isEmpty()) {
        return;
      }
      if (!epoch.isEmpty() && !epoch.equals(listingEpoch)) {
        kept.clear();
        keptBytes = 0;
        last = revision;
        head = revision;
      }
      epoch = listingEpoch;
    }
  }

  /** The kept change at {@code revision}, or null when it is not kept. Caller holds the lock. */
  private Received keptAt(long revision) {
    Received first = kept.peekFirst();
    if (first == null || revision < first.revision() || revision > last) {
      return null;
    }
    int i = 0;
    for (Received r : kept) { // contiguous: the one sought is at revision - first
      if (i++ == revision - first.revision()) {
        return r;
      }
    }
    return null;
  }

  void onProgress(long revision) {
    List<CompletableFuture<Long>> reached = new ArrayList<>();
    synchronized (lock) {
      head = Math.max(head, revision);
      for (PeerFeed f : feeds) {
        f.progress(revision);
      }
      markWaiters.removeIf(
          w -> {
            if (w.future().isDone()) {
              return true;
            }
            if (revision >= w.revision()) {
              reached.add(w.future());
              return true;
            }
            return false;
          });
    }
    for (CompletableFuture<Long> f : reached) {
      f.complete(revision);
    }
  }

  /**
   * Completes with the first progress mark at or above {@code revision} that arrives from now on
   * (progress marks come only from the leader, through the group). Cancel it to stop waiting.
   */
  CompletableFuture<Long> nextProgress(long revision) {
    CompletableFuture<Long> f = new CompletableFuture<>();
    synchronized (lock) {
      markWaiters.removeIf(w -> w.future().isDone());
      markWaiters.add(new MarkWaiter(revision, f));
    }
    return f;
  }

  /** Opens a feed from {@code from}: replays what is kept, then follows what arrives. */
  PeerFeed open(long from, FeedListener listener, PeerFeed.Prober prober) {
    synchronized (lock) {
      PeerFeed f = new PeerFeed(this, from, listener, prober);
      if (from <= last) {
        Received first = kept.peekFirst();
        if (first == null || first.revision() > from) {
          f.compacted(first == null ? last : first.revision() - 1);
          return f;
        }
        for (Received r : kept) {
          f.offer(r.revision(), r.change(), head);
        }
      }
      feeds.add(f);
      return f;
    }
  }

  /** Stops every feed with an error (the backend closed). */
  void failAll(Throwable error) {
    List<MarkWaiter> waiting;
    synchronized (lock) {
      for (PeerFeed f : feeds) {
        f.fail(error);
      }
      feeds.clear();
      waiting = List.copyOf(markWaiters);
      markWaiters.clear();
    }
    for (MarkWaiter w : waiting) {
      w.future().completeExceptionally(error);
    }
  }

  void remove(PeerFeed f) {
    feeds.remove(f);
  }

  /** For tests and diagnostics: the highest contiguous revision received. */
  long lastReceived() {
    synchronized (lock) {
      return last;
    }
  }

  List<PeerFeed> feeds() {
    return List.copyOf(feeds);
  }
}
