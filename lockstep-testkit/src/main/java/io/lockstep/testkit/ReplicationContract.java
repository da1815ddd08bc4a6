package io.lockstep.testkit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.BackendUnavailableException;
import io.lockstep.ChangeEvent;
import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.Member;
import io.lockstep.NotAppliedException;
import io.lockstep.ReadConsistency;
import io.lockstep.ReplicaStats;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.process.LocalServer;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Replication against a real source of truth, written once for every backend that has one (etcd,
 * Redis): many replicas converging, a replica cut off while the source loses the history it needs,
 * the source stopped and started again (with and without load), writes by other programs, and the
 * latency from a write to another replica. Each backend runs it by subclassing ({@code
 * EtcdReplicationIT extends ReplicationContract}); the class name ends in {@code Contract}, so
 * neither surefire nor failsafe runs it on its own.
 *
 * <p>Replicas are Lockstep nodes in this JVM, each with a backend connection of its own.
 * Convergence is always judged against a fresh listing of the source ({@link Source#revisions}),
 * never against another replica alone.
 *
 * <p>A subclass supplies one hook, {@link #source()}: the source's server (which the contract stops
 * and starts, and reaches through a {@link TcpProxy} to cut a replica off), and a raw client of its
 * own that loses history and reads and writes the source behind Lockstep's back. The scenarios stop
 * the source and make it forget history, so a subclass gives <em>each test a source of its
 * own</em>, e.g. with a {@link TestResource} in an instance field; the source must keep its data
 * across a stop and a start. Every test also runs in a namespace of its own ({@link #prefix});
 * nodes are closed after each test, before the source. "Eventually" is Awaitility with {@link
 * #patience()}, never a sleep.
 */
public abstract class ReplicationContract extends NamespacedSuite {
  protected ReplicationContract() {
    super("repl");
  }

  // ---------------------------------------------------------------------------------------------
  // The hook
  // ---------------------------------------------------------------------------------------------

  /**
   * The source of truth of the running test, its own: its server, and a raw client on it that reads
   * and writes behind Lockstep's back.
   */
  protected abstract Source source();

  /**
   * A source of truth as the scenarios drive it: a real server, and a client of its own that
   * bypasses Lockstep (another program, an operator).
   */
  public interface Source {

    /**
     * The server: nodes reach it at its {@linkplain LocalServer#endpoint() endpoint} or through a
     * {@link TcpProxy} in front of it ({@link LocalServer#backendUri(String)}); an outage is a
     * {@linkplain LocalServer#stop() graceful stop} and a {@linkplain LocalServer#start() start} on
     * the same endpoint, which must keep the data.
     */
    LocalServer server();

    /**
     * Makes the source forget the history of changes a replica that fell behind would need to catch
     * up from where it was (etcd: compaction up to now; Redis: a trimmed stream), so that it must
     * list again. Returns the source's revision after it.
     */
    long loseHistory(String keyPrefix);

    /**
     * Writes the JSON document {@code json} under map key {@code key} straight into the source, as
     * another program would (no Lockstep involved); returns the revision of the write.
     */
    long writeExternally(String keyPrefix, String key, byte[] json);

    /**
     * Deletes map key {@code key} straight in the source, as another program would; returns the
     * revision.
     */
    long deleteExternally(String keyPrefix, String key);

    /**
     * A fresh listing of the namespace in the source: map key to modification revision, map entries
     * only (no membership records, no counters).
     */
    Map<String, Long> revisions(String keyPrefix);

    /**
     * {@link Digests#of} over a fresh listing of the namespace (map entries only, values included):
     * what every converged replica's digest equals.
     */
    long digest(String keyPrefix);

    /** The source's current revision, as revisions of writes in this namespace are numbered. */
    long revision(String keyPrefix);

    /**
     * True when the namespace's revision counts its applied map writes and nothing else, one each
     * (Redis); false when other writes move it on too (etcd: one revision for the whole cluster,
     * membership records included). Default false.
     */
    default boolean revisionsCountWrites() {
      return false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers, for the scenarios here and a subclass's own
  // ---------------------------------------------------------------------------------------------

  /**
   * A node on this test's namespace at {@code uri}, built with {@code settings}, closed after the
   * test; not awaited.
   */
  protected final Lockstep node(String uri, UnaryOperator<LockstepBuilder> settings) {
    return closeAfterTest(
        settings.apply(Lockstep.builder().backend(uri).keyPrefix(prefix)).build());
  }

  /** A node on this test's namespace, connected straight to the source; not awaited. */
  protected final Lockstep node() {
    return node(source().server().backendUri(), b -> b);
  }

  /**
   * A node that notices an outage quickly: 2 s operation timeout, reconnect backoff 100 ms to 1 s.
   */
  protected final Lockstep impatientNode() {
    return node(
        source().server().backendUri(),
        b ->
            b.operationTimeout(Duration.ofSeconds(2))
                .reconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(1)));
  }

  /** Waits until every node has applied its first listing. */
  protected final void awaitReady(List<Lockstep> nodes) {
    await()
        .atMost(patience())
        .until(() -> nodes.stream().allMatch(n -> n.map().replica().isReady()));
  }

  /** Waits until {@code node} has applied {@code revision}. */
  protected final void awaitApplied(Lockstep node, long revision) {
    assertThat(node.map().replica().awaitRevision(revision, patience()))
        .as("%s applied revision %d within %s", node.self().id(), revision, patience())
        .isTrue();
  }

  /** Waits until every node's digest equals that of a fresh listing of the source. */
  protected final void awaitConverged(List<Lockstep> nodes) {
    await()
        .atMost(patience())
        .until(
            () -> {
              long expected = sourceDigest(prefix);
              return nodes.stream().allMatch(n -> digest(n) == expected);
            });
  }

  /** {@link Source#digest}: what every converged replica's digest equals. */
  protected final long sourceDigest(String keyPrefix) {
    return source().digest(keyPrefix);
  }

  /** The replica's digest. */
  protected static long digest(Lockstep node) {
    return node.map().replica().digest();
  }

  /** The replica's counters (relists, reconnects, gaps, lag). */
  protected static ReplicaStats stats(Lockstep node) {
    return node.map().replica().stats();
  }

  /** The members {@code node} sees now. */
  protected final List<Member> members(Lockstep node) {
    try {
      return node.members().get(patience().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while listing members", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "listing members from " + node.self().id() + " failed: " + e, e);
    }
  }

  /** Nanoseconds as whole milliseconds, for the printed measurements. */
  protected static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  // ---------------------------------------------------------------------------------------------
  // Convergence at scale
  // ---------------------------------------------------------------------------------------------

  @Test
  void sixtyFourReplicas_randomPutsAndDeletesFromEightWriters_convergeToTheSourceDigest()
      throws Exception {
    List<Lockstep> nodes = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int i = 0; i < 64; i++) {
      nodes.add(node());
    }
    awaitReady(nodes);
    long ready = System.nanoTime();

    ExecutorService writers = Executors.newFixedThreadPool(8);
    AtomicInteger puts = new AtomicInteger();
    AtomicInteger deletes = new AtomicInteger();
    AtomicInteger notFound = new AtomicInteger();
    AtomicLong lastRevision = new AtomicLong();
    List<CompletableFuture<Void>> done = new ArrayList<>();
    for (int w = 0; w < 8; w++) {
      ReplicatedMap m = nodes.get(w * 8).map();
      long seed = 1000 + w;
      done.add(
          CompletableFuture.runAsync(
              () -> {
                SplittableRandom r = new SplittableRandom(seed);
                for (int i = 0; i < 250; i++) {
                  String key = "key-" + r.nextInt(40);
                  WriteResult res;
                  if (r.nextInt(3) == 0) {
                    res = m.delete(key);
                    if (res.isApplied()) {
                      deletes.incrementAndGet();
                    } else {
                      notFound.incrementAndGet();
                    }
                  } else {
                    res =
                        m.put(
                            key,
                            ("{\"writer\":" + seed + ",\"i\":" + i + "}").getBytes(UTF_8),
                            "application/json");
                    puts.incrementAndGet();
                  }
                  lastRevision.accumulateAndGet(res.revision(), Math::max);
                }
              },
              writers));
    }
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(2, TimeUnit.MINUTES);
    writers.shutdown();
    long written = System.nanoTime();
    awaitConverged(nodes);
    long converged = System.nanoTime();

    assertThat(puts.get() + deletes.get() + notFound.get()).isEqualTo(2_000);
    assertThat(deletes.get()).as("deletes that hit a key").isPositive();
    assertThat(notFound.get()).as("deletes that missed").isPositive();
    if (source().revisionsCountWrites()) {
      assertThat(source().revision(prefix))
          .as("one revision per applied write")
          .isEqualTo(puts.get() + deletes.get());
    }
    List<Versioned> reference = nodes.get(0).map().list("", 0);
    assertThat(reference).isNotEmpty();
    for (Lockstep n : nodes) {
      assertThat(n.map().list("", 0)).isEqualTo(reference);
      assertThat(n.map().replica().appliedRevision()).isGreaterThanOrEqualTo(lastRevision.get());
      assertThat(stats(n).gaps()).isZero();
    }
    await().atMost(patience()).until(() -> members(nodes.get(0)).size() == 64);
    Runtime rt = Runtime.getRuntime();
    System.out.printf(
        "64 replicas: ready in %d ms; %d puts + %d deletes (+%d not found) by 8 writers in %d ms"
            + " (%.0f writes/s); all 64 digests equal to the source's %d ms after the last write; relists %d,"
            + " gaps %d; %d live threads, %d MiB heap in use%n",
        ms(ready - t0),
        puts.get(),
        deletes.get(),
        notFound.get(),
        ms(written - ready),
        2_000 * 1e9 / (written - ready),
        ms(converged - written),
        nodes.stream().mapToLong(n -> stats(n).relists()).sum(),
        nodes.stream().mapToLong(n -> stats(n).gaps()).sum(),
        ManagementFactory.getThreadMXBean().getThreadCount(),
        (rt.totalMemory() - rt.freeMemory()) >> 20);
  }

  // ---------------------------------------------------------------------------------------------
  // Lost history
  // ---------------------------------------------------------------------------------------------

  @Test
  void historyLost_whileAReplicaIsCutOff_makesItRelist_andConverge() {
    TcpProxy proxy = closeAfterTest(new TcpProxy("127.0.0.1", source().server().port()));
    Lockstep writer = node();
    Lockstep cutOff = node(source().server().backendUri(proxy.endpoint()), b -> b);
    awaitReady(List.of(writer, cutOff));
    awaitApplied(
        cutOff, writer.map().put("seed", new byte[] {1}, "application/octet-stream").revision());

    proxy.pause();
    long before = cutOff.map().replica().appliedRevision();
    SplittableRandom r = new SplittableRandom(3);
    int writes = 0;
    while (writes < 300) {
      String key = "k" + r.nextInt(30);
      WriteResult w =
          r.nextInt(4) == 0
              ? writer.map().delete(key)
              : writer.map().put(key, ("v" + writes).getBytes(UTF_8), "text/plain");
      if (w.isApplied()) {
        writes++;
      }
    }
    long head = source().loseHistory(prefix);
    assertThat(cutOff.map().replica().appliedRevision())
        .as("the cut-off replica saw none of the writes")
        .isEqualTo(before);
    assertThat(head - before).isGreaterThanOrEqualTo(300);
    proxy.cut();
    proxy.resume();

    awaitConverged(List.of(writer, cutOff));
    assertThat(stats(cutOff).relists()).isGreaterThanOrEqualTo(1);
    assertThat(cutOff.map().replica().appliedRevision()).isGreaterThanOrEqualTo(head);
    assertThat(cutOff.map().list("", 0)).isEqualTo(writer.map().list("", 0));
    assertThat(stats(writer).relists()).as("the replica that kept up never relisted").isZero();
  }

  // ---------------------------------------------------------------------------------------------
  // Outages
  // ---------------------------------------------------------------------------------------------

  @Test
  void sourceRestarted_whileReplicasWrite_theyReconnectAndConverge_andNoAcknowledgedWriteIsLost() {
    List<Lockstep> nodes =
        List.of(impatientNode(), impatientNode(), impatientNode(), impatientNode());
    awaitReady(nodes);
    Map<String, Long> acknowledged = new ConcurrentHashMap<>();
    Load load = new Load();
    for (int w = 0; w < 2; w++) {
      ReplicatedMap m = nodes.get(w).map();
      load.every(
          10,
          seq -> {
            String key = "ack-" + seq;
            acknowledged.put(key, m.put(key, key.getBytes(UTF_8), "text/plain").revision());
          });
    }
    long downMillis;
    try {
      await().atMost(patience()).until(() -> acknowledged.size() >= 50);
      long t0 = System.nanoTime();
      source().server().stop();
      int before = load.unavailable.get();
      await().atMost(patience()).until(() -> load.unavailable.get() - before >= 20);
      source().server().start();
      downMillis = ms(System.nanoTime() - t0);
      int after = acknowledged.size();
      await().atMost(patience()).until(() -> acknowledged.size() >= after + 50);
    } finally {
      load.stop();
    }
    assertThat(load.unexpected).isEmpty();
    awaitConverged(nodes);
    assertThat(source().revisions(prefix)).containsAllEntriesOf(acknowledged);
    for (Lockstep n : nodes) {
      assertThat(stats(n).reconnects()).isGreaterThanOrEqualTo(1);
      for (Map.Entry<String, Long> e : acknowledged.entrySet()) {
        assertThat(n.map().get(e.getKey()).modRevision()).isEqualTo(e.getValue());
      }
    }
    await().atMost(patience()).until(() -> members(nodes.get(0)).size() == 4);
    System.out.printf(
        "restart: down %d ms; %d writes acknowledged and all present after it; %d failed as"
            + " unavailable, %d committed but applied late; relists %d%n",
        downMillis,
        acknowledged.size(),
        load.unavailable.get(),
        load.notApplied.get(),
        nodes.stream().mapToLong(n -> stats(n).relists()).sum());
  }

  @Test
  void sourceDown_writesAndStrongReadsFailFast_localReadsServe_thenEveryReplicaConverges() {
    List<Lockstep> nodes = List.of(impatientNode(), impatientNode(), impatientNode());
    awaitReady(nodes);
    long stable =
        nodes
            .get(0)
            .map()
            .put("stable", "before the outage".getBytes(UTF_8), "text/plain")
            .revision();
    for (Lockstep n : nodes) {
      awaitApplied(n, stable);
    }
    source().server().stop();
    // The first write may still leave on a socket that is going away (then its fate is unknown to
    // the client: mayHaveCommitted, and a backend may try the same request again until its
    // timeout); once the client saw the disconnect, nothing leaves at all: the calls after it fail
    // without waiting out the operation timeout (2 s here).
    assertThatThrownBy(() -> nodes.get(1).map().put("during", new byte[] {1}, null))
        .isInstanceOf(BackendUnavailableException.class);
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> nodes.get(2).map().get("stable", ReadConsistency.STRONG))
        .isInstanceOf(BackendUnavailableException.class);
    assertThatThrownBy(() -> nodes.get(0).map().delete("stable"))
        .isInstanceOf(BackendUnavailableException.class);
    long failMillis = ms(System.nanoTime() - t0);
    assertThat(Duration.ofMillis(failMillis))
        .as("failing without waiting out the operation timeout")
        .isLessThan(Duration.ofSeconds(2));
    await()
        .atMost(patience())
        .until(
            () -> {
              try {
                nodes.get(1).map().put("during", new byte[] {1}, null);
                return false;
              } catch (BackendUnavailableException e) {
                return !e.mayHaveCommitted();
              }
            });
    for (Lockstep n : nodes) {
      assertThat(n.map().get("stable").valueAsString()).isEqualTo("before the outage");
      assertThat(n.map().get("stable", ReadConsistency.LOCAL).modRevision()).isEqualTo(stable);
    }
    source().server().start();
    WriteResult after =
        await()
            .atMost(patience())
            .ignoreExceptions()
            .until(
                () -> nodes.get(1).map().put("after", new byte[] {2}, null),
                WriteResult::isApplied);
    if (source().revisionsCountWrites()) {
      assertThat(after.revision()).as("the next revision after the outage").isEqualTo(stable + 1);
    }
    awaitConverged(nodes);
    for (Lockstep n : nodes) {
      assertThat(n.map().get("stable").modRevision()).isEqualTo(stable);
      assertThat(n.map().get("after").modRevision()).isEqualTo(after.revision());
      assertThat(stats(n).relists()).isZero();
    }
    System.out.printf("outage: 3 operations failed as unavailable in %d ms in all%n", failMillis);
  }

  @Test
  void
      sourceOutage_underLoad_writesFailFast_localReadsServe_thenEveryNodeConvergesAndIsAMemberAgain() {
    List<Lockstep> nodes =
        List.of(impatientNode(), impatientNode(), impatientNode(), impatientNode());
    awaitReady(nodes);
    long stable =
        nodes
            .get(0)
            .map()
            .put("stable", "before the outage".getBytes(UTF_8), "text/plain")
            .revision();
    for (Lockstep n : nodes) {
      awaitApplied(n, stable);
    }
    AtomicInteger ok = new AtomicInteger();
    Load load = new Load();
    for (int w = 0; w < 2; w++) {
      ReplicatedMap m = nodes.get(w).map();
      load.every(
          20,
          seq -> {
            m.put("load-" + (seq % 25), ("v" + seq).getBytes(UTF_8), "text/plain");
            ok.incrementAndGet();
          });
    }
    try {
      await().atMost(patience()).until(() -> ok.get() >= 20);
      source().server().stop();
      long down = System.nanoTime();
      int failedBefore = load.unavailable.get();
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> nodes.get(2).map().put("during", new byte[] {1}, null))
          .isInstanceOf(BackendUnavailableException.class);
      assertThatThrownBy(() -> nodes.get(3).map().get("stable", ReadConsistency.STRONG))
          .isInstanceOf(BackendUnavailableException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - t0))
          .as("failing fast")
          .isLessThan(Duration.ofSeconds(2));
      // Down for a few seconds while the writers keep failing; local reads keep serving.
      await()
          .atMost(patience())
          .until(
              () ->
                  load.unavailable.get() - failedBefore >= 40
                      && System.nanoTime() - down >= Duration.ofSeconds(3).toNanos());
      for (Lockstep n : nodes) {
        assertThat(n.map().get("stable").valueAsString()).isEqualTo("before the outage");
        assertThat(n.map().get("stable", ReadConsistency.LOCAL).modRevision()).isEqualTo(stable);
      }
      int okDuring = ok.get();
      source().server().start();
      await().atMost(patience()).until(() -> ok.get() >= okDuring + 20);
    } finally {
      load.stop();
    }
    assertThat(load.unexpected).isEmpty();
    awaitConverged(nodes);
    for (Lockstep n : nodes) {
      assertThat(stats(n).reconnects()).isGreaterThanOrEqualTo(1);
    }
    await()
        .atMost(patience())
        .untilAsserted(
            () ->
                assertThat(members(nodes.get(0)))
                    .extracting(Member::id)
                    .containsExactlyInAnyOrderElementsOf(
                        nodes.stream().map(n -> n.self().id()).toList()));
    System.out.printf(
        "outage under load: %d writes ok, %d failed fast as unavailable, %d committed but applied"
            + " late%n",
        ok.get(), load.unavailable.get(), load.notApplied.get());
  }

  // ---------------------------------------------------------------------------------------------
  // Other programs
  // ---------------------------------------------------------------------------------------------

  @Test
  void jsonWrittenByAnotherProgram_reachesEveryReplica_andStrongReads_asApplicationJson() {
    List<Lockstep> nodes = List.of(node(), node(), node(), node());
    awaitReady(nodes);
    for (int i = 0; i < 10; i++) {
      source()
          .writeExternally(
              prefix, "ext/k" + i, ("{\"test\": \"value-" + i + "\"}").getBytes(UTF_8));
    }
    source().writeExternally(prefix, "ext/k3", "{\"test\": \"changed\"}".getBytes(UTF_8));
    long last = source().deleteExternally(prefix, "ext/k4");
    for (Lockstep n : nodes) {
      awaitApplied(n, last);
    }
    awaitConverged(nodes);
    for (Lockstep n : nodes) {
      ReplicatedMap m = n.map();
      assertThat(m.size()).isEqualTo(9);
      assertThat(m.get("ext/k4")).isNull();
      Versioned k3 = m.get("ext/k3");
      assertThat(k3.contentType()).isEqualTo("application/json");
      assertThat(k3.valueAsString()).isEqualTo("{\"test\": \"changed\"}");
      assertThat(m.get("ext/k3", ReadConsistency.STRONG)).isEqualTo(k3);
      assertThat(m.get("ext/k0").valueAsString()).isEqualTo("{\"test\": \"value-0\"}");
      assertThat(m.get("ext/k0").contentType()).isEqualTo("application/json");
    }
    assertThat(source().revisions(prefix))
        .hasSize(9)
        .containsEntry("ext/k3", nodes.get(0).map().get("ext/k3").modRevision());
  }

  // ---------------------------------------------------------------------------------------------
  // Measurements
  // ---------------------------------------------------------------------------------------------

  @Test
  void writeLatency_andWriteToAppliedOnAnotherReplica_measured() {
    Lockstep a = node();
    Lockstep b = node();
    awaitReady(List.of(a, b));
    Map<Long, Long> seenAt = new ConcurrentHashMap<>();
    b.map().addListener((ChangeEvent e) -> seenAt.put(e.revision(), System.nanoTime()));
    int n = 1000;
    long[] write = new long[n];
    long[] propagation = new long[n];
    long[] revs = new long[n];
    long[] sentAt = new long[n];
    for (int i = 0; i < n; i++) {
      long s = System.nanoTime();
      WriteResult w = a.map().put("k" + (i % 50), ("v" + i).getBytes(UTF_8), "text/plain");
      write[i] = System.nanoTime() - s;
      revs[i] = w.revision();
      sentAt[i] = s;
    }
    long last = revs[n - 1];
    awaitApplied(b, last);
    await().atMost(patience()).until(() -> seenAt.containsKey(last));
    for (int i = 0; i < n; i++) {
      propagation[i] = seenAt.get(revs[i]) - sentAt[i];
    }
    int warm = 200;
    long[] w = Arrays.copyOfRange(write, warm, n);
    long[] p = Arrays.copyOfRange(propagation, warm, n);
    Arrays.sort(w);
    Arrays.sort(p);
    System.out.printf(
        "latency over %d sequential puts (after %d warm-up): put p50 %.0f us p99 %.0f us;"
            + " put start to applied on another replica p50 %.0f us p99 %.0f us%n",
        n - warm,
        warm,
        w[w.length / 2] / 1e3,
        w[w.length * 99 / 100] / 1e3,
        p[p.length / 2] / 1e3,
        p[p.length * 99 / 100] / 1e3);
    assertThat(stats(b).gaps()).isZero();
    assertThat(stats(b).relists()).isZero();
    assertThat(members(a))
        .extracting(Member::id)
        .containsExactlyInAnyOrder(a.self().id(), b.self().id());
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  /**
   * A write done over and over by the load of an outage scenario; the argument counts all writes.
   */
  @FunctionalInterface
  private interface Write {
    void run(int seq);
  }

  /**
   * Writers on a schedule that count how their writes fail: unavailable (the outage), not applied
   * (committed just before it, applied after it: not counted as acknowledged), anything else (a
   * failure of the test).
   */
  private static final class Load {
    final ScheduledExecutorService pool = Executors.newScheduledThreadPool(2);
    final AtomicInteger seq = new AtomicInteger();
    final AtomicInteger unavailable = new AtomicInteger();
    final AtomicInteger notApplied = new AtomicInteger();
    final List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());

    void every(long millis, Write write) {
      pool.scheduleWithFixedDelay(
          () -> {
            try {
              write.run(seq.incrementAndGet());
            } catch (BackendUnavailableException e) {
              unavailable.incrementAndGet();
            } catch (NotAppliedException e) {
              notApplied.incrementAndGet();
            } catch (RuntimeException e) {
              unexpected.add(e);
            }
          },
          0,
          millis,
          TimeUnit.MILLISECONDS);
    }

    /** Stops the writers and waits for them. */
    void stop() {
      pool.shutdown();
      try {
        assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).as("writers stopped").isTrue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }
}
