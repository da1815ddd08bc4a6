package io.lockstep.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.BackendUnavailableException;
import io.lockstep.ChangeEvent;
import io.lockstep.Digests;
import io.lockstep.InvalidKeyException;
import io.lockstep.Lockstep;
import io.lockstep.ReadConsistency;
import io.lockstep.Registration;
import io.lockstep.ReplicaState;
import io.lockstep.ReplicaStateListener;
import io.lockstep.ReplicaStats;
import io.lockstep.ReplicatedMap;
import io.lockstep.ValueTooLargeException;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.internal.ManualBackend.ManualFeed;
import io.lockstep.spi.Backend;
import io.lockstep.spi.Change;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The engine against the in-memory source: ordering, relists, reconnects, digests, validation. */
class ReplicatorTest {
  private final InMemoryNodes nodes = new InMemoryNodes();

  @AfterEach
  void closeAll() throws Exception {
    nodes.close();
  }

  private InMemorySource source(RevisionModel model) {
    return nodes.source(model);
  }

  private Lockstep node(InMemorySource s) {
    return nodes.node(s, b -> b);
  }

  @Test
  void replica_isAViewApartFromTheMap() {
    ReplicatedMap map = node(source(RevisionModel.SPARSE)).map();
    assertThat(map).isNotInstanceOf(io.lockstep.Replica.class);
    assertThat(map.replica()).isSameAs(map.replica()).isNotSameAs(map);
  }

  @Test
  void put_onOneReplica_isVisibleOnOthersWithEqualDigests() {
    InMemorySource s = source(RevisionModel.SPARSE);
    ReplicatedMap a = node(s).map();
    ReplicatedMap b = node(s).map();
    WriteResult r = a.put("k", "v".getBytes(UTF_8), "text/plain");
    assertThat(r.isApplied()).isTrue();
    assertThat(a.get("k").valueAsString()).isEqualTo("v"); // read-your-write, locally
    assertThat(b.replica().awaitRevision(r.revision(), Duration.ofSeconds(5))).isTrue();
    assertThat(b.get("k").modRevision()).isEqualTo(r.revision());
    assertThat(a.replica().digest())
        .isEqualTo(b.replica().digest())
        .isEqualTo(Digests.of(s.entries()));
  }

  @Test
  void compareAndSet_withStaleRevision_conflictsAndReportsCurrent() {
    InMemorySource s = source(RevisionModel.CONTIGUOUS);
    ReplicatedMap m = node(s).map();
    long r1 = m.compareAndSet("k", 0, new byte[] {1}, null).revision();
    WriteResult lost = m.compareAndSet("k", 0, new byte[] {2}, null);
    assertThat(lost.status()).isEqualTo(WriteResult.Status.CONFLICT);
    assertThat(lost.revision()).isEqualTo(r1);
    assertThat(m.compareAndSet("k", r1, new byte[] {3}, null).isApplied()).isTrue();
    assertThat(m.delete("missing").status()).isEqualTo(WriteResult.Status.NOT_FOUND);
  }

