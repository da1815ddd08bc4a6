package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.ChangeEvent;
import io.lockstep.ChangeListener;
import io.lockstep.Digests;
import io.lockstep.LocalSnapshot;
import io.lockstep.Lockstep;
import io.lockstep.LockstepException;
import io.lockstep.ReplicaStats;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.spi.Change;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One revision, one step for readers and listeners; no user code on the applier or on I/O threads;
 * nothing pending once the map closes.
 */
class ReplicatorThreadsTest {
  private final InMemoryNodes nodes = new InMemoryNodes();

  @AfterEach
  void closeAll() throws Exception {
    nodes.close();
  }

  private static byte[] value(long i) {
    return ByteBuffer.allocate(8).putLong(i).array();
  }

  /**
   * Every revision writes both "a" and "b" (in one call of the feed); a reader looping list(),
   * getAll() and snapshot() must never see them at different revisions, and stats() must pair each
   * revision with the digest of that revision's state.
   */
  @Test
  void multiKeyReads_whileMultiKeyRevisionsApply_seeExactlyOneRevision() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    ReplicatedMap m = nodes.node(s, b -> b).map();
    int writes = 20_000;
    long[] digestAt = new long[writes + 1];
    for (int i = 1; i <= writes; i++) {
      digestAt[i] = Digests.entry("a", i, value(i)) + Digests.entry("b", i, value(i));
    }
    List<String> torn = Collections.synchronizedList(new ArrayList<>());
    AtomicLong reads = new AtomicLong();
    Thread reader =
        Thread.ofPlatform()
            .name("multi-key-reader")
            .start(
                () -> {
                  long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                  while (System.nanoTime() < deadline && torn.size() < 10) {
                    reads.incrementAndGet();
                    List<Versioned> l = m.list("", 0);
                    if (l.size() == 1
                        || (l.size() == 2 && l.get(0).modRevision() != l.get(1).modRevision())) {
                      torn.add("list " + l);
                    }
                    Map<String, Versioned> all = m.getAll(List.of("a", "b"));
                    if (all.size() == 1
                        || (all.size() == 2
                            && all.get("a").modRevision() != all.get("b").modRevision())) {
                      torn.add("getAll " + all);
                    }
                    LocalSnapshot snap = m.replica().snapshot(List.of("b", "a"));
                    long at = snap.revision();
                    if (at > 0
                        && (snap.entries().size() != 2
                            || snap.get("a").modRevision() != at
                            || snap.get("b").modRevision() != at
                            || !snap.entries().get(0).key().equals("a"))) {
                      torn.add("snapshot " + snap);
                    }
                    ReplicaStats st = m.replica().stats();
                    long a = st.appliedRevision();
                    if (st.digest() != digestAt[(int) a] || st.keys() != (a == 0 ? 0 : 2)) {
                      torn.add("stats " + st);
                    }
                    if (a == writes) {
                      return;
                    }
                  }
                });
    for (int i = 1; i <= writes; i++) {
      s.writeAtomically(Map.of("a", value(i), "b", value(i)));
    }
    reader.join();
    assertThat(torn).as("torn reads out of %d", reads.get()).isEmpty();
    assertThat(m.replica().appliedRevision()).isEqualTo(writes);
    assertThat(reads.get()).isGreaterThan(writes / 100);
  }

  @Test
  void callbackOfAWrite_mayBlockOnTheMap() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    ReplicatedMap m = nodes.node(s, b -> b).map();
    m.addListener(
        e -> {
          if (e.key().equals("slow")) {
            sleepQuietly(200); // the write below is still waiting to be applied when chained on
          }
        });
    s.writeAtomically(Map.of("slow", new byte[] {0}));
    WriteResult second =
        m.putAsync("a", new byte[] {1}, null)
            .thenApply(r -> m.put("b", new byte[] {2}, null))
            .get(2, TimeUnit.SECONDS);
    assertThat(m.get("b").modRevision()).isEqualTo(second.revision());
  }

  @Test
  void blockingCallsInAListener_failFastAndReplicationGoesOn() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    ReplicatedMap m = nodes.node(s, b -> b).map();
    Map<String, Object> outcome = new java.util.concurrent.ConcurrentHashMap<>();
    m.addListener(
        e -> {
          if (!e.key().equals("trigger")) {
            return;
          }
          outcome.put("getAll", m.getAll(List.of("trigger", "other")).keySet());
          outcome.put("snapshotAt", m.replica().snapshot("", 0).revision());
          outcome.put("awaitApplied", m.replica().awaitRevision(e.revision(), Duration.ZERO));
          record(outcome, "refresh", () -> m.replica().refresh().join());
          record(outcome, "put", () -> m.put("x", new byte[] {1}, null));
          record(outcome, "delete", () -> m.delete("other"));
          record(
              outcome,
              "awaitAhead",
              () -> m.replica().awaitRevision(e.revision() + 10, Duration.ofSeconds(30)));
          record(
              outcome,
              "asyncJoin",
              () -> m.putAsync("y", new byte[] {1}, null).thenApply(r -> r).join());
          outcome.put("done", true);
        });
    long other = m.put("other", new byte[] {0}, null).revision();
    long rev = s.writeAtomically(Map.of("trigger", new byte[] {1}));
    await().atMost(Duration.ofSeconds(5)).until(() -> outcome.containsKey("done"));
    assertThat(outcome.get("getAll")).asString().contains("trigger", "other");
    assertThat(outcome.get("snapshotAt")).isEqualTo(rev);
    assertThat(outcome.get("awaitApplied")).isEqualTo(true);
    for (String call : List.of("refresh", "put", "delete", "awaitAhead", "asyncJoin")) {
      assertThat(outcome.get(call))
          .as(call)
          .asString()
          .startsWith("IllegalStateException")
          .contains("blocking call on the replication thread");
    }
    assertThat(s.entries()).extracting(Versioned::key).doesNotContain("x").contains("other");
    assertThat(other).isLessThan(rev);
    // The replica keeps following; the async write started in the listener went through.
    long later = m.put("z", new byte[] {1}, null).revision();
    assertThat(m.get("z").modRevision()).isEqualTo(later);
    await().until(() -> m.get("y") != null);
  }

  private static void record(Map<String, Object> outcome, String call, Runnable r) {
    try {
      r.run();
      outcome.put(call, "returned");
    } catch (Throwable t) {
      outcome.put(call, t.getClass().getSimpleName() + ": " + t.getMessage());
    }
  }

  /**
   * Results the applier produces (a refresh, a wait for a revision) and results a backend client's
   * I/O thread produces (write answers) reach user callbacks on the configured executor.
   */
  @Test
  void futures_completeOnTheCallbackExecutor() throws Exception {
    ExecutorService user = Executors.newSingleThreadExecutor(r -> new Thread(r, "user-callbacks"));
    nodes.closeLater(user::shutdownNow);
    ManualBackend backend = new ManualBackend(1);
    FakeTime time = new FakeTime();
    Replicator r =
        new Replicator(
            backend,
            Lockstep.builder()
                .backend(backend)
                .keyPrefix("t")
                .randomSeed(1)
                .callbackExecutor(user)
                .config(),
            time,
            time);
    nodes.closeLater(r::close);
    r.start();
    r.idle().orTimeout(5, TimeUnit.SECONDS).join();
    CountDownLatch gate = new CountDownLatch(1);
    r.addListener(
        e -> {
          if (e.key().equals("block")) {
            awaitQuietly(gate); // holds the applier until every callback is chained
          }
        });
    backend.lastFeed().listener().onChanges(2, List.of(Change.put(entry("block", 2))), 2);
    backend.listAt(3, List.of(entry("block", 2)));
    backend.holdWrites();
    List<CompletableFuture<String>> threads = new ArrayList<>();
    threads.add(r.refresh().thenApply(x -> thread()));
    threads.add(r.awaitRevisionAsync(3).thenApply(x -> thread()));
    threads.add(r.putAsync("a", new byte[] {1}, null).thenApply(x -> thread()));
    threads.add(r.deleteAsync("a").thenApply(x -> thread()));
    await().until(() -> backend.heldWrites().size() == 2);
    Thread.ofPlatform()
        .name("backend-io")
        .start(() -> backend.heldWrites().forEach(h -> h.complete(WriteResult.conflict(7, null))))
        .join();
    gate.countDown();
    for (CompletableFuture<String> f : threads) {
      assertThat(f.get(5, TimeUnit.SECONDS)).isEqualTo("user-callbacks");
    }
  }

  @Test
  void futures_byDefault_completeInTheCommonPool() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    ReplicatedMap m = nodes.node(s, b -> b).map();
    CompletableFuture<Long> waiting = m.replica().awaitRevisionAsync(s.revision() + 1);
    CompletableFuture<String> thread = waiting.thenApply(r -> thread());
    s.writeAtomically(Map.of("d", new byte[] {1}));
    assertThat(thread.get(5, TimeUnit.SECONDS)).startsWith("ForkJoinPool.commonPool");
  }

  private static String thread() {
    return Thread.currentThread().getName();
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void awaitQuietly(CountDownLatch gate) {
    try {
      gate.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Calls racing close(): a write the backend never answers, a write committed but not applied, a
   * wait for a revision, and a blocking put on another thread all end with a "closed" exception at
   * once, long before the operation (3 s) and apply (10 s) timeouts.
   */
  @Test
  void callsPendingWhenTheMapCloses_completeWithClosed() throws Exception {
    ManualBackend backend = new ManualBackend(1);
    FakeTime time = new FakeTime();
    Replicator r =
        new Replicator(
            backend,
            Lockstep.builder().backend(backend).keyPrefix("t").randomSeed(1).config(),
            time,
            time);
    nodes.closeLater(r::close);
    r.start();
    r.idle().orTimeout(5, TimeUnit.SECONDS).join();
    backend.holdWrites();
    CompletableFuture<WriteResult> held = r.putAsync("a", new byte[] {1}, null);
    AtomicReference<Throwable> blocking = new AtomicReference<>();
    Thread writer =
        Thread.ofPlatform()
            .start(
                () -> {
                  try {
                    r.put("c", new byte[] {1}, null);
                  } catch (Throwable t) {
                    blocking.set(t);
                  }
                });
    await().until(() -> backend.heldWrites().size() == 2);
    backend.commitWritesAt(5); // committed, but no feed ever delivers revision 5
    CompletableFuture<WriteResult> committed = r.putAsync("b", new byte[] {1}, null);
    CompletableFuture<Long> waiting = r.awaitRevisionAsync(100);
    await() // all three stay pending until the map closes
        .during(Duration.ofMillis(100))
        .atMost(Duration.ofSeconds(1))
        .until(
            () -> List.of(held, committed, waiting).stream().noneMatch(CompletableFuture::isDone));

    long start = System.nanoTime();
    r.close();
    for (CompletableFuture<?> f : List.of(held, committed, waiting)) {
      assertThatThrownBy(() -> f.get(1, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(LockstepException.class)
          .hasMessageContaining("closed");
    }
    writer.join(1000);
    assertThat(blocking.get()).isInstanceOf(LockstepException.class).hasMessageContaining("closed");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
    assertThatThrownBy(() -> r.putAsync("d", new byte[] {1}, null).join())
        .hasMessageContaining("closed");
  }

  /** A listener that overrides onRevision gets each revision's changes in one call. */
  @Test
  void listener_getsEachRevisionAsOneBatch() {
    ManualBackend backend = new ManualBackend(1);
    FakeTime time = new FakeTime();
    Replicator r =
        new Replicator(
            backend,
            Lockstep.builder()
                .backend(backend)
                .keyPrefix("t")
                .randomSeed(1)
                .callbackExecutor(Runnable::run)
                .config(),
            time,
            time);
    nodes.closeLater(r::close);
    r.start();
    r.idle().orTimeout(5, TimeUnit.SECONDS).join();
    List<String> batches = Collections.synchronizedList(new ArrayList<>());
    r.addListener(
        new ChangeListener() {
          @Override
          public void onChange(ChangeEvent event) {
            batches.add("single " + event.key());
          }

          @Override
          public void onRevision(long revision, List<ChangeEvent> events) {
            batches.add(
                revision
                    + ":"
                    + events.stream().map(e -> e.key() + (e.fromRelist() ? "*" : "")).toList());
          }
        });
    List<String> singles = Collections.synchronizedList(new ArrayList<>());
    r.addListener(e -> singles.add(e.key() + "@" + e.revision()));
    backend
        .lastFeed()
        .listener()
        .onChanges(2, List.of(Change.put(entry("a", 2)), Change.put(entry("b", 2))), 2);
    backend.listAt(3, List.of(entry("a", 2), entry("c", 3)));
    CompletableFuture<Long> refreshed = r.refresh();
    r.idle().orTimeout(5, TimeUnit.SECONDS).join();
    assertThat(refreshed)
        .succeedsWithin(Duration.ofSeconds(5))
        .isEqualTo(3L); // via the callback executor
    assertThat(batches).containsExactly("2:[a, b]", "3:[b*, c*]");
    assertThat(singles).containsExactly("a@2", "b@2", "b@3", "c@3");
  }

  private static Versioned entry(String key, long revision) {
    return new Versioned(key, new byte[] {(byte) revision}, "application/octet-stream", revision);
  }
}
