package io.lockstep.internal;

import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.Membership;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend whose listing is fixed and whose feeds say nothing unless the test speaks through their
 * {@link ManualFeed#listener() listener}: for driving the engine's timeouts and reconnects by hand.
 * Feeds answer progress requests by counting them, never by calling back. Thread safe.
 */
final class ManualBackend implements Backend {
  private final List<ManualFeed> feeds = new CopyOnWriteArrayList<>();
  private final AtomicInteger snapshots = new AtomicInteger();
  private volatile Snapshot listing;
  private final List<CompletableFuture<WriteResult>> heldWrites = new CopyOnWriteArrayList<>();
  private volatile long commitAt; // 0: writes fail; > 0: they commit at this revision; < 0: held

  ManualBackend(long listedRevision) {
    this.listing = new Snapshot(listedRevision, List.of());
  }

  /** One feed the engine opened. */
  static final class ManualFeed implements Feed {
    private final long from;
    private final FeedListener listener;
    private final AtomicInteger progressRequests = new AtomicInteger();
    private volatile boolean closed;

    ManualFeed(long from, FeedListener listener) {
      this.from = from;
      this.listener = listener;
    }

    long from() {
      return from;
    }

    FeedListener listener() {
      return listener;
    }

    int progressRequests() {
      return progressRequests.get();
    }

    boolean isClosed() {
      return closed;
    }

    @Override
    public boolean requestProgress() {
      progressRequests.incrementAndGet();
      return true;
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  /** The feeds opened so far, oldest first. */
  List<ManualFeed> feeds() {
    return List.copyOf(feeds);
  }

  ManualFeed lastFeed() {
    return feeds.get(feeds.size() - 1);
  }

  /** How many listings were taken. */
  int snapshots() {
    return snapshots.get();
  }

  /** The revision the next listing reports, with no entries. */
  void listAt(long revision) {
    listAt(revision, List.of());
  }

  /** The revision and entries the next listing reports. */
  void listAt(long revision, List<Versioned> entries) {
    this.listing = new Snapshot(revision, List.copyOf(entries));
  }

  @Override
  public RevisionModel revisionModel() {
    return RevisionModel.SPARSE;
  }

  @Override
  public CompletableFuture<Snapshot> snapshot() {
    snapshots.incrementAndGet();
    return CompletableFuture.completedFuture(listing);
  }

  @Override
  public Feed watch(long fromRevision, FeedListener listener) {
    ManualFeed f = new ManualFeed(fromRevision, listener);
    feeds.add(f);
    return f;
  }

  /**
   * From now on writes commit at once at {@code revision} (a feed hears of them only if the test
   * says so).
   */
  void commitWritesAt(long revision) {
    this.commitAt = revision;
  }

  /** From now on writes never answer: their futures are kept in {@link #heldWrites()}. */
  void holdWrites() {
    this.commitAt = -1;
  }

  List<CompletableFuture<WriteResult>> heldWrites() {
    return List.copyOf(heldWrites);
  }

  private CompletableFuture<WriteResult> write() {
    long at = commitAt;
    if (at > 0) {
      return CompletableFuture.completedFuture(WriteResult.applied(at));
    }
    if (at < 0) {
      CompletableFuture<WriteResult> f = new CompletableFuture<>();
      heldWrites.add(f);
      return f;
    }
    return CompletableFuture.failedFuture(
        new UnsupportedOperationException("writes (manual backend)"));
  }

  @Override
  public CompletableFuture<WriteResult> put(
      String key, byte[] value, String contentType, long expectedRevision) {
    return write();
  }

  @Override
  public CompletableFuture<WriteResult> delete(String key, long expectedRevision) {
    return write();
  }

  @Override
  public CompletableFuture<StrongRead> get(String key) {
    return CompletableFuture.failedFuture(
        new UnsupportedOperationException("strong reads (manual backend)"));
  }

  @Override
  public Membership membership() {
    throw new UnsupportedOperationException("membership (manual backend)");
  }

  @Override
  public void close() {}
}
