package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.FreePorts;
import io.lockstep.process.RedisProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The replicas request counter on real processes: 3,000 {@code GET /count} from 64 concurrent
 * clients, round-robin over 3 instances, on Redis, etcd and the peer backend; totals exact, every
 * cluster number unique; totals survive restarting everything; an instance killed mid-load loses no
 * acknowledged increment; Redis down answers 503 and counting resumes exactly.
 */
class CountIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What the clients saw: every acknowledged cluster number, and the highest instance number per
   * instance.
   */
  record Load(
      Set<Long> clusterNumbers, Map<String, Long> instanceMax, int acknowledged, int failed) {}

  static Load load(List<ServerProcess> nodes, int requests, int clients, Runnable midway)
      throws Exception {
    Set<Long> numbers = ConcurrentHashMap.newKeySet();
    Map<String, Long> instanceMax = new ConcurrentHashMap<>();
    AtomicInteger next = new AtomicInteger();
    AtomicInteger acked = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicInteger duplicates = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<Future<?>> done = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      done.add(
          pool.submit(
              () -> {
                for (int i; (i = next.getAndIncrement()) < requests; ) {
                  if (i == requests / 2 && midway != null) {
                    midway.run();
                  }
                  ServerProcess n = nodes.get(i % nodes.size());
                  try {
                    Http.Resp r = Http.raw(n.url(), "GET", "/count", null);
                    if (r.status() != 200) {
                      failed.incrementAndGet();
                      continue;
                    }
                    JsonNode j = JSON.readTree(r.body());
                    if (!numbers.add(j.get("cluster_requests").asLong())) {
                      duplicates.incrementAndGet();
                    }
                    instanceMax.merge(
                        j.get("instance").asText(), j.get("instance_requests").asLong(), Math::max);
                    acked.incrementAndGet();
                  } catch (UncheckedIOException e) {
                    failed.incrementAndGet(); // no answer: not acknowledged
                  }
                }
                return null;
              }));
    }
    for (Future<?> f : done) {
      f.get(5, TimeUnit.MINUTES);
    }
    pool.shutdown();
    assertThat(duplicates.get()).as("cluster numbers handed out twice").isZero();
    return new Load(numbers, instanceMax, acked.get(), failed.get());
  }

  static long total(ServerProcess n) throws Exception {
    Http.Resp r = Http.raw(n.url(), "GET", "/counters/requests", null);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode j = JSON.readTree(r.body());
    return j.has("value") ? j.get("value").asLong() : j.path("count").asLong();
  }

  static void assertExact(Load l, int requests) {
    assertThat(l.failed()).isZero();
    assertThat(l.acknowledged()).isEqualTo(requests);
    assertThat(l.clusterNumbers()).hasSize(requests);
    assertThat(l.clusterNumbers().stream().mapToLong(Long::longValue).max().orElse(0))
        .isEqualTo(requests);
    assertThat(l.instanceMax().values().stream().mapToLong(Long::longValue).sum())
        .isEqualTo(requests);
  }

  @Test
  void redis_exactUnderLoad_durable_killMidLoad_and503WhileDown() throws Exception {
    try (RedisProcess redis = RedisProcess.withAof();
        ServerCluster cluster =
            ServerCluster.builder(redis.backendUri()).instances(3).keyPrefix("count").start()) {
      List<ServerProcess> nodes = cluster.nodes();
      Load first = load(nodes, 3000, 64, null);
      assertExact(first, 3000);
      assertThat(total(nodes.get(0))).isEqualTo(3000);

      // Durable: every instance and Redis restarted; the total is kept.
      nodes.forEach(ServerProcess::stop);
      redis.restart();
      for (ServerProcess n : nodes) {
        n.start();
      }
      for (ServerProcess n : nodes) {
        n.awaitReady(Duration.ofSeconds(60));
      }
      assertThat(total(nodes.get(1))).isEqualTo(3000);

      // An instance killed mid-load and replaced: no acknowledged increment is lost.
      ServerProcess victim = nodes.get(2);
      Load second =
          load(
              nodes,
              1500,
              64,
              () -> {
                victim.kill();
                victim.start();
              });
      victim.awaitReady(Duration.ofSeconds(60));
      // The two instances that were never killed answer all of their share (every third request
      // goes to the victim), so the check below is about real traffic, not an empty run.
      assertThat(second.acknowledged())
          .as("requests acknowledged while one of three instances was killed")
          .isGreaterThanOrEqualTo(1500 * 2 / 3);
      assertThat(second.failed())
          .as("only the victim's share may fail")
          .isLessThanOrEqualTo(1500 / 3);
      long after = total(nodes.get(0));
      assertThat(after - 3000)
          .as("increments committed")
          .isGreaterThanOrEqualTo(second.acknowledged());
      assertThat(second.clusterNumbers()).allSatisfy(v -> assertThat(v).isBetween(3001L, after));

      // Redis down: 503, and no count moves; afterwards counting resumes exactly.
      redis.stop();
      Http.Resp down = Http.raw(nodes.get(0).url(), "GET", "/count", null);
      assertThat(down.status()).isEqualTo(503);
      assertThat(JSON.readTree(down.body()).get("error").asText()).isEqualTo("backend_unavailable");
      redis.start();
      Http.Resp back =
          await()
              .atMost(Duration.ofSeconds(30))
              .pollInterval(Duration.ofMillis(100))
              .until(
                  () -> Http.raw(nodes.get(0).url(), "GET", "/count", null),
                  r -> r.status() == 200);
      assertThat(JSON.readTree(back.body()).get("cluster_requests").asLong()).isEqualTo(after + 1);
    }
  }

  @Test
  void etcd_exactUnderLoad_andDurable() throws Exception {
    try (EtcdProcess etcd = new EtcdProcess();
        ServerCluster cluster =
            ServerCluster.builder(etcd.backendUri()).instances(3).keyPrefix("count").start()) {
      List<ServerProcess> nodes = cluster.nodes();
      assertExact(load(nodes, 3000, 64, null), 3000);
      nodes.forEach(ServerProcess::stop);
      etcd.restart();
      for (ServerProcess n : nodes) {
        n.start().awaitReady(Duration.ofSeconds(60));
      }
      assertThat(total(nodes.get(2))).isEqualTo(3000);
    }
  }

  @Test
  void peer_exactUnderLoad_andDurable() throws Exception {
    Path data = Files.createTempDirectory("lockstep-count-");
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ports.add(FreePorts.one());
    }
    String voters =
        "127.0.0.1:" + ports.get(0) + ",127.0.0.1:" + ports.get(1) + ",127.0.0.1:" + ports.get(2);
    Map<Integer, String> uris = new HashMap<>();
    for (int i = 0; i < 3; i++) {
      uris.put(
          i,
          "peer://"
              + voters
              + "?bind=127.0.0.1:"
              + ports.get(i)
              + "&data="
              + data.resolve("n" + i));
    }
    try (ServerCluster cluster =
        ServerCluster.builder("peer://" + voters)
            .backend(uris::get)
            .instances(3)
            .keyPrefix("count")
            .start()) {
      List<ServerProcess> nodes = cluster.nodes();
      assertExact(load(nodes, 3000, 64, null), 3000);
      nodes.forEach(ServerProcess::stop);
      for (ServerProcess n : nodes) {
        n.start();
      }
      for (ServerProcess n : nodes) {
        n.awaitReady(Duration.ofSeconds(60));
      }
      assertThat(total(nodes.get(1))).isEqualTo(3000);
    } finally {
      TempDirs.deleteTree(data);
    }
  }
}
