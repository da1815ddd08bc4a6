package io.lockstep.redis;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.BackendUnavailableException;
import io.lockstep.ChangeEvent;
import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.Member;
import io.lockstep.NotAppliedException;
import io.lockstep.ReadConsistency;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.process.RedisProcess;
import io.lockstep.testkit.TcpProxy;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Replicas in one JVM, each a Lockstep node with its own Redis connections, against a real Redis
 * that each test starts for itself: convergence at scale, a restart, a trimmed stream, writes by
 * other programs, an outage. Convergence is always judged against a fresh listing of Redis.
 */
class RedisReplicationIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);

  private final String prefix = "repl-" + UUID.randomUUID().toString().substring(0, 8);
  private final List<AutoCloseable> open = new ArrayList<>();
  private RedisProcess redis;
  private RedisSource source;

  private void startRedis(RedisProcess process, long streamMaxLen) {
    redis = process;
    source = new RedisSource(redis, streamMaxLen);
  }

  @AfterEach
  void closeAll() throws Exception {
    Collections.reverse(open);
    for (AutoCloseable c : open) {
      c.close();
    }
    if (source != null) {
      source.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  private Lockstep node(String uri, UnaryOperator<LockstepBuilder> settings) {
    Lockstep n = settings.apply(Lockstep.builder().backend(uri).keyPrefix(prefix)).build();
    open.add(n);
    return n;
  }

  private Lockstep node() {
    return node(redis.backendUri(), b -> b);
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
    startRedis(new RedisProcess(), RedisSettings.DEFAULT_STREAM_MAX_LEN);
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
    assertThat(source.revision(prefix)).as("one revision per applied write").isEqualTo(puts.get() + deletes.get());
    List<Versioned> reference = nodes.get(0).map().list("", 0);
    assertThat(reference).isNotEmpty();
    for (Lockstep n : nodes) {
      assertThat(n.map().list("", 0)).isEqualTo(reference);
      assertThat(n.map().replica().appliedRevision()).isGreaterThanOrEqualTo(lastRevision.get());
      assertThat(n.map().replica().stats().gaps()).isZero();
    }
    await().atMost(PATIENCE).until(() -> nodes.get(0).members().get(10, TimeUnit.SECONDS).size() == 64);
    Runtime rt = Runtime.getRuntime();
    System.out.printf("64 replicas: ready in %d ms; %d puts + %d deletes (+%d not found) by 8 writers in %d ms"
            + " (%.0f writes/s); all 64 digests equal to Redis's %d ms after the last write; relists %d, gaps %d;"
            + " %d live threads, %d MiB heap in use%n",
        ms(ready - t0), puts.get(), deletes.get(), notFound.get(), ms(written - ready),
        2_000 * 1e9 / (written - ready), ms(converged - written),
        nodes.stream().mapToLong(n -> n.map().replica().stats().relists()).sum(),
        nodes.stream().mapToLong(n -> n.map().replica().stats().gaps()).sum(),
        ManagementFactory.getThreadMXBean().getThreadCount(), (rt.totalMemory() - rt.freeMemory()) >> 20);
  }

  // (b) ------------------------------------------------------------------------------------------

  @Test
  void redisRestartedWithAof_whileReplicasRun_theyReconnectAndConverge_andNoAcknowledgedWriteIsLost() throws Exception {
    startRedis(RedisProcess.withAof(), RedisSettings.DEFAULT_STREAM_MAX_LEN);
    List<Lockstep> nodes = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      nodes.add(node(redis.backendUri(), b -> b.operationTimeout(Duration.ofSeconds(2))
          .reconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(1))));
    }
    awaitReady(nodes);
    Map<String, Long> acknowledged = new ConcurrentHashMap<>();
    AtomicInteger unavailable = new AtomicInteger();
    AtomicInteger notApplied = new AtomicInteger();
    List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger seq = new AtomicInteger();
    ScheduledExecutorService load = Executors.newScheduledThreadPool(2);
    for (int w = 0; w < 2; w++) {
      ReplicatedMap m = nodes.get(w).map();
      load.scheduleWithFixedDelay(() -> {
        String key = "ack-" + seq.incrementAndGet();
        try {
          acknowledged.put(key, m.put(key, key.getBytes(UTF_8), "text/plain").revision());
        } catch (BackendUnavailableException e) {
          unavailable.incrementAndGet();
        } catch (NotAppliedException e) {
          notApplied.incrementAndGet(); // committed, applied late: not counted as acknowledged
        } catch (RuntimeException e) {
          unexpected.add(e);
        }
      }, 0, 10, TimeUnit.MILLISECONDS);
    }
    long downMillis;
    try {
      await().atMost(PATIENCE).until(() -> acknowledged.size() >= 50);
      long t0 = System.nanoTime();
      redis.stop();
      int before = unavailable.get();
      await().atMost(PATIENCE).until(() -> unavailable.get() - before >= 20);
      redis.start();
      downMillis = ms(System.nanoTime() - t0);
      int after = acknowledged.size();
      await().atMost(PATIENCE).until(() -> acknowledged.size() >= after + 50);
    } finally {
      load.shutdown();
      assertThat(load.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(unexpected).isEmpty();
    awaitConverged(nodes);
    Map<byte[], byte[]> stored = source.redis().hgetall(RedisSource.b(prefix + ":data"));
    Map<String, Long> inRedis = new java.util.HashMap<>();
    stored.forEach((k, v) -> inRedis.put(new String(k, UTF_8), RedisValueCodec.decodeEnvelope(new String(k, UTF_8), v).modRevision()));
    assertThat(inRedis).containsAllEntriesOf(acknowledged);
    for (Lockstep n : nodes) {
      assertThat(n.map().replica().stats().reconnects()).isGreaterThanOrEqualTo(1);
      for (Map.Entry<String, Long> e : acknowledged.entrySet()) {
        assertThat(n.map().get(e.getKey()).modRevision()).isEqualTo(e.getValue());
      }
    }
    await().atMost(PATIENCE).until(() -> nodes.get(0).members().get(5, TimeUnit.SECONDS).size() == 4);
    System.out.printf("restart: down %d ms; %d writes acknowledged and all present after it; %d failed as"
            + " unavailable, %d committed but applied late; relists %d%n", downMillis, acknowledged.size(),
        unavailable.get(), notApplied.get(), nodes.stream().mapToLong(n -> n.map().replica().stats().relists()).sum());
  }

  // (c) ------------------------------------------------------------------------------------------

  @Test
  void trimmedStream_whileAReplicaIsCutOff_makesItRelist_andConverge() {
    startRedis(new RedisProcess(), 50);
    TcpProxy proxy = new TcpProxy("127.0.0.1", redis.port());
    open.add(proxy);
    Lockstep writer = node(redis.backendUri() + "?stream_max_len=50", b -> b);
    Lockstep cutOff = node("redis://" + proxy.endpoint() + "?stream_max_len=50", b -> b);
    awaitReady(List.of(writer, cutOff));
    long seed = writer.map().put("seed", new byte[] {1}, "application/octet-stream").revision();
    assertThat(cutOff.map().replica().awaitRevision(seed, PATIENCE)).isTrue();

    proxy.pause();
    long before = cutOff.map().replica().appliedRevision();
    SplittableRandom r = new SplittableRandom(3);
    int writes = 0;
    while (writes < 300) {
      String key = "k" + r.nextInt(30);
      WriteResult w = r.nextInt(4) == 0 ? writer.map().delete(key) : writer.map().put(key, ("v" + writes).getBytes(UTF_8), "text/plain");
      if (w.isApplied()) {
        writes++;
      }
    }
    assertThat(source.streamLength(prefix)).as("MAXLEN ~ 50 trims as it goes").isLessThan(300);
    source.trim(prefix, 10);
    long head = source.revision(prefix);
    assertThat(cutOff.map().replica().appliedRevision()).as("the cut-off replica saw none of the writes").isEqualTo(before);
    proxy.cut();
    proxy.resume();

    awaitConverged(List.of(writer, cutOff));
    assertThat(cutOff.map().replica().stats().relists()).isGreaterThanOrEqualTo(1);
    assertThat(cutOff.map().replica().appliedRevision()).isGreaterThanOrEqualTo(head);
    assertThat(cutOff.map().list("", 0)).isEqualTo(writer.map().list("", 0));
    assertThat(writer.map().replica().stats().relists()).as("the replica that kept up never relisted").isZero();
  }

  // (d) ------------------------------------------------------------------------------------------

  @Test
  void writesByAnotherProgramThroughTheScript_reachEveryReplica_andStrongReads() {
    startRedis(new RedisProcess(), RedisSettings.DEFAULT_STREAM_MAX_LEN);
    List<Lockstep> nodes = List.of(node(), node(), node(), node());
    awaitReady(nodes);
    source.redis().scriptFlush(); // the other program's first EVALSHA meets NOSCRIPT and falls back to EVAL
    for (int i = 0; i < 10; i++) {
      source.put(prefix, "ext/k" + i, ("{\"test\": \"value-" + i + "\"}").getBytes(UTF_8), "application/json");
    }
    source.put(prefix, "ext/k3", "{\"test\": \"changed\"}".getBytes(UTF_8), "application/json");
    source.delete(prefix, "ext/k4");
    long k3 = (Long) source.write(prefix, "put", "ext/k3", 0, "text/plain", new byte[] {9}).get(1);
    assertThat(source.write(prefix, "del", "ext/nothing", -1, "", new byte[0]).get(0)).isEqualTo(2L);
    long last = (Long) source.put(prefix, "ext/bin", new byte[] {0, (byte) 0xff, ':', '\n'}, "application/octet-stream").get(1);
    for (Lockstep n : nodes) {
      assertThat(n.map().replica().awaitRevision(last, PATIENCE)).isTrue();
    }
    awaitConverged(nodes);
    for (Lockstep n : nodes) {
      ReplicatedMap m = n.map();
      assertThat(m.size()).isEqualTo(10);
      assertThat(m.get("ext/k4")).isNull();
      Versioned v3 = m.get("ext/k3");
      assertThat(v3.contentType()).isEqualTo("application/json");
      assertThat(v3.modRevision()).as("the conditional write lost: CONFLICT with the current revision").isEqualTo(k3);
      assertThat(v3.valueAsString()).isEqualTo("{\"test\": \"changed\"}");
      assertThat(m.get("ext/k3", ReadConsistency.STRONG)).isEqualTo(v3);
      assertThat(m.get("ext/bin").value()).isEqualTo(new byte[] {0, (byte) 0xff, ':', '\n'});
    }
    // And the other way round: what Lockstep writes, another program reads with HGET.
    WriteResult ours = nodes.get(0).map().put("ours", "{\"a\":1}".getBytes(UTF_8), "application/json");
    byte[] env = source.redis().hget(RedisSource.b(prefix + ":data"), RedisSource.b("ours"));
    assertThat(new String(env, UTF_8)).isEqualTo(ours.revision() + ":16:application/json{\"a\":1}");
  }

  // (e) ------------------------------------------------------------------------------------------

  @Test
  void redisDown_writesAndStrongReadsFailFast_localReadsServe_thenEveryReplicaConverges() {
    startRedis(RedisProcess.withAof(), RedisSettings.DEFAULT_STREAM_MAX_LEN);
    List<Lockstep> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      nodes.add(node(redis.backendUri(), b -> b.operationTimeout(Duration.ofSeconds(2))
          .reconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(1))));
    }
    awaitReady(nodes);
    long stable = nodes.get(0).map().put("stable", "before the outage".getBytes(UTF_8), "text/plain").revision();
    for (Lockstep n : nodes) {
      assertThat(n.map().replica().awaitRevision(stable, PATIENCE)).isTrue();
    }
    redis.stop();
    long t0 = System.nanoTime();
    // The first write may still leave on a socket that is going away (then its fate is unknown to
    // the client: mayHaveCommitted); once the client saw the disconnect, nothing leaves at all.
    assertThatThrownBy(() -> nodes.get(1).map().put("during", new byte[] {1}, null))
        .isInstanceOf(BackendUnavailableException.class);
    assertThatThrownBy(() -> nodes.get(2).map().get("stable", ReadConsistency.STRONG))
        .isInstanceOf(BackendUnavailableException.class);
    assertThatThrownBy(() -> nodes.get(0).map().delete("stable")).isInstanceOf(BackendUnavailableException.class);
    long failMillis = ms(System.nanoTime() - t0);
    assertThat(Duration.ofMillis(failMillis)).as("failing fast").isLessThan(Duration.ofSeconds(1));
    await().atMost(PATIENCE).until(() -> {
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
    redis.start();
    WriteResult after = await().atMost(PATIENCE).ignoreExceptions()
        .until(() -> nodes.get(1).map().put("after", new byte[] {2}, null), WriteResult::isApplied);
    assertThat(after.revision()).isEqualTo(stable + 1);
    awaitConverged(nodes);
    for (Lockstep n : nodes) {
      assertThat(n.map().get("stable").modRevision()).isEqualTo(stable);
      assertThat(n.map().get("after").modRevision()).isEqualTo(after.revision());
      assertThat(n.map().replica().stats().relists()).isZero();
    }
    System.out.printf("outage: 3 operations failed as unavailable in %d ms in all%n", failMillis);
  }

  // Measurements ---------------------------------------------------------------------------------

  @Test
  void writeLatency_andWriteToAppliedOnAnotherReplica_measured() throws Exception {
    startRedis(new RedisProcess(), RedisSettings.DEFAULT_STREAM_MAX_LEN);
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
    assertThat(b.map().replica().awaitRevision(last, PATIENCE)).isTrue();
    await().atMost(PATIENCE).until(() -> seenAt.containsKey(last));
    for (int i = 0; i < n; i++) {
      propagation[i] = seenAt.get(revs[i]) - sentAt[i];
    }
    int warm = 200;
    long[] w = Arrays.copyOfRange(write, warm, n);
    long[] p = Arrays.copyOfRange(propagation, warm, n);
    Arrays.sort(w);
    Arrays.sort(p);
    System.out.printf("latency over %d sequential puts (after %d warm-up): put p50 %.0f us p99 %.0f us;"
            + " put start to applied on another replica p50 %.0f us p99 %.0f us%n", n - warm, warm,
        w[w.length / 2] / 1e3, w[w.length * 99 / 100] / 1e3, p[p.length / 2] / 1e3, p[p.length * 99 / 100] / 1e3);
    assertThat(b.map().replica().stats().gaps()).isZero();
    assertThat(b.map().replica().stats().relists()).isZero();
    assertThat(a.members().get(5, TimeUnit.SECONDS)).extracting(Member::id)
        .containsExactlyInAnyOrder(a.self().id(), b.self().id());
  }

  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }
}
