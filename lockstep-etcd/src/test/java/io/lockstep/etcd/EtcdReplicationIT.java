package io.lockstep.etcd;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.KeyValue;
import io.lockstep.BackendUnavailableException;
import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.Member;
import io.lockstep.NotAppliedException;
import io.lockstep.ReadConsistency;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.process.EtcdProcess;
import io.lockstep.testkit.TcpProxy;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Replicas in one JVM, each a Lockstep node with its own etcd client, against a real etcd that each
 * test starts for itself: convergence at scale, compaction while cut off, an outage, and writes by
 * other programs. Convergence is always judged against a fresh listing of etcd.
 */
class EtcdReplicationIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);

  private final String prefix = "repl-" + UUID.randomUUID().toString().substring(0, 8);
  private final List<AutoCloseable> open = new ArrayList<>();
  private EtcdProcess etcd;
  private EtcdSource source;

  @BeforeEach
  void startEtcd() {
    etcd = new EtcdProcess();
    source = new EtcdSource(etcd);
  }

  @AfterEach
  void closeAll() throws Exception {
    Collections.reverse(open);
    for (AutoCloseable c : open) {
      c.close();
    }
    source.close();
    etcd.close();
  }

  private Lockstep node(String uri, UnaryOperator<LockstepBuilder> settings) {
    Lockstep n = settings.apply(Lockstep.builder().backend(uri).keyPrefix(prefix)).build();
    open.add(n);
    return n;
  }

  private Lockstep node() {
    return node(etcd.backendUri(), b -> b);
  }

  private static void awaitReady(List<Lockstep> nodes) {
    await().atMost(PATIENCE).until(() -> nodes.stream().allMatch(n -> n.map().replica().isReady()));
  }

  private void awaitConverged(List<Lockstep> nodes) {
    await().atMost(PATIENCE).until(() -> {
      long expected = source.digest(prefix);
      return nodes.stream().allMatch(n -> n.map().replica().digest() == expected);
    });
  }

  // (a) ------------------------------------------------------------------------------------------

  @Test
  void sixtyFourReplicas_randomPutsAndDeletesFromEightWriters_convergeToTheSourceDigest() throws Exception {
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
      done.add(CompletableFuture.runAsync(() -> {
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
            res = m.put(key, ("{\"writer\":" + seed + ",\"i\":" + i + "}").getBytes(UTF_8), "application/json");
            puts.incrementAndGet();
          }
          lastRevision.accumulateAndGet(res.revision(), Math::max);
        }
      }, writers));
    }
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(2, TimeUnit.MINUTES);
    writers.shutdown();
    long written = System.nanoTime();
    awaitConverged(nodes);
    long converged = System.nanoTime();

    assertThat(puts.get() + deletes.get() + notFound.get()).isEqualTo(2_000);
    assertThat(deletes.get()).as("deletes that hit a key").isPositive();
    assertThat(notFound.get()).as("deletes that missed").isPositive();
    List<Versioned> reference = nodes.get(0).map().list("", 0);
    assertThat(reference).isNotEmpty();
    for (Lockstep n : nodes) {
      assertThat(n.map().list("", 0)).isEqualTo(reference);
      assertThat(n.map().replica().appliedRevision()).isGreaterThanOrEqualTo(lastRevision.get());
    }
    assertThat(nodes.get(0).members().get(10, TimeUnit.SECONDS)).hasSize(64);
    Runtime rt = Runtime.getRuntime();
    System.out.printf("64 replicas: ready in %d ms; %d puts + %d deletes (+%d not found) by 8 writers in %d ms"
            + " (%.0f writes/s); all 64 digests equal to etcd's %d ms after the last write; relists %d;"
            + " %d live threads, %d MiB heap in use%n",
        ms(ready - t0), puts.get(), deletes.get(), notFound.get(), ms(written - ready),
        2_000 * 1e9 / (written - ready), ms(converged - written),
        nodes.stream().mapToLong(n -> n.map().replica().stats().relists()).sum(),
        ManagementFactory.getThreadMXBean().getThreadCount(), (rt.totalMemory() - rt.freeMemory()) >> 20);
  }

  // (b) ------------------------------------------------------------------------------------------

  @Test
  void compaction_whileAReplicaIsCutOff_makesItRelist_andConverge() {
    TcpProxy proxy = new TcpProxy("127.0.0.1", etcd.clientPort());
    open.add(proxy);
    Lockstep writer = node();
    Lockstep cutOff = node("etcd://" + proxy.endpoint(), b -> b);
    awaitReady(List.of(writer, cutOff));
    long seed = writer.map().put("seed", new byte[] {1}, "application/octet-stream").revision();
    assertThat(cutOff.map().replica().awaitRevision(seed, PATIENCE)).isTrue();

    proxy.pause();
    long before = cutOff.map().replica().appliedRevision();
    SplittableRandom r = new SplittableRandom(3);
    int writes = 0;
    while (writes < 150) {
      String key = "k" + r.nextInt(30);
      WriteResult w = r.nextInt(4) == 0 ? writer.map().delete(key) : writer.map().put(key, ("v" + writes).getBytes(UTF_8), "text/plain");
      if (w.isApplied()) {
        writes++;
      }
    }
    long compacted = source.compactAll();
    assertThat(cutOff.map().replica().appliedRevision()).as("the cut-off replica saw none of the writes").isEqualTo(before);
    assertThat(compacted - before).isGreaterThanOrEqualTo(150);
    proxy.cut();
    proxy.resume();

    awaitConverged(List.of(writer, cutOff));
    assertThat(cutOff.map().replica().stats().relists()).isGreaterThanOrEqualTo(1);
    assertThat(cutOff.map().replica().appliedRevision()).isGreaterThanOrEqualTo(compacted);
    assertThat(cutOff.map().list("", 0)).isEqualTo(writer.map().list("", 0));
  }

  // (c) ------------------------------------------------------------------------------------------

  @Test
  void etcdOutage_writesFailFast_localReadsServe_thenEveryNodeConvergesAndReRegisters() throws Exception {
    List<Lockstep> nodes = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      nodes.add(node(etcd.backendUri(), b -> b.operationTimeout(Duration.ofSeconds(2))
          .reconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(1))));
    }
    awaitReady(nodes);
    long stable = nodes.get(0).map().put("stable", "before the outage".getBytes(UTF_8), "text/plain").revision();
    for (Lockstep n : nodes) {
      assertThat(n.map().replica().awaitRevision(stable, PATIENCE)).isTrue();
    }
    await().atMost(PATIENCE).until(() -> memberLeases().size() == 4);
    Map<String, Long> leasesBefore = memberLeases();

    AtomicInteger ok = new AtomicInteger();
    AtomicInteger unavailable = new AtomicInteger();
    AtomicInteger notApplied = new AtomicInteger();
    List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger seq = new AtomicInteger();
    ScheduledExecutorService load = Executors.newScheduledThreadPool(2);
    for (int w = 0; w < 2; w++) {
      ReplicatedMap m = nodes.get(w).map();
      load.scheduleWithFixedDelay(() -> {
        int i = seq.incrementAndGet();
        try {
          m.put("load-" + (i % 25), ("v" + i).getBytes(UTF_8), "text/plain");
          ok.incrementAndGet();
        } catch (BackendUnavailableException e) {
          unavailable.incrementAndGet();
        } catch (NotAppliedException e) {
          notApplied.incrementAndGet(); // committed just before the outage; applied after it
        } catch (RuntimeException e) {
          unexpected.add(e);
        }
      }, 0, 20, TimeUnit.MILLISECONDS);
    }
    try {
      await().atMost(PATIENCE).until(() -> ok.get() >= 20);
      etcd.stop();
      long down = System.nanoTime();
      int failedBefore = unavailable.get();
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> nodes.get(2).map().put("during", new byte[] {1}, null))
          .isInstanceOf(BackendUnavailableException.class);
      assertThatThrownBy(() -> nodes.get(3).map().get("stable", ReadConsistency.STRONG))
          .isInstanceOf(BackendUnavailableException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("failing fast").isLessThan(Duration.ofSeconds(2));
      // Down for a few seconds while the writers keep failing; local reads keep serving.
      await().atMost(PATIENCE).until(() -> unavailable.get() - failedBefore >= 40
          && System.nanoTime() - down >= Duration.ofSeconds(3).toNanos());
      for (Lockstep n : nodes) {
        assertThat(n.map().get("stable").valueAsString()).isEqualTo("before the outage");
        assertThat(n.map().get("stable", ReadConsistency.LOCAL).modRevision()).isEqualTo(stable);
      }
      int okDuring = ok.get();
      etcd.start();
      await().atMost(PATIENCE).until(() -> ok.get() >= okDuring + 20);
    } finally {
      load.shutdown();
      assertThat(load.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(unexpected).isEmpty();
    awaitConverged(nodes);
    for (Lockstep n : nodes) {
      assertThat(n.map().replica().stats().reconnects()).isGreaterThanOrEqualTo(1);
    }
    await().atMost(PATIENCE).until(() -> {
      Map<String, Long> now = memberLeases();
      return now.size() == 4 && now.entrySet().stream().allMatch(e -> !e.getValue().equals(leasesBefore.get(e.getKey())));
    });
    assertThat(nodes.get(0).members().get(10, TimeUnit.SECONDS)).extracting(Member::id)
        .containsExactlyInAnyOrderElementsOf(nodes.stream().map(n -> n.self().id()).toList());
    System.out.printf("outage: %d writes ok, %d failed fast as unavailable, %d committed but applied late%n",
        ok.get(), unavailable.get(), notApplied.get());
  }

  /** Member id to lease id, as etcd holds the records now. */
  private Map<String, Long> memberLeases() {
    Map<String, Long> leases = new HashMap<>();
    for (KeyValue kv : source.list(prefix).getKvs()) {
      String key = kv.getKey().toString(UTF_8);
      String marker = prefix + "/_members/";
      if (key.startsWith(marker)) {
        leases.put(key.substring(marker.length()), kv.getLease());
      }
    }
    return leases;
  }

  // (d) ------------------------------------------------------------------------------------------

  @Test
  void rawJsonWrittenStraightIntoEtcd_reachesEveryNode_andStrongReads_asApplicationJson() {
    List<Lockstep> nodes = List.of(node(), node(), node(), node());
    awaitReady(nodes);
    for (int i = 0; i < 10; i++) {
      source.put(prefix, "ext/k" + i, ("{\"test\": \"value-" + i + "\"}").getBytes(UTF_8));
    }
    source.put(prefix, "ext/k3", "{\"test\": \"changed\"}".getBytes(UTF_8));
    source.delete(prefix, "ext/k4");
    long last = source.put(prefix, "ext/plain", "hello".getBytes(UTF_8));
    for (Lockstep n : nodes) {
      assertThat(n.map().replica().awaitRevision(last, PATIENCE)).isTrue();
    }
    awaitConverged(nodes);
    for (Lockstep n : nodes) {
      ReplicatedMap m = n.map();
      assertThat(m.size()).isEqualTo(10);
      assertThat(m.get("ext/k4")).isNull();
      Versioned k3 = m.get("ext/k3");
      assertThat(k3.contentType()).isEqualTo("application/json");
      assertThat(k3.valueAsString()).isEqualTo("{\"test\": \"changed\"}");
      assertThat(m.get("ext/k3", ReadConsistency.STRONG)).isEqualTo(k3);
      assertThat(m.get("ext/k0").valueAsString()).isEqualTo("{\"test\": \"value-0\"}");
      assertThat(m.get("ext/plain").contentType()).isEqualTo("application/octet-stream");
      assertThat(m.get("ext/plain", ReadConsistency.STRONG).valueAsString()).isEqualTo("hello");
    }
    // And the other way round: JSON written through Lockstep is plain JSON in etcd.
    nodes.get(0).map().put("ours", "{\"a\":1}".getBytes(UTF_8), "application/json");
    KeyValue ours = source.list(prefix).getKvs().stream()
        .filter(kv -> kv.getKey().toString(UTF_8).equals(prefix + "/ours")).findFirst().orElseThrow();
    assertThat(ours.getValue().toString(UTF_8)).isEqualTo("{\"a\":1}");
  }

  // (e) ------------------------------------------------------------------------------------------

  @Test
  void keysUnderMembersWrittenExternally_areNeverVisibleInTheMap() throws Exception {
    Lockstep a = node();
    awaitReady(List.of(a));
    source.put(prefix, "_members/intruder",
        "{\"id\":\"intruder\",\"url\":\"\",\"startedAt\":\"2026-01-01T00:00:00Z\"}".getBytes(UTF_8));
    source.put(prefix, "_members/garbage", "not json".getBytes(UTF_8));
    long sentinel = source.put(prefix, "visible", "{}".getBytes(UTF_8));
    assertThat(a.map().replica().awaitRevision(sentinel, PATIENCE)).isTrue();
    Lockstep b = node(); // lists after the fact: the snapshot path
    awaitReady(List.of(b));
    for (Lockstep n : List.of(a, b)) {
      assertThat(n.map().list("", 0)).extracting(Versioned::key).containsExactly("visible");
      assertThat(n.map().get("_members/intruder")).isNull();
      assertThat(n.map().replica().digest()).isEqualTo(source.digest(prefix));
    }
    assertThatThrownBy(() -> a.map().get("_members/intruder", ReadConsistency.STRONG))
        .isInstanceOf(IllegalArgumentException.class);
    for (int i = 0; i < 20; i++) {
      source.put(prefix + "-neighbour", "k" + i, new byte[] {1}); // other namespaces move the revision on
    }
    await().atMost(PATIENCE).until(() -> a.map().replica().stats().lagRevisions() == 0 && a.map().replica().stats().lagMillis() == 0);
    await().atMost(PATIENCE).until(() -> a.members().get().size() == 3);
    assertThat(a.members().get()).extracting(Member::id)
        .containsExactlyInAnyOrder(a.self().id(), b.self().id(), "intruder");
  }

  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }
}
