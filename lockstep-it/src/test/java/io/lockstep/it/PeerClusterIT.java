package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.FreePorts;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import io.lockstep.testkit.NetLab;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Five real server processes on the embedded peer backend (3 Raft voters, 2 non-voters): random
 * writes through all of them converge; a process started late gets the full state; a process killed
 * with SIGKILL leaves the view while the others keep serving, and converges when restarted; a 3|2
 * partition on the real transport (network namespaces cut with nftables) leaves only the majority
 * side writable, the minority serving reads, and after healing every acknowledged write everywhere.
 */
class PeerClusterIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  static JsonNode stats(ServerProcess n) {
    try {
      return JSON.readTree(Http.raw(n.url(), "GET", "/stats", null).body());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static void awaitEqualDigests(List<ServerProcess> nodes, Duration atMost) {
    await()
        .atMost(atMost)
        .pollInterval(Duration.ofMillis(200))
        .untilAsserted(
            () -> {
              Set<String> digests = new HashSet<>();
              Set<Long> applied = new HashSet<>();
              for (ServerProcess n : nodes) {
                JsonNode s = stats(n);
                digests.add(s.get("digest").asText());
                applied.add(s.get("appliedRevision").asLong());
              }
              assertThat(digests).as("digests").hasSize(1);
              assertThat(applied).as("applied revisions").hasSize(1);
            });
  }

  @Test
  void fiveProcesses_randomWrites_lateStart_sigkillAndRestart_allConverge() throws Exception {
    Path data = Files.createTempDirectory("lockstep-peer-it-");
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ports.add(FreePorts.one());
    }
    String voters =
        "127.0.0.1:" + ports.get(0) + ",127.0.0.1:" + ports.get(1) + ",127.0.0.1:" + ports.get(2);
    try (ServerCluster cluster =
        ServerCluster.builder("peer://" + voters)
            .backend(
                i ->
                    "peer://"
                        + voters
                        + "?bind=127.0.0.1:"
                        + ports.get(i)
                        + "&data="
                        + data.resolve("node-" + i))
            .instances(5)
            .startOnly(4)
            .keyPrefix("peer-it")
            .start()) {
      List<ServerProcess> running = cluster.nodes().subList(0, 4);

      // 2,000 random puts and deletes through the four running processes, from 8 writers.
      ExecutorService writers = Executors.newFixedThreadPool(8);
      AtomicInteger ok = new AtomicInteger();
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < 8; w++) {
        int seed = w;
        done.add(
            writers.submit(
                () -> {
                  Random r = new Random(seed);
                  for (int i = 0; i < 250; i++) {
                    ServerProcess n = running.get(r.nextInt(running.size()));
                    String k = "k" + r.nextInt(150);
                    Http.Resp resp =
                        r.nextInt(4) == 0
                            ? Http.delete(n.url(), k)
                            : Http.put(n.url(), k, "\"" + seed + "-" + i + "\"");
                    assertThat(resp.status()).as(resp.body()).isIn(200, 204, 404);
                    ok.incrementAndGet();
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      writers.shutdown();
      assertThat(ok.get()).isEqualTo(2000);
      awaitEqualDigests(running, Duration.ofSeconds(30));

      // A process started late gets the full state.
      ServerProcess late = cluster.node(4).start().awaitReady(Duration.ofSeconds(60));
      awaitEqualDigests(cluster.nodes(), Duration.ofSeconds(30));
      assertThat(stats(late).get("keys").asInt())
          .isEqualTo(stats(cluster.node(0)).get("keys").asInt());

      // A voter killed with SIGKILL leaves the view; the others keep serving; restarted, it
      // converges.
      ServerProcess victim = cluster.node(1);
      victim.kill();
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                JsonNode c =
                    JSON.readTree(Http.raw(cluster.node(0).url(), "GET", "/cluster", null).body());
                List<String> ids = new ArrayList<>();
                c.get("members").forEach(m -> ids.add(m.get("id").asText()));
                assertThat(ids)
                    .doesNotContain(victim.id())
                    .contains("node-1", "node-3", "node-4", "node-5");
              });
      for (int i = 0; i < 50; i++) {
        assertThat(
                Http.put(cluster.node(i % 2 == 0 ? 0 : 2).url(), "after-kill-" + i, "1").status())
            .isEqualTo(200);
      }
      victim.start().awaitReady(Duration.ofSeconds(60));
      awaitEqualDigests(cluster.nodes(), Duration.ofSeconds(30));
      assertThat(Http.get(victim.url(), "after-kill-49", "").status()).isEqualTo(200);
    } finally {
      TempDirs.deleteTree(data);
    }
  }

  @Test
  void partition3to2_majorityWrites_minorityRefusesAndReads_healedAllConverge() throws Exception {
    Path data = Files.createTempDirectory("lockstep-peer-it-");
    try (NetLab lab = NetLab.create(5)) {
      int raftPort = 7800;
      String voters =
          lab.address(0)
              + ":"
              + raftPort
              + ","
              + lab.address(1)
              + ":"
              + raftPort
              + ","
              + lab.address(2)
              + ":"
              + raftPort;
      try (ServerCluster cluster =
          ServerCluster.builder("peer://" + voters)
              .backend(
                  i ->
                      "peer://"
                          + voters
                          + "?bind="
                          + lab.address(i)
                          + ":"
                          + raftPort
                          + "&data="
                          + data.resolve("node-" + i))
              .hosts(lab)
              .instances(5)
              .keyPrefix("peer-partition")
              .start()) {
        List<ServerProcess> all = cluster.nodes();
        Http.put(all.get(0).url(), "before", "\"partition\"");
        awaitEqualDigests(all, Duration.ofSeconds(20));

        // Majority: voters 0 and 1 with non-voter 3. Minority: voter 2 with non-voter 4.
        List<ServerProcess> majority = List.of(all.get(0), all.get(1), all.get(3));
        List<ServerProcess> minority = List.of(all.get(2), all.get(4));
        lab.partition(Set.of(0, 1, 3), Set.of(2, 4));

        Map<String, String> acknowledged = new ConcurrentHashMap<>();
        await()
            .atMost(Duration.ofSeconds(30))
            .untilAsserted(
                () -> {
                  String k = "maj-probe-" + System.nanoTime();
                  assertThat(Http.put(majority.get(0).url(), k, "1").status()).isEqualTo(200);
                  acknowledged.put(k, "1");
                });
        for (int i = 0; i < 30; i++) {
          ServerProcess n = majority.get(i % majority.size());
          String k = "during-" + i;
          Http.Resp r = Http.put(n.url(), k, "\"" + i + "\"");
          assertThat(r.status())
              .as("majority write through %s: %s", n.id(), r.body())
              .isEqualTo(200);
          acknowledged.put(k, "\"" + i + "\"");
        }
        for (ServerProcess n : minority) {
          await()
              .atMost(Duration.ofSeconds(30))
              .untilAsserted(
                  () -> {
                    Http.Resp r = Http.put(n.url(), "minority-" + n.id(), "1");
                    assertThat(r.status())
                        .as("minority write through %s: %s", n.id(), r.body())
                        .isEqualTo(503);
                  });
          Http.Resp read = Http.get(n.url(), "before", "use_cache=true");
          assertThat(read.status()).isEqualTo(200);
          assertThat(read.body()).isEqualTo("\"partition\"");
        }

        lab.heal();
        awaitEqualDigests(all, Duration.ofSeconds(60));
        for (ServerProcess n : all) {
          for (Map.Entry<String, String> e : acknowledged.entrySet()) {
            Http.Resp r = Http.get(n.url(), e.getKey(), "");
            assertThat(r.status()).as("%s on %s", e.getKey(), n.id()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(e.getValue());
          }
        }
      } catch (UncheckedIOException e) {
        throw new AssertionError("HTTP to a lab host failed", e);
      }
    } finally {
      TempDirs.deleteTree(data);
    }
  }
}
