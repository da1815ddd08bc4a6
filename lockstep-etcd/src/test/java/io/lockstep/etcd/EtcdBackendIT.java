package io.lockstep.etcd;

import static io.lockstep.etcd.EtcdSource.bytes;
import static io.lockstep.etcd.EtcdSource.get;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.lockstep.BackendUnavailableException;
import io.lockstep.Digests;
import io.lockstep.Member;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.FreePorts;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.Membership;
import io.lockstep.spi.Snapshot;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The adapter alone, at the SPI, against a real etcd: listing, feed translation, writes, failures.
 */
class EtcdBackendIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);

  @RegisterExtension
  static final TestResource<EtcdSource> etcd = TestResource.of(EtcdSource::onNewServer);

  private final String prefix = "spi-" + UUID.randomUUID().toString().substring(0, 8);
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    Collections.reverse(open);
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  private static EtcdSource source() {
    return etcd.get();
  }

  private EtcdBackend backend(String uri) {
    EtcdBackend b =
        EtcdBackend.create(
            BackendUri.parse(uri), new BackendContext(prefix, "spi-test", Duration.ofSeconds(3)));
    open.add(b);
    return b;
  }

  private EtcdBackend backend() {
    return backend(etcd.get().server().backendUri());
  }

  // ---------------------------------------------------------------------------------------------
  // Listing
  // ---------------------------------------------------------------------------------------------

  @Test
  void snapshot_overManyPagesDuringWrites_isOneListingAtOneRevision() throws Exception {
    for (int i = 0; i < 60; i++) {
      source().put(prefix, "k" + i, ("v" + i).getBytes(UTF_8));
    }
    source().put(prefix, "_members/someone", "{}".getBytes(UTF_8));
    source().put(prefix + "x", "outside", new byte[] {1}); // a neighbouring namespace
    EtcdBackend b = backend(etcd.get().server().backendUri() + "?page_size=7");
    long before = source().revision();
    CompletableFuture<Void> writer =
        CompletableFuture.runAsync(
            () -> {
              for (int i = 0; i < 1_500; i++) {
                source().put(prefix, "k" + (i % 80), ("w" + i).getBytes(UTF_8));
              }
            });
    List<Snapshot> snaps = new ArrayList<>();
    while (!writer.isDone() || snaps.isEmpty()) {
      snaps.add(b.snapshot().get(10, TimeUnit.SECONDS));
    }
    writer.get(30, TimeUnit.SECONDS);
    long after = source().revision();
    assertThat(snaps)
        .as("listings taken while the writer ran")
        .filteredOn(s -> s.revision() > before + 10 && s.revision() < after - 10)
        .hasSizeGreaterThan(2);
    for (Snapshot s : snaps) {
      assertThat(s.entries())
          .extracting(Versioned::key)
          .doesNotHaveDuplicates()
          .noneMatch(k -> k.startsWith("_members/") || k.equals("outside"));
      assertThat(Digests.of(s.entries()))
          .as("listing at %d", s.revision())
          .isEqualTo(digestAt(s.revision()));
    }
  }

  /** Each page is reported to the engine's handle; a cancelled listing reads no further page. */
  @Test
  void snapshot_reportsEachPage_andStopsOnceCancelled() throws Exception {
    for (int i = 0; i < 60; i++) {
      source().put(prefix, "k" + i, ("v" + i).getBytes(UTF_8));
    }
    EtcdBackend b = backend(etcd.get().server().backendUri() + "?page_size=7");
    List<Integer> pages = Collections.synchronizedList(new ArrayList<>());
    Snapshot whole =
        b.snapshot(
                new ListingProgress() {
                  @Override
                  public void page(int entries) {
                    pages.add(entries);
                  }

                  @Override
                  public boolean isCancelled() {
                    return false;
                  }
                })
            .get(10, TimeUnit.SECONDS);
    assertThat(whole.entries()).hasSize(60);
    assertThat(pages).hasSize(9).allMatch(n -> n <= 7);
    assertThat(pages.stream().mapToInt(Integer::intValue).sum()).isEqualTo(60);

    AtomicBoolean cancelled = new AtomicBoolean();
    List<Integer> before = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Snapshot> stopped =
        b.snapshot(
            new ListingProgress() {
              @Override
              public void page(int entries) {
                before.add(entries);
                if (before.size() == 2) {
                  cancelled.set(true); // the engine gave up during the second page
                }
              }

              @Override
              public boolean isCancelled() {
                return cancelled.get();
              }
            });
    assertThatThrownBy(() -> stopped.get(10, TimeUnit.SECONDS))
        .hasCauseInstanceOf(CancellationException.class);
    assertThat(before).as("no page read once cancelled").hasSize(2);
  }

  private long digestAt(long revision) {
    long d = 0;
    for (KeyValue kv :
        get(source()
                .client()
                .getKVClient()
                .get(
                    bytes(prefix + "/"),
                    GetOption.builder().isPrefix(true).withRevision(revision).build()))
            .getKvs()) {
      String key = kv.getKey().toString(UTF_8).substring(prefix.length() + 1);
      if (!key.startsWith("_members/")) {
        d +=
            Digests.entry(
                key, kv.getModRevision(), EtcdValueCodec.decode(kv.getValue().getBytes()).value());
      }
    }
    return d;
  }

  // ---------------------------------------------------------------------------------------------
  // Feed
  // ---------------------------------------------------------------------------------------------

  @Test
  void watch_transactionOverSeveralKeys_isOneCall_andMembershipRecordsAreLeftOut() {
    EtcdBackend b = backend();
    long from = source().revision() + 1;
    Recorder rec = new Recorder();
    open.add(b.watch(from, rec));
    long r1 =
        get(source()
                .client()
                .getKVClient()
                .txn()
                .Then(
                    Op.put(
                        bytes(prefix + "/a"),
                        ByteSequence.from("1".getBytes(UTF_8)),
                        PutOption.DEFAULT),
                    Op.put(
                        bytes(prefix + "/b"),
                        ByteSequence.from("[2]".getBytes(UTF_8)),
                        PutOption.DEFAULT),
                    Op.put(
                        bytes(prefix + "/_members/m"),
                        ByteSequence.from("{}".getBytes(UTF_8)),
                        PutOption.DEFAULT))
                .commit())
            .getHeader()
            .getRevision();
    source().put(prefix, "_members/only", new byte[] {1}); // a revision with nothing for the map
    long r3 = source().delete(prefix, "a");
    await().atMost(PATIENCE).until(() -> rec.batches().size() == 2);
    List<Batch> batches = rec.batches();
    assertThat(batches.get(0).revision()).isEqualTo(r1);
    assertThat(batches.get(0).changes()).extracting(Change::key).containsExactly("a", "b");
    assertThat(batches.get(0).changes().get(1).value().contentType()).isEqualTo("application/json");
    assertThat(batches.get(0).changes().get(1).value().modRevision()).isEqualTo(r1);
    assertThat(batches.get(1).revision()).isEqualTo(r3);
    assertThat(batches.get(1).changes()).containsExactly(Change.delete("a"));
    assertThat(rec.terminal()).isNull();
  }

  @Test
  void watch_fromCompactedRevision_reportsCompactedOnce_andNothingAfter() {
    EtcdBackend b = backend();
    long from = source().put(prefix, "k", new byte[] {1});
    source().put(prefix, "k", new byte[] {2});
    long compacted = source().compactAll();
    Recorder rec = new Recorder();
    open.add(b.watch(from, rec));
    await().atMost(PATIENCE).until(() -> rec.terminal() != null);
    assertThat(rec.terminal()).isEqualTo("compacted " + compacted);
    long after = source().put(prefix, "k", new byte[] {3});
    Recorder probe = new Recorder();
    open.add(b.watch(after, probe));
    await().atMost(PATIENCE).until(() -> probe.batches().size() == 1);
    assertThat(rec.signals()).hasSize(1);
  }

  @Test
  void feedClose_cancelsTheWatchOnTheServer_andDeliversNothingMore() {
    long baseline = source().serverWatchers();
    EtcdBackend b = backend();
    List<Recorder> recs = new ArrayList<>();
    List<Feed> feeds = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      Recorder r = new Recorder();
      recs.add(r);
      feeds.add(b.watch(source().revision() + 1, r));
    }
    await().atMost(PATIENCE).until(() -> source().serverWatchers() == baseline + 10);
    feeds.forEach(Feed::close);
    feeds.forEach(Feed::close); // twice is harmless
    await().atMost(PATIENCE).until(() -> source().serverWatchers() == baseline);
    source().put(prefix, "after-close", new byte[] {1});
    Recorder witness = new Recorder(); // a live feed sees the write, the closed ones never do
    open.add(b.watch(source().revision(), witness));
    await().atMost(PATIENCE).until(() -> witness.batches().size() == 1);
    assertThat(recs).allSatisfy(r -> assertThat(r.signals()).isEmpty());
  }

  @Test
  void requestProgress_onQuietFeed_isAnswered_andNeverClaimsMoreThanEtcdProved() {
    EtcdBackend b = backend();
    long from = source().put(prefix, "k", new byte[] {1}) + 1;
    Recorder rec = new Recorder();
    Feed f = b.watch(from, rec);
    open.add(f);
    source()
        .put(
            prefix + "-other",
            "noise",
            new byte[] {1}); // the cluster moves on, this namespace does not
    await().atMost(PATIENCE).until(() -> b.serverVersions() != null);
    await().atMost(PATIENCE).until(() -> f.requestProgress() && !rec.progress().isEmpty());
    long p = rec.progress().get(0);
    if (b.progressMode().trusted()) {
      assertThat(p).isGreaterThanOrEqualTo(from);
    } else {
      assertThat(p).as("liveness only on etcd %s", b.serverVersions()).isEqualTo(from - 1);
    }
  }

  @Test
  void progressRequests_duringConcurrentWrites_neverRunAheadOfEvents() throws Exception {
    EtcdBackend b = backend();
    long from = source().revision() + 1;
    Recorder rec = new Recorder();
    Feed f = b.watch(from, rec);
    open.add(f);
    ScheduledExecutorService asker = Executors.newSingleThreadScheduledExecutor();
    asker.scheduleAtFixedRate(f::requestProgress, 0, 500, TimeUnit.MICROSECONDS);
    int writes = 3_000;
    Semaphore inFlight = new Semaphore(16);
    try {
      for (int i = 0; i < writes; i++) {
        inFlight.acquire();
        source()
            .client()
            .getKVClient()
            .put(bytes(prefix + "/k" + (i % 50)), ByteSequence.from(new byte[] {(byte) i}))
            .whenComplete((r, e) -> inFlight.release());
      }
      inFlight.acquire(16);
    } finally {
      asker.shutdownNow();
    }
    await()
        .atMost(PATIENCE)
        .until(() -> rec.batches().stream().mapToInt(x -> x.changes().size()).sum() == writes);
    long maxProgress = 0;
    long lastRev = 0;
    int progressCount = 0;
    for (Object s : rec.signals()) {
      if (s instanceof Batch batch) {
        assertThat(batch.revision())
            .as("event after progress %d", maxProgress)
            .isGreaterThan(maxProgress);
        assertThat(batch.revision()).isGreaterThan(lastRev);
        lastRev = batch.revision();
      } else if (s instanceof Long p) {
        maxProgress = Math.max(maxProgress, p);
        progressCount++;
      }
    }
    assertThat(progressCount).isPositive();
    assertThat(rec.terminal()).isNull();
  }

  // ---------------------------------------------------------------------------------------------
  // Writes and strong reads
  // ---------------------------------------------------------------------------------------------

  @Test
  void writes_conditionalAndNot_reportRevisionsConflictsAndCurrentEntries() throws Exception {
    EtcdBackend b = backend();
    WriteResult w1 = b.put("k", "v1".getBytes(UTF_8), "text/plain", Backend.ANY_REVISION).get();
    assertThat(w1.isApplied()).isTrue();
    Backend.StrongRead read = b.get("k").get();
    assertThat(read.entry())
        .isEqualTo(new Versioned("k", "v1".getBytes(UTF_8), "text/plain", w1.revision()));
    assertThat(read.revision()).isGreaterThanOrEqualTo(w1.revision());

    WriteResult lost = b.put("k", "v2".getBytes(UTF_8), "text/plain", 0).get();
    assertThat(lost.status()).isEqualTo(WriteResult.Status.CONFLICT);
    assertThat(lost.revision()).isEqualTo(w1.revision());
    assertThat(lost.current()).isEqualTo(read.entry());

    WriteResult stale = b.put("k", "v2".getBytes(UTF_8), "text/plain", w1.revision() - 1).get();
    assertThat(stale.status()).isEqualTo(WriteResult.Status.CONFLICT);
    WriteResult w2 = b.put("k", "v2".getBytes(UTF_8), "text/plain", w1.revision()).get();
    assertThat(w2.isApplied()).isTrue();
    assertThat(w2.revision()).isGreaterThan(w1.revision());
    assertThat(b.put("new", new byte[] {1}, "application/octet-stream", 0).get().isApplied())
        .isTrue();
    assertThat(b.put("absent", new byte[] {1}, "application/octet-stream", 5).get())
        .isEqualTo(WriteResult.conflict(0, null));

    long now = source().revision();
    assertThat(b.delete("absent", Backend.ANY_REVISION).get()).isEqualTo(WriteResult.notFound(now));
    assertThat(b.delete("absent", 0).get().status()).isEqualTo(WriteResult.Status.NOT_FOUND);
    assertThat(b.delete("k", 0).get().status()).isEqualTo(WriteResult.Status.CONFLICT);
    assertThat(b.delete("k", w1.revision()).get().status()).isEqualTo(WriteResult.Status.CONFLICT);
    WriteResult d = b.delete("k", w2.revision()).get();
    assertThat(d.isApplied()).isTrue();
    assertThat(b.get("k").get().entry()).isNull();
    assertThat(b.delete("new", Backend.ANY_REVISION).get().isApplied()).isTrue();
  }

  // ---------------------------------------------------------------------------------------------
  // Failures
  // ---------------------------------------------------------------------------------------------

  @Test
  void unreachableEtcd_failsEveryOperationFast_withBackendUnavailable() {
    EtcdBackend b = backend("etcd://127.0.0.1:" + FreePorts.one() + "?timeout=2s");
    long t0 = System.nanoTime();
    assertThat(failure(b.put("k", new byte[] {1}, "text/plain", Backend.ANY_REVISION)))
        .isInstanceOfSatisfying(
            BackendUnavailableException.class,
            e -> {
              assertThat(e.mayHaveCommitted()).isFalse();
              assertThat(e.getMessage()).contains("UNAVAILABLE").contains("127.0.0.1");
            });
    assertThat(failure(b.get("k"))).isInstanceOf(BackendUnavailableException.class);
    assertThat(failure(b.snapshot())).isInstanceOf(BackendUnavailableException.class);
    assertThat(failure(b.membership().members())).isInstanceOf(BackendUnavailableException.class);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
    Recorder rec = new Recorder();
    open.add(b.watch(1, rec));
    await().atMost(PATIENCE).until(() -> rec.terminal() != null);
    assertThat(rec.terminal()).startsWith("error io.lockstep.BackendUnavailableException");
  }

  @Test
  void frozenEtcd_failsRequestsAtTheDeadline_andTheFeedOnce_thenWorksAgain() throws Exception {
    try (EtcdProcess own = new EtcdProcess()) {
      EtcdBackend b = backend(own.backendUri() + "?timeout=700ms");
      long rev = b.put("k", new byte[] {1}, "text/plain", Backend.ANY_REVISION).get().revision();
      Recorder rec = new Recorder();
      open.add(b.watch(rev + 1, rec));
      own.pause();
      long t0 = System.nanoTime();
      assertThat(failure(b.get("k")))
          .isInstanceOfSatisfying(
              BackendUnavailableException.class,
              e -> assertThat(e.getMessage()).contains("DEADLINE_EXCEEDED"));
      assertThat(Duration.ofNanos(System.nanoTime() - t0))
          .isBetween(Duration.ofMillis(600), Duration.ofSeconds(3));
      assertThat(failure(b.put("k", new byte[] {2}, "text/plain", Backend.ANY_REVISION)))
          .isInstanceOfSatisfying(
              BackendUnavailableException.class, e -> assertThat(e.mayHaveCommitted()).isTrue());
      own.stop();
      await().atMost(PATIENCE).until(() -> rec.terminal() != null);
      assertThat(rec.terminal()).startsWith("error ");
      own.start();
      await()
          .atMost(PATIENCE)
          .ignoreExceptions()
          .until(
              () ->
                  b.put("k", new byte[] {3}, "text/plain", Backend.ANY_REVISION).get().isApplied());
      // The put that timed out may still have been committed when etcd thawed before stopping (it
      // said so: mayHaveCommitted); then the feed delivered it before breaking. Nothing follows the
      // error.
      List<Object> signals = rec.signals();
      assertThat(signals.get(signals.size() - 1)).isEqualTo(rec.terminal());
      assertThat(rec.batches())
          .allSatisfy(
              batch ->
                  assertThat(batch.changes())
                      .singleElement()
                      .satisfies(c -> assertThat(c.value().value()).containsExactly(2)));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Membership
  // ---------------------------------------------------------------------------------------------

  @Test
  void membership_registersWithLease_reRegistersWhenTheLeaseIsRevoked_andCloseRemovesIt()
      throws Exception {
    EtcdBackend b = backend();
    Member me =
        new Member("node-1", "http://10.0.0.1:8080", Instant.parse("2026-01-02T03:04:05.678Z"));
    Membership.Registration reg = b.membership().register(me).get(10, TimeUnit.SECONDS);
    assertThat(b.membership().members().get()).containsExactly(me);
    KeyValue record = source().list(prefix).getKvs().get(0);
    assertThat(record.getKey().toString(UTF_8)).isEqualTo(prefix + "/_members/node-1");
    assertThat(record.getValue().toString(UTF_8))
        .isEqualTo(
            "{\"id\":\"node-1\",\"url\":\"http://10.0.0.1:8080\",\"startedAt\":\"2026-01-02T03:04:05.678Z\"}");
    long lease = record.getLease();
    assertThat(lease).isNotZero();

    get(
        source()
            .client()
            .getLeaseClient()
            .revoke(lease)); // an operator, or an outage longer than the TTL
    await()
        .atMost(PATIENCE)
        .until(
            () -> {
              List<KeyValue> kvs = source().list(prefix).getKvs();
              return kvs.size() == 1
                  && kvs.get(0).getLease() != 0
                  && kvs.get(0).getLease() != lease;
            });
    assertThat(b.membership().members().get()).containsExactly(me);

    reg.close();
    assertThat(source().list(prefix).getKvs()).isEmpty();
    assertThat(b.membership().members().get()).isEmpty();
  }

  @Test
  void backendClose_revokesRegistrations_andStopsFeeds() throws Exception {
    long baseline = source().serverWatchers();
    EtcdBackend b = backend();
    b.membership().register(new Member("n", "", Instant.now())).get(10, TimeUnit.SECONDS);
    Recorder rec = new Recorder();
    b.watch(source().revision() + 1, rec);
    await().atMost(PATIENCE).until(() -> source().serverWatchers() == baseline + 1);
    b.close();
    assertThat(source().list(prefix).getKvs()).isEmpty();
    await().atMost(PATIENCE).until(() -> source().serverWatchers() == baseline);
    source().put(prefix, "late", new byte[] {1});
    assertThat(rec.signals()).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------

  private static Throwable failure(CompletableFuture<?> f) {
    try {
      f.get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return EtcdErrors.unwrap(e);
    } catch (Exception e) {
      throw new AssertionError("expected the operation to fail, got " + e, e);
    }
    throw new AssertionError("expected the operation to fail, but it succeeded");
  }

  record Batch(long revision, List<Change> changes, long head) {}

  /**
   * Records a feed's signals in order; checks that it is called from one thread at a time. A
   * violation is kept and thrown on the test's own thread by every read of the recording: thrown on
   * jetcd's thread it would never reach the test.
   */
  static final class Recorder implements FeedListener {
    private final List<Object> signals = new ArrayList<>();
    private final AtomicBoolean inside = new AtomicBoolean();
    private volatile String violation;

    private void add(Object o) {
      if (!inside.compareAndSet(false, true)) {
        violation =
            "feed listener called concurrently (" + o + " on " + Thread.currentThread() + ")";
        return;
      }
      try {
        synchronized (signals) {
          signals.add(o);
        }
      } finally {
        inside.set(false);
      }
    }

    @Override
    public void onChanges(long revision, List<Change> changes, long headRevision) {
      add(new Batch(revision, changes, headRevision));
    }

    @Override
    public void onProgress(long revision) {
      add(revision);
    }

    @Override
    public void onCompacted(long compactRevision) {
      add("compacted " + compactRevision);
    }

    @Override
    public void onError(Throwable error) {
      add("error " + error);
    }

    List<Object> signals() {
      if (violation != null) {
        throw new AssertionError(violation);
      }
      synchronized (signals) {
        return List.copyOf(signals);
      }
    }

    List<Batch> batches() {
      return signals().stream().filter(Batch.class::isInstance).map(Batch.class::cast).toList();
    }

    List<Long> progress() {
      return signals().stream().filter(Long.class::isInstance).map(Long.class::cast).toList();
    }

    String terminal() {
      return signals().stream()
          .filter(String.class::isInstance)
          .map(String.class::cast)
          .findFirst()
          .orElse(null);
    }
  }
}