  /**
   * The feed is down (held down by the fake ticker: no reconnect until time moves) while the source
   * is written and compacted, so resuming from applied + 1 is impossible and only a relist can
   * converge. A resume instead of a relist would keep reconnecting to a compacted history.
   */
  @Test
  void compaction_whileFeedIsDown_relistsAndConverges() {
    InMemorySource s = source(RevisionModel.SPARSE);
    FakeTime time = new FakeTime();
    Replicator r =
        unstarted(
            s.backend(),
            time,
            Duration.ofHours(1),
            Duration.ofMillis(100),
            Duration.ofMillis(800),
            4);
    StateLog log = new StateLog();
    r.addStateListener(log);
    r.start();
    assertThat(log.awaitCount(1)).containsExactly("LISTING->FOLLOWING"); // the feed is open
    long first = s.writeAtomically(Map.of("k0", new byte[] {0}));
    assertThat(r.awaitRevision(first, Duration.ofSeconds(5))).isTrue();

    s.breakFeeds(); // from here nothing reaches the replica live
    await().atMost(Duration.ofSeconds(5)).until(() -> r.state() == ReplicaState.RECONNECTING);
    settle(r); // the backoff is scheduled
    for (int i = 0; i < 50; i++) {
      s.writeAtomically(Map.of("k" + (i % 7), new byte[] {(byte) i}));
    }
    s.compact();
    assertThat(r.appliedRevision()).isEqualTo(first);
    assertThat(r.stats().relists()).isZero();

    time.advance(Duration.ofNanos(time.lastDelay())); // resume from first + 1: compacted
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> r.appliedRevision() == s.revision() && r.state() == ReplicaState.FOLLOWING);
    assertThat(r.digest()).isEqualTo(Digests.of(s.entries()));
    assertThat(r.stats().relists()).as("the compaction was answered by a relist").isEqualTo(1);
    assertThat(r.stats().reconnects()).isEqualTo(1);
    assertThat(log.awaitCount(5))
        .containsExactly(
            "LISTING->FOLLOWING",
            "FOLLOWING->RECONNECTING",
            "RECONNECTING->FOLLOWING",
            "FOLLOWING->RELISTING",
            "RELISTING->FOLLOWING");
  }

  @Test
  void foreignRevisions_onSparseFeed_areNotGaps_andProgressAdvancesApplied() {
    InMemorySource s = source(RevisionModel.SPARSE);
    ReplicatedMap m = node(s).map();
    s.foreignWrite();
    s.foreignWrite();
    long r = m.put("k", new byte[] {1}, null).revision();
    s.foreignWrite();
    assertThat(m.replica().awaitRevision(s.revision(), Duration.ofSeconds(5))).isTrue();
    assertThat(m.replica().stats().gaps()).isZero();
    assertThat(m.replica().stats().relists()).isZero();
    assertThat(r).isEqualTo(3);
  }

  @Test
  void multiKeyRevision_isAppliedAsOneStep() {
    InMemorySource s = source(RevisionModel.SPARSE);
    ReplicatedMap m = node(s).map();
    List<ChangeEvent> seen = Collections.synchronizedList(new ArrayList<>());
    m.addListener(seen::add);
    long rev = s.writeAtomically(Map.of("a", new byte[] {1}, "b", new byte[] {2}));
    assertThat(m.replica().awaitRevision(rev, Duration.ofSeconds(5))).isTrue();
    assertThat(m.get("a").modRevision()).isEqualTo(rev);
    assertThat(m.get("b").modRevision()).isEqualTo(rev);
    // Listeners run after the revision is published, so awaitRevision may return before them.
    await().untilAsserted(() -> assertThat(seen).hasSize(2));
    assertThat(seen).extracting(ChangeEvent::revision).containsOnly(rev);
  }

  @Test
  void unavailableBackend_failsWritesAndStrongReads_localReadsKeepServing() {
    InMemorySource s = source(RevisionModel.SPARSE);
    ReplicatedMap m = node(s).map();
    m.put("k", new byte[] {7}, null);
    s.setAvailable(false);
    assertThatThrownBy(() -> m.put("k", new byte[] {8}, null))
        .isInstanceOf(BackendUnavailableException.class);
    assertThatThrownBy(() -> m.get("k", ReadConsistency.STRONG))
        .isInstanceOf(BackendUnavailableException.class);
    assertThat(m.get("k").value()).containsExactly(7);
    s.setAvailable(true);
    long r = m.put("k", new byte[] {9}, null).revision();
    assertThat(m.get("k").modRevision()).isEqualTo(r);
    await().until(() -> m.replica().stats().reconnects() >= 1);
  }

  @Test
  void reservedSegments_anywhereInAKey_areRejected() {
    InMemorySource s = source(RevisionModel.SPARSE);
    ReplicatedMap m = node(s).map();
    for (String key : new String[] {"prod/_members/x", "a/b/_counters/c", "x/_idem/y"}) {
      assertThatThrownBy(() -> m.put(key, new byte[0], null))
          .as(key)
          .isInstanceOf(InvalidKeyException.class)
          .hasMessageContaining("reserved");
    }
    assertThat(s.entries()).isEmpty();
    m.put("prod/x_members/y", new byte[0], null);
    m.put("prod_members/y", new byte[0], null);
    assertThat(s.entries()).hasSize(2);
  }

  @Test
  void totals_putsPastThemFail_overwritesAndDeletesDoNot() {
    InMemorySource s = source(RevisionModel.SPARSE);
    ReplicatedMap m = nodes.node(s, b -> b.maxTotalKeys(2).maxTotalBytes(10)).map();
    m.put("a", new byte[4], null);
    m.put("b", new byte[4], null);
    assertThatThrownBy(() -> m.put("c", new byte[0], null))
        .isInstanceOf(io.lockstep.MapFullException.class)
        .hasMessageContaining("limit is 2 keys");
    assertThatThrownBy(() -> m.put("a", new byte[7], null))
        .isInstanceOf(io.lockstep.MapFullException.class)
        .hasMessageContaining("limit is 10 bytes");
    m.put("a", new byte[6], null); // 6 + 4 = 10: at the limit, allowed
    m.delete("b");
    m.put("c", new byte[4], null);
    assertThat(s.entries()).hasSize(2);
    assertThat(s.entries().stream().mapToInt(v -> v.value().length).sum()).isEqualTo(10);
  }

  /**
   * A put's room in the totals is given back before its caller hears of it: right after a put
   * returns, the next put sees only applied keys, never "1 more being written" (a fresh-clone run
   * once refused such a put when the caller's future completed before the release ran).
   */
  @Test
  void totals_aReturnedPutNoLongerHoldsRoom() {
    InMemorySource s = source(RevisionModel.SPARSE);
    ReplicatedMap m = nodes.node(s, b -> b.maxTotalKeys(2)).map();
    for (int i = 0; i < 2000; i++) {
      m.put("a" + i, new byte[1], null);
      m.put("b" + i, new byte[1], null); // 1 applied + this one: within 2, whatever thread ran
      m.delete("a" + i);
      m.delete("b" + i);
    }
    assertThat(s.entries()).isEmpty();
  }

  @Test
  void badInput_isRejectedBeforeAnythingIsStored() {
    InMemorySource s = source(RevisionModel.SPARSE);
    ReplicatedMap m = node(s).map();
    assertThatThrownBy(() -> m.put("", new byte[0], null)).isInstanceOf(InvalidKeyException.class);
    assertThatThrownBy(() -> m.put("x".repeat(1025), new byte[0], null))
        .isInstanceOf(InvalidKeyException.class);
    assertThatThrownBy(() -> m.put("é".repeat(513), new byte[0], null))
        .isInstanceOf(InvalidKeyException.class);
    assertThatThrownBy(() -> m.put("_members/x", new byte[0], null))
        .isInstanceOf(InvalidKeyException.class);
    assertThatThrownBy(() -> m.put("k", new byte[(1 << 20) + 1], null))
        .isInstanceOf(ValueTooLargeException.class);
    assertThat(s.revision()).isZero();
    assertThat(s.entries()).isEmpty();
  }

  @Test
  void stats_readWhileChangesApply_isAlwaysOneMoment() throws Exception {
    InMemorySource s = source(RevisionModel.CONTIGUOUS);
    ReplicatedMap m = node(s).map();
    int writes = 3000;
    long[] digestAt = new long[writes + 1]; // write i puts the new key "k<i>" at revision i
    for (int i = 1; i <= writes; i++) {
      digestAt[i] = digestAt[i - 1] + Digests.entry("k" + i, i, new byte[] {1});
    }
    List<ReplicaStats> torn = Collections.synchronizedList(new ArrayList<>());
    AtomicLong reads = new AtomicLong();
    Thread reader =
        Thread.ofPlatform()
            .name("stats-reader")
            .start(
                () -> {
                  long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                  while (System.nanoTime() < deadline) {
                    ReplicaStats st = m.replica().stats();
                    reads.incrementAndGet();
                    long a = st.appliedRevision();
                    if (st.keys() != a
                        || st.digest() != digestAt[(int) a]
                        || st.lagRevisions() < 0
                        || st.lagRevisions() != st.headRevision() - a) {
                      torn.add(st);
                    }
                    if (a == writes) {
                      return;
                    }
                  }
                });
    for (int i = 1; i <= writes; i++) {
      s.writeAtomically(Map.of("k" + i, new byte[] {1}));
    }
    reader.join();
    assertThat(m.replica().stats().appliedRevision()).isEqualTo(writes);
    assertThat(torn).as("snapshots out of %d reads whose parts disagree", reads.get()).isEmpty();
    assertThat(reads.get()).isGreaterThan(writes / 10);
  }

  // ---------------------------------------------------------------------------------------------
  // Time moved by hand: a fake ticker and scheduler, a backend whose feeds say only what we tell
  // ---------------------------------------------------------------------------------------------

  private Replicator replicator(
      ManualBackend backend,
      FakeTime time,
      Duration progressInterval,
      Duration backoffMin,
      Duration backoffMax,
      long seed) {
    Replicator r = unstarted(backend, time, progressInterval, backoffMin, backoffMax, seed);
    r.start();
    settle(r);
    return r;
  }

  private Replicator unstarted(
      Backend backend,
      FakeTime time,
      Duration progressInterval,
      Duration backoffMin,
      Duration backoffMax,
      long seed) {
    Replicator r =
        new Replicator(
            backend,
            Lockstep.builder()
                .backend(backend)
                .keyPrefix("t")
                .progressInterval(progressInterval)
                .reconnectBackoff(backoffMin, backoffMax)
                .randomSeed(seed)
                .config(),
            time,
            time);
    nodes.closeLater(r::close);
    return r;
  }

  @Test
  void write_isBoundedByTheOperationTimeout_thenByTheApplyTimeout() {
    FakeTime time = new FakeTime();
    ManualBackend backend = new ManualBackend(7);
    Replicator r =
        new Replicator(
            backend,
            Lockstep.builder()
                .backend(backend)
                .keyPrefix("t")
                .operationTimeout(Duration.ofMillis(300))
                .applyTimeout(Duration.ofMillis(200))
                .config(),
            time,
            time);
    nodes.closeLater(r::close);
    r.start();
    settle(r);

    backend.holdWrites(); // the backend never answers
    var unanswered = r.putAsync("k", "v".getBytes(UTF_8), null);
    assertThat(unanswered)
        .failsWithin(5, TimeUnit.SECONDS)
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .havingCause()
        .isInstanceOf(BackendUnavailableException.class)
        .withMessageContaining("did not answer within 300 ms")
        .matches(e -> ((BackendUnavailableException) e).mayHaveCommitted());

    backend.commitWritesAt(100); // committed, but the feed never brings revision 100
    var unapplied = r.putAsync("k", "v".getBytes(UTF_8), null);
    assertThat(unapplied)
        .failsWithin(5, TimeUnit.SECONDS)
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .havingCause()
        .isInstanceOf(io.lockstep.NotAppliedException.class);
  }

  /** Records each state change and the thread it was reported on. */
  private static final class StateLog implements ReplicaStateListener {
    final List<String> transitions = Collections.synchronizedList(new ArrayList<>());
    final List<String> threads = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void onStateChange(ReplicaState previous, ReplicaState current) {
      transitions.add(previous + "->" + current);
      threads.add(Thread.currentThread().getName());
    }

    /** Waits until {@code n} changes were reported; the listener runs on a thread of its own. */
    List<String> awaitCount(int n) {
      await()
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(1))
          .atMost(Duration.ofSeconds(5))
          .until(() -> transitions.size() >= n);
      synchronized (transitions) {
        return List.copyOf(transitions);
      }
    }
  }

  /** Lets the applier run everything handed to it so far (no time passes on the fake ticker). */
  private static void settle(Replicator r) {
    r.idle().orTimeout(5, TimeUnit.SECONDS).join();
  }

  @Test
  void silentFeed_afterUnansweredProgressRequest_isTreatedAsDeadAndResumed() {
    FakeTime time = new FakeTime();
    ManualBackend backend = new ManualBackend(7);
    Replicator r =
        replicator(
            backend, time, Duration.ofSeconds(1), Duration.ofMillis(100), Duration.ofSeconds(1), 3);
    StateLog log = new StateLog();
    r.addStateListener(log);
    assertThat(r.state()).isEqualTo(ReplicaState.FOLLOWING);
    assertThat(backend.feeds()).hasSize(1);
    ManualFeed first = backend.lastFeed();
    assertThat(first.from()).isEqualTo(8);

    time.advance(Duration.ofMillis(999));
    settle(r);
    assertThat(first.progressRequests()).as("quiet for less than one interval").isZero();
    time.advance(Duration.ofMillis(1));
    settle(r);
    assertThat(first.progressRequests())
        .as("quiet for one interval: asked for progress")
        .isEqualTo(1);

    time.advance(Duration.ofSeconds(5)); // 5 intervals after the request: not yet "more than 5"
    settle(r);
    assertThat(first.isClosed()).isFalse();
    assertThat(backend.feeds()).hasSize(1);
    assertThat(r.stats().reconnects()).isZero();
    assertThat(r.state()).isEqualTo(ReplicaState.FOLLOWING);

    time.advance(Duration.ofSeconds(1)); // 6 intervals of silence after the request: dead
    settle(r);
    assertThat(first.isClosed()).as("the silent feed is closed").isTrue();
    assertThat(r.stats().reconnects()).isEqualTo(1);
    assertThat(r.state()).isEqualTo(ReplicaState.RECONNECTING);
    long backoff = time.lastDelay();
    assertThat(backoff)
        .isBetween(Duration.ofMillis(50).toNanos(), Duration.ofMillis(100).toNanos());
    assertThat(backend.feeds()).as("no reconnect before the backoff has passed").hasSize(1);

    time.advance(Duration.ofNanos(backoff));
    settle(r);
    assertThat(backend.feeds()).hasSize(2);
    assertThat(backend.lastFeed().from()).as("resumed after the applied revision").isEqualTo(8);
    assertThat(backend.snapshots()).as("a resume, not a re-list").isEqualTo(1);
    assertThat(r.state()).isEqualTo(ReplicaState.FOLLOWING);
    assertThat(log.awaitCount(2))
        .containsExactly("FOLLOWING->RECONNECTING", "RECONNECTING->FOLLOWING");
  }

  @Test
  void state_withInMemorySource_goesThroughEveryTransition_onItsOwnThread() throws Exception {
    InMemorySource s = source(RevisionModel.SPARSE);
    FakeTime time = new FakeTime();
    Replicator r =
        unstarted(
            s.backend(),
            time,
            Duration.ofHours(1),
            Duration.ofMillis(100),
            Duration.ofMillis(800),
            5);
    StateLog log = new StateLog();
    Registration registration = r.replica().addStateListener(log);
    assertThat(r.state()).isEqualTo(ReplicaState.LISTING);
    assertThat(r.isReady()).isFalse();

    r.start();
    assertThat(log.awaitCount(1)).containsExactly("LISTING->FOLLOWING");
    assertThat(r.isReady()).isTrue();

    // The feed breaks: reconnecting until the (fake) backoff has passed, then following again.
    long rev = s.writeAtomically(Map.of("a", new byte[] {1}));
    assertThat(r.awaitRevision(rev, Duration.ofSeconds(5))).isTrue();
    s.breakFeeds();
    assertThat(log.awaitCount(2)).endsWith("FOLLOWING->RECONNECTING");
    settle(r);
    assertThat(r.state()).isEqualTo(ReplicaState.RECONNECTING);
    time.advance(Duration.ofNanos(time.lastDelay()));
    assertThat(log.awaitCount(3)).endsWith("RECONNECTING->FOLLOWING");

    // History is compacted while the feed is down: the resumed feed cannot start, so it re-lists.
    s.breakFeeds();
    log.awaitCount(4);
    settle(r);
    long missed = s.writeAtomically(Map.of("b", new byte[] {2}));
    s.compact();
    time.advance(Duration.ofNanos(time.lastDelay()));
    assertThat(log.awaitCount(7))
        .containsExactly(
            "LISTING->FOLLOWING",
            "FOLLOWING->RECONNECTING",
            "RECONNECTING->FOLLOWING",
            "FOLLOWING->RECONNECTING",
            "RECONNECTING->FOLLOWING",
            "FOLLOWING->RELISTING",
            "RELISTING->FOLLOWING");
    assertThat(r.awaitRevision(missed, Duration.ofSeconds(5))).isTrue();
    assertThat(r.get("b").modRevision()).isEqualTo(missed);

    // A refresh re-lists too.
    assertThat(r.refresh().get(5, TimeUnit.SECONDS)).isEqualTo(missed);
    assertThat(log.awaitCount(9)).endsWith("FOLLOWING->RELISTING", "RELISTING->FOLLOWING");
    assertThat(r.stats().relists()).isEqualTo(2);
    assertThat(r.stats().reconnects()).isEqualTo(2);

    r.close();
    assertThat(r.state()).isEqualTo(ReplicaState.CLOSED);
    assertThat(log.awaitCount(10)).endsWith("FOLLOWING->CLOSED");
    assertThat(log.threads)
        .allMatch(t -> t.startsWith("lockstep-state-"), "a state listener thread");
    registration.close();
    registration.close(); // idempotent, throws nothing
  }

  @Test
  void stateListener_mayBlockOnTheMap_becauseItDoesNotRunOnTheApplier() {
    InMemorySource s = source(RevisionModel.SPARSE);
    ReplicatedMap m = node(s).map();
    List<WriteResult> written = Collections.synchronizedList(new ArrayList<>());
    try (Registration ignored =
        m.replica()
            .addStateListener(
                (previous, current) -> {
                  if (current == ReplicaState.FOLLOWING) {
                    written.add(
                        m.put("from-listener", new byte[] {1}, null)); // waits for the applier
                  }
                })) {
      m.replica().refresh().orTimeout(5, TimeUnit.SECONDS).join();
      await().atMost(Duration.ofSeconds(5)).until(() -> written.size() == 1);
    }
    assertThat(written.get(0).isApplied()).isTrue();
    assertThat(m.get("from-listener").modRevision()).isEqualTo(written.get(0).revision());
  }

  @Test
  void brokenFeed_reconnectsAfterBackoffDoublingFromMinToMax() {
    FakeTime time = new FakeTime();
    ManualBackend backend = new ManualBackend(3);
    long seed = 42;
    Duration min = Duration.ofMillis(100);
    Duration max = Duration.ofMillis(800);
    Replicator r = replicator(backend, time, Duration.ofHours(1), min, max, seed);
    List<Long> waits = new ArrayList<>();
    for (int i = 1; i <= 6; i++) {
      ManualFeed feed = backend.lastFeed();
      feed.listener().onError(new IllegalStateException("connection lost (test)"));
      settle(r);
      assertThat(feed.isClosed()).isTrue();
      long wait = time.lastDelay();
      waits.add(wait);
      time.advance(Duration.ofNanos(wait - 1));
      settle(r);
      assertThat(backend.feeds()).as("no reconnect before backoff %d has passed", i).hasSize(i);
      time.advance(Duration.ofNanos(1));
      settle(r);
      assertThat(backend.feeds()).as("reconnect %d once its backoff has passed", i).hasSize(i + 1);
      assertThat(backend.lastFeed().from()).isEqualTo(4);
    }
    assertThat(r.stats().reconnects()).isEqualTo(6);
    // The delay doubles from min to max; each wait is drawn from [delay/2, delay] with the seed.
    long[] ceilings = {100, 200, 400, 800, 800, 800};
    SplittableRandom replay = new SplittableRandom(seed);
    List<Long> expected = new ArrayList<>();
    for (int i = 0; i < ceilings.length; i++) {
      long ceiling = Duration.ofMillis(ceilings[i]).toNanos();
      assertThat(waits.get(i)).as("wait %d", i + 1).isBetween(ceiling / 2, ceiling);
      expected.add(ceiling / 2 + replay.nextLong(ceiling / 2 + 1));
    }
    assertThat(waits).isEqualTo(expected);
    long listingCheck = Duration.ofSeconds(3).toNanos(); // the operation timeout
    assertThat(time.delays())
        .filteredOn(d -> d != listingCheck) // the listing's watchdog, armed on another thread
        .containsExactlyElementsOf(
            concat(
                Duration.ofHours(1).toNanos(),
                expected)); // the first progress check, then backoffs
  }

  // ---------------------------------------------------------------------------------------------
  // Never silently wrong: listeners that throw, events below applied, malformed changes
  // ---------------------------------------------------------------------------------------------

  private static Versioned entry(String key, long revision) {
    return new Versioned(key, new byte[] {(byte) revision}, "application/octet-stream", revision);
  }

  private static long digestOf(Versioned... held) {
    long d = 0;
    for (Versioned v : held) {
      d += Digests.entry(v);
    }
    return d;
  }

  /**
   * Throws any throwable, checked or not, without declaring it (as Lombok's {@code @SneakyThrows}).
   */
  @SuppressWarnings("unchecked")
  private static <T extends Throwable> void sneakyThrow(Throwable t) throws T {
    throw (T) t;
  }

  @Test
  void listenerThrowingError_onOneKeyOfMultiKeyRevision_wholeRevisionIsAppliedAndFeedFollows() {
    FakeTime time = new FakeTime();
    ManualBackend backend = new ManualBackend(1);
    Replicator r =
        replicator(
            backend, time, Duration.ofHours(1), Duration.ofMillis(100), Duration.ofSeconds(1), 7);
    List<String> seenByThrower = Collections.synchronizedList(new ArrayList<>());
    r.addListener(
        e -> {
          // When any listener runs, the whole revision is applied and published.
          seenByThrower.add(
              e.key()
                  + "@"
                  + e.revision()
                  + " applied="
                  + r.appliedRevision()
                  + " a="
                  + (r.get("a") == null ? "-" : r.get("a").modRevision())
                  + " b="
                  + (r.get("b") == null ? "-" : r.get("b").modRevision()));
          if (e.key().equals("a")) {
            throw new AssertionError("listener bug (test)");
          }
        });
    List<ChangeEvent> seenByOther = Collections.synchronizedList(new ArrayList<>());
    r.addListener(seenByOther::add);

    backend
        .lastFeed()
        .listener()
        .onChanges(2, List.of(Change.put(entry("a", 2)), Change.put(entry("b", 2))), 2);
    settle(r);

    assertThat(r.get("a").modRevision()).isEqualTo(2);
    assertThat(r.get("b").modRevision()).as("the key after the throwing one").isEqualTo(2);
    assertThat(r.appliedRevision()).isEqualTo(2);
    assertThat(r.digest()).isEqualTo(digestOf(entry("a", 2), entry("b", 2)));
    assertThat(seenByThrower).containsExactly("a@2 applied=2 a=2 b=2", "b@2 applied=2 a=2 b=2");
    assertThat(seenByOther).extracting(ChangeEvent::key).containsExactly("a", "b");
    assertThat(r.stats().listenerFailures()).isEqualTo(1);

    // The replica keeps following: a later change is applied, on the same feed, without a relist.
    backend.lastFeed().listener().onChanges(3, List.of(Change.put(entry("c", 3))), 3);
    settle(r);
    assertThat(r.get("c").modRevision()).isEqualTo(3);
    assertThat(r.appliedRevision()).isEqualTo(3);
    assertThat(r.state()).isEqualTo(ReplicaState.FOLLOWING);
    assertThat(backend.feeds()).hasSize(1);
    assertThat(r.stats().relists()).isZero();
    assertThat(r.stats().listenerFailures()).isEqualTo(1);
  }

  @Test
  void listenerThrowingError_duringRelistInstall_listingIsAppliedAndFeedFollows() throws Exception {
    FakeTime time = new FakeTime();
    ManualBackend backend = new ManualBackend(1);
    Replicator r =
        replicator(
            backend, time, Duration.ofHours(1), Duration.ofMillis(100), Duration.ofSeconds(1), 8);
    List<ChangeEvent> seen = Collections.synchronizedList(new ArrayList<>());
    r.addListener(
        e -> {
          if (e.key().equals("a")) {
            throw new AssertionError("listener bug (test)");
          }
        });
    r.addListener(
        e -> {
          if (e.key().equals("b")) {
            sneakyThrow(new java.io.IOException("checked, thrown sneakily (test)"));
          }
        });
    r.addListener(seen::add);

    backend.listAt(5, List.of(entry("a", 4), entry("b", 5)));
    var refreshed = r.refresh();
    settle(r);

    // The future completes on the callback executor, one hop after the applier went idle.
    assertThat(refreshed)
        .as("the relist completed")
        .succeedsWithin(Duration.ofSeconds(5))
        .isEqualTo(5L);
    assertThat(r.get("a").modRevision()).isEqualTo(4);
    assertThat(r.get("b").modRevision()).isEqualTo(5);
    assertThat(r.appliedRevision()).isEqualTo(5);
    assertThat(r.digest()).isEqualTo(digestOf(entry("a", 4), entry("b", 5)));
    assertThat(seen).extracting(ChangeEvent::key).containsExactlyInAnyOrder("a", "b");
    assertThat(seen).allMatch(ChangeEvent::fromRelist);
    assertThat(r.stats().listenerFailures()).isEqualTo(2);
    assertThat(r.state()).isEqualTo(ReplicaState.FOLLOWING);
    assertThat(backend.feeds()).as("a new feed after the listing").hasSize(2);
    assertThat(backend.lastFeed().from()).isEqualTo(6);

    backend.lastFeed().listener().onChanges(6, List.of(Change.put(entry("c", 6))), 6);
    settle(r);
    assertThat(r.get("c").modRevision()).isEqualTo(6);
    assertThat(r.appliedRevision()).isEqualTo(6);
    assertThat(r.stats().relists()).isEqualTo(1); // the refresh only
  }

  @Test
  void malformedChange_inMultiKeyRevision_isNotHalfAppliedButRelists() {
    FakeTime time = new FakeTime();
    ManualBackend backend = new ManualBackend(1);
    Replicator r =
        replicator(
            backend, time, Duration.ofHours(1), Duration.ofMillis(100), Duration.ofSeconds(1), 9);
    List<ChangeEvent> seen = Collections.synchronizedList(new ArrayList<>());
    r.addListener(seen::add);
    ManualFeed feed = backend.lastFeed();
    backend.listAt(2, List.of(entry("a", 2), entry("b", 2)));
    // A PUT without its entry: the engine cannot apply it, so it must not apply "a" alone.
    feed.listener()
        .onChanges(
            2, List.of(Change.put(entry("a", 2)), new Change(Change.Type.PUT, "b", null)), 2);
    settle(r);

    assertThat(r.stats().relists()).as("an engine failure is repaired by a relist").isEqualTo(1);
    assertThat(r.state()).isEqualTo(ReplicaState.RELISTING);
    assertThat(feed.isClosed()).isTrue();
    assertThat(r.appliedRevision()).isEqualTo(1);
    assertThat(r.digest()).as("nothing of revision 2 is published").isZero();
    // The recovery waits out a backoff before it lists again (a bug that repeats cannot spin).
    assertThat(backend.snapshots()).isEqualTo(1);
    time.advance(Duration.ofNanos(time.lastDelay()));
    settle(r);
    assertThat(backend.snapshots()).isEqualTo(2);
    assertThat(seen).as("only the relist reports changes").allMatch(ChangeEvent::fromRelist);
    assertThat(r.get("a").modRevision()).isEqualTo(2);
    assertThat(r.get("b").modRevision()).isEqualTo(2);
    assertThat(r.appliedRevision()).isEqualTo(2);
    assertThat(r.digest()).isEqualTo(digestOf(entry("a", 2), entry("b", 2)));
    assertThat(r.state()).isEqualTo(ReplicaState.FOLLOWING);
    assertThat(backend.lastFeed().from()).isEqualTo(3);
  }

  @Test
  void eventBelowApplied_afterProgressInTheSameSession_relists() {
    FakeTime time = new FakeTime();
    ManualBackend backend = new ManualBackend(1);
    Replicator r =
        replicator(
            backend, time, Duration.ofHours(1), Duration.ofMillis(100), Duration.ofSeconds(1), 10);
    ManualFeed feed = backend.lastFeed();
    feed.listener().onChanges(2, List.of(Change.put(entry("x", 2))), 2);
    feed.listener().onProgress(5);
    settle(r);
    assertThat(r.appliedRevision()).isEqualTo(5);

    // Progress at 5 promised every change up to 5 was delivered: 4 arriving now is a fault.
    backend.listAt(5, List.of(entry("x", 2), entry("y", 4)));
    feed.listener().onChanges(4, List.of(Change.put(entry("y", 4))), 5);
    settle(r);

    assertThat(r.stats().relists()).isEqualTo(1);
    assertThat(backend.snapshots()).isEqualTo(2);
    assertThat(r.get("y")).isNotNull();
    assertThat(r.get("y").modRevision()).isEqualTo(4);
    assertThat(r.get("x").modRevision()).isEqualTo(2);
    assertThat(r.appliedRevision()).isEqualTo(5);
    assertThat(r.digest()).isEqualTo(digestOf(entry("x", 2), entry("y", 4)));
    assertThat(r.stats().duplicatesDropped()).isZero();
    assertThat(feed.isClosed()).isTrue();
    assertThat(backend.lastFeed().from()).isEqualTo(6);
    assertThat(r.state()).isEqualTo(ReplicaState.FOLLOWING);
  }

  @Test
  void resumedFeed_repeatingAnAppliedRevision_isADuplicateNotARelist() {
    FakeTime time = new FakeTime();
    ManualBackend backend = new ManualBackend(1);
    Replicator r =
        replicator(
            backend, time, Duration.ofHours(1), Duration.ofMillis(100), Duration.ofSeconds(1), 11);
    backend.lastFeed().listener().onChanges(2, List.of(Change.put(entry("x", 2))), 2);
    backend.lastFeed().listener().onChanges(3, List.of(Change.put(entry("y", 3))), 3);
    backend.lastFeed().listener().onError(new IllegalStateException("connection lost (test)"));
    settle(r);
    time.advance(Duration.ofNanos(time.lastDelay()));
    settle(r);
    ManualFeed resumed = backend.lastFeed();
    assertThat(resumed.from()).isEqualTo(4);

    resumed.listener().onChanges(3, List.of(Change.put(entry("y", 3))), 3); // a replay
    resumed.listener().onChanges(4, List.of(Change.put(entry("z", 4))), 4);
    settle(r);

    assertThat(r.stats().duplicatesDropped()).isEqualTo(1);
    assertThat(r.stats().relists()).isZero();
    assertThat(backend.snapshots()).isEqualTo(1);
    assertThat(r.appliedRevision()).isEqualTo(4);
    assertThat(r.digest()).isEqualTo(digestOf(entry("x", 2), entry("y", 3), entry("z", 4)));
  }

  private static List<Long> concat(long first, List<Long> rest) {
    List<Long> all = new ArrayList<>();
    all.add(first);
    all.addAll(rest);
    return all;
  }
}
