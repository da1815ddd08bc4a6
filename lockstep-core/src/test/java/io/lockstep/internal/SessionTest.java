package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.ReplicaStats;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.internal.ManualBackend.ManualFeed;
import io.lockstep.spi.Backend;
import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.ForwardingBackend;
import io.lockstep.spi.ForwardingFeedListener;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The session under load and faults (issue 13): listings bounded by progress, single-flight and
 * throttled relists, the bounded feed queue, and lag measured for the namespace only.
 */
class SessionTest {
  private final InMemoryNodes nodes = new InMemoryNodes();

  @AfterEach
  void closeAll() throws Exception {
    nodes.close();
  }

  private Lockstep start(Backend backend, UnaryOperator<LockstepBuilder> tune) {
    Lockstep n =
        tune.apply(
                Lockstep.builder()
                    .backend(backend)
                    .keyPrefix("t")
                    .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(50))
                    .progressInterval(Duration.ofMillis(50))
                    .randomSeed(1))
            .build();
    nodes.closeLater(n);
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // Listings bounded by progress
  // ---------------------------------------------------------------------------------------------

  /** Eight pages half a second apart: 4 s in all, each page well within the 3 s timeout. */
  @Test
  void listing_longerThanTheOperationTimeout_butMakingProgress_completes() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    for (int i = 0; i < 16; i++) {
      s.writeAtomically(Map.of("k" + i, new byte[] {(byte) i}));
    }
    SlowListing b = new SlowListing(s.backend(), 8, 500, -1);
    Lockstep n = start(b, x -> x.operationTimeout(Duration.ofSeconds(3)));
    await().atMost(Duration.ofSeconds(12)).until(() -> n.map().replica().isReady());
    assertThat(b.listings.get()).as("one listing, never timed out").isEqualTo(1);
    assertThat(n.map().size()).isEqualTo(16);
    assertThat(n.map().replica().appliedRevision()).isEqualTo(s.revision());
  }

  /** A listing that stops reading pages is cancelled (the backend sees it) and retried. */
  @Test
  void listing_thatStalls_isCancelled_andRetried() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    s.writeAtomically(Map.of("k", new byte[] {1}));
    SlowListing b = new SlowListing(s.backend(), 4, 50, 2); // the first listing stalls at page 2
    Lockstep n = start(b, x -> x.operationTimeout(Duration.ofMillis(400)));
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              assertThat(b.cancelledSeen.get()).as("the backend saw its listing cancelled").isOne();
              assertThat(n.map().replica().isReady()).as("the retry listed").isTrue();
            });
    assertThat(b.listings.get()).isEqualTo(2);
    assertThat(b.stalled.get()).as("the stalled listing stopped").isFalse();
    assertThat(n.map().get("k").value()).containsExactly(1);
  }

  // ---------------------------------------------------------------------------------------------
  // Single-flight and throttled relists
  // ---------------------------------------------------------------------------------------------

  /**
   * Refreshes every 20 ms, each listing takes 50 ms: a refresh during a listing joins it, so
   * listings finish, applied moves on and the refreshes complete while they keep coming.
   */
  @Test
  void refresh_every20ms_againstA50msListing_stillAdvancesApplied() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    SlowListing b = new SlowListing(s.backend(), 1, 50, -1);
    Lockstep n = start(b, x -> x);
    ReplicatedMap m = n.map();
    await().atMost(Duration.ofSeconds(5)).until(() -> m.replica().isReady());
    List<CompletableFuture<Long>> refreshes = new ArrayList<>();
    long written = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    long midway = 0;
    int i = 0;
    while (System.nanoTime() < deadline) {
      written = s.writeAtomically(Map.of("k" + (i % 10), new byte[] {(byte) i}));
      refreshes.add(m.replica().refresh());
      if (i++ == 50) {
        midway = written;
      }
      Thread.sleep(20);
    }
    long completedWhileRefreshing = refreshes.stream().filter(CompletableFuture::isDone).count();
    long appliedWhileRefreshing = m.replica().appliedRevision();
    assertThat(completedWhileRefreshing)
        .as("refreshes completed while refreshes kept coming (of %d)", refreshes.size())
        .isGreaterThan(refreshes.size() / 2L);
    assertThat(appliedWhileRefreshing)
        .as("applied moved on while refreshing")
        .isGreaterThan(midway);
    for (CompletableFuture<Long> f : refreshes) {
      assertThat(f.get(5, TimeUnit.SECONDS)).isPositive();
    }
    assertThat(m.replica().awaitRevision(written, Duration.ofSeconds(5))).isTrue();
    assertThat(b.listings.get())
        .as("listings are single-flight: fewer than the refreshes")
        .isLessThan(refreshes.size());
  }

  /** Every event arrives one revision late: a gap each time. Relists back off instead of spin. */
  @Test
  void feedThatGapsOnEveryEvent_relistsABoundedNumberOfTimesPerSecond() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Backend gapping =
        new Delegating(s.backend()) {
          @Override
          public Feed watch(long fromRevision, FeedListener listener) {
            return delegate().watch(fromRevision, new ShiftedListener(listener));
          }
        };
    Lockstep n =
        start(gapping, x -> x.reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(200)));
    ReplicatedMap m = n.map();
    await().atMost(Duration.ofSeconds(5)).until(() -> m.replica().isReady());
    AtomicBoolean writing = new AtomicBoolean(true);
    Thread writer =
        Thread.ofPlatform()
            .start(
                () -> {
                  int i = 0;
                  while (writing.get()) {
                    s.writeAtomically(Map.of("k", new byte[] {(byte) i++}));
                    LockSupport.parkNanos(1_000_000);
                  }
                });
    try {
      Thread.sleep(500); // the backoff ramps up
      long before = m.replica().stats().relists();
      Thread.sleep(2000);
      long perSecond = (m.replica().stats().relists() - before) / 2;
      assertThat(perSecond)
          .as("relists per second while the feed gaps on every event")
          .isBetween(1L, 12L);
    } finally {
      writing.set(false);
      writer.join();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The bounded feed queue
  // ---------------------------------------------------------------------------------------------

  @Test
  void slowListener_withABurst_keepsTheQueueWithinItsBound_andAppliesEveryChange() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    Lockstep n = start(s.backend(), x -> x.maxPendingChanges(1000));
    ReplicatedMap m = n.map();
    await().atMost(Duration.ofSeconds(5)).until(() -> m.replica().isReady());
    Set<Long> seen = ConcurrentHashMap.newKeySet();
    AtomicInteger events = new AtomicInteger();
    m.addListener(
        e -> {
          seen.add(e.revision());
          events.incrementAndGet();
          LockSupport.parkNanos(50_000); // a slow listener: 20,000 changes take a second or more
        });
    int burst = 20_000;
    long last = 0;
    for (int i = 0; i < burst; i++) {
      last = s.writeAtomically(Map.of("k" + (i % 500), new byte[] {(byte) i, (byte) (i >> 8)}));
    }
    assertThat(m.replica().awaitRevision(last, Duration.ofSeconds(60))).isTrue();
    await().atMost(Duration.ofSeconds(30)).until(() -> events.get() >= burst);
    ReplicaStats stats = m.replica().stats();
    assertThat(stats.peakPendingChanges()).as("peak queue").isBetween(1L, 1000L);
    assertThat(stats.feedPauses()).as("the feed was paused, not dropped").isPositive();
    assertThat(stats.relists()).as("paused and resumed, never re-listed").isZero();
    assertThat(seen).as("every revision reached the listener").hasSize(burst);
    assertThat(events.get()).as("and once").isEqualTo(burst);
    assertThat(m.replica().digest()).isEqualTo(Digests.of(s.entries()));
    await().atMost(Duration.ofSeconds(5)).until(() -> m.replica().stats().pendingChanges() == 0);
  }

  // ---------------------------------------------------------------------------------------------
  // Lag for this namespace only
  // ---------------------------------------------------------------------------------------------

  /**
   * etcd reports with a change the store's revision, which other prefixes' writes move: the change
   * at 8 comes with head 20. A progress answer that proves only what was delivered (etcd before
   * 3.4.31) never confirms 20. The replica is current all along: lag is 0.
   */
  @Test
  void lag_isZero_onAnIdleCurrentReplica_whileAnotherPrefixTakesWrites() {
    FakeTime time = new FakeTime();
    ManualBackend backend = new ManualBackend(7);
    Replicator r =
        new Replicator(
            backend,
            Lockstep.builder()
                .backend(backend)
                .keyPrefix("t")
                .progressInterval(Duration.ofSeconds(1))
                .randomSeed(3)
                .config(),
            time,
            time);
    nodes.closeLater(r::close);
    r.start();
    r.idle().orTimeout(5, TimeUnit.SECONDS).join();
    ManualFeed feed = backend.lastFeed();
    Versioned v = new Versioned("k", new byte[] {1}, "application/octet-stream", 8);
    feed.listener().onChanges(8, List.of(Change.put(v)), 20);
    r.idle().orTimeout(5, TimeUnit.SECONDS).join();
    for (int i = 0; i < 10; i++) {
      time.advance(Duration.ofSeconds(1));
      r.idle().orTimeout(5, TimeUnit.SECONDS).join();
      feed.listener().onProgress(8); // liveness only: what was delivered
      r.idle().orTimeout(5, TimeUnit.SECONDS).join();
      ReplicaStats stats = r.stats();
      assertThat(stats.appliedRevision()).isEqualTo(8);
      assertThat(stats.lagRevisions()).as("lag revisions after %d s", i + 1).isZero();
      assertThat(stats.lagMillis()).as("lag ms after %d s", i + 1).isZero();
    }
    assertThat(r.stats().relists()).isZero();
  }

  // ---------------------------------------------------------------------------------------------
  // Fakes
  // ---------------------------------------------------------------------------------------------

  /** Reports every change one revision later than it is: a gap on every event. */
  private static final class ShiftedListener extends ForwardingFeedListener {
    ShiftedListener(FeedListener inner) {
      super(inner);
    }

    @Override
    public void onChanges(long revision, List<Change> changes, long headRevision) {
      delegate().onChanges(revision + 1, changes, headRevision + 1);
    }

    @Override
    public void onProgress(long revision) {}
  }

  /**
   * Lists the inner backend's state page by page on a thread of its own, {@code pageMillis} apart,
   * reporting each page; the first listing stalls after {@code stallAfterPages} pages (-1: never)
   * until it is cancelled. {@link #snapshot()} lists the same way with a handle that is never
   * cancelled (what an engine that knows no progress sees).
   */
  private static final class SlowListing extends Delegating {
    final AtomicInteger listings = new AtomicInteger();
    final AtomicInteger cancelledSeen = new AtomicInteger();
    final AtomicBoolean stalled = new AtomicBoolean();
    private final int pages;
    private final long pageMillis;
    private final int stallAfterPages;

    SlowListing(Backend inner, int pages, long pageMillis, int stallAfterPages) {
      super(inner);
      this.pages = pages;
      this.pageMillis = pageMillis;
      this.stallAfterPages = stallAfterPages;
    }

    @Override
    public CompletableFuture<Snapshot> snapshot() {
      return snapshot(ListingProgress.NONE);
    }

    @Override
    public CompletableFuture<Snapshot> snapshot(ListingProgress progress) {
      int number = listings.incrementAndGet();
      Snapshot full = delegate().snapshot().join();
      CompletableFuture<Snapshot> f = new CompletableFuture<>();
      Thread.ofPlatform()
          .daemon()
          .start(
              () -> {
                for (int i = 0; i < pages; i++) {
                  if (number == 1 && i == stallAfterPages) {
                    stalled.set(true);
                    while (!progress.isCancelled()) {
                      LockSupport.parkNanos(5_000_000);
                    }
                    stalled.set(false);
                  }
                  LockSupport.parkNanos(pageMillis * 1_000_000);
                  if (progress.isCancelled()) {
                    cancelledSeen.incrementAndGet();
                    f.completeExceptionally(new CancellationException("listing cancelled"));
                    return;
                  }
                  progress.page(full.entries().size() / pages);
                }
                f.complete(full);
              });
      return f;
    }
  }

  /** Forwards everything to another backend, but does not close it (the source outlives it). */
  private static class Delegating extends ForwardingBackend {
    Delegating(Backend inner) {
      super(inner);
    }

    @Override
    public void close() {}
  }
}
