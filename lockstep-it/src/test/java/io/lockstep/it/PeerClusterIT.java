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

  /**
   * A cluster of {@code instances} peer processes on free loopback ports: the first three are the
   * Raft voters, the rest non-voters; each keeps its Raft data in {@code data/node-<i>}.
   */
  static ServerCluster.Builder loopbackPeers(Path data, int instances) {
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < instances; i++) {
      ports.add(FreePorts.one());
    }
    String voters =
        "127.0.0.1:" + ports.get(0) + ",127.0.0.1:" + ports.get(1) + ",127.0.0.1:" + ports.get(2);
    return ServerCluster.builder("peer://" + voters)
        .backend(
            i ->
                "peer://"
                    + voters
                    + "?bind=127.0.0.1:"
                    + ports.get(i)
                    + "&data="
                    + data.resolve("node-" + i))
        .instances(instances);
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
    try (ServerCluster cluster =
        PeerClusterIT.loopbackPeers(data, 5).startOnly(4).keyPrefix("peer-it").start()) {
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

        // The leader goes to the minority side: voters are nodes 0..2, non-voters 3 and 4. The
        // majority must elect a new leader, and the old one, cut off, must never acknowledge.
        int leader = awaitLeader(all.subList(0, 3));
        List<Integer> majorityIdx = new ArrayList<>();
        for (int v = 0; v < 3; v++) {
          if (v != leader) {
            majorityIdx.add(v);
          }
        }
        majorityIdx.add(3);
        List<ServerProcess> majority = majorityIdx.stream().map(all::get).toList();
        List<ServerProcess> minority = List.of(all.get(leader), all.get(4));
        Map<ServerProcess, Long> logBefore = new java.util.HashMap<>();
        for (ServerProcess v : majority) {
          logBefore.put(v, Files.size(v.logFile()));
        }
        lab.partition(Set.copyOf(majorityIdx), Set.of(leader, 4));

        Map<String, String> acknowledged = new ConcurrentHashMap<>();
        // Every minority attempt, from the moment of the cut, is recorded: one acknowledged there
        // and
        // lost after the heal would be a lost write; one refused there must not appear after it.
        Map<String, Integer> minorityAttempts = new ConcurrentHashMap<>();
        for (ServerProcess n : minority) {
          java.util.concurrent.atomic.AtomicInteger attempt =
              new java.util.concurrent.atomic.AtomicInteger();
          await()
              .atMost(Duration.ofSeconds(30))
              .untilAsserted(
                  () -> {
                    String k = "minority-" + n.id() + "-" + attempt.incrementAndGet();
                    Http.Resp r = Http.put(n.url(), k, "1");
                    minorityAttempts.put(k, r.status());
                    assertThat(r.status())
                        .as("minority write through %s: %s", n.id(), r.body())
                        .isEqualTo(503);
                  });
          Http.Resp read = Http.get(n.url(), "before", "use_cache=true");
          assertThat(read.status()).isEqualTo(200);
          assertThat(read.body()).isEqualTo("\"partition\"");
        }
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
        for (Map.Entry<String, Integer> e : minorityAttempts.entrySet()) {
          if (e.getValue() == 200) {
            acknowledged.put(e.getKey(), "1");
          }
        }
        // The old leader really was on the minority: the majority had to elect one of its own.
        boolean elected = false;
        for (ServerProcess v : majority) {
          String log = Files.readString(v.logFile());
          elected |= log.indexOf(": Raft leader of ", (int) (long) logBefore.get(v)) >= 0;
        }
        assertThat(elected).as("a majority voter became leader after the cut").isTrue();

        lab.heal();
        awaitEqualDigests(all, Duration.ofSeconds(60));
        for (ServerProcess n : all) {
          for (Map.Entry<String, String> e : acknowledged.entrySet()) {
            Http.Resp r = Http.get(n.url(), e.getKey(), "");
            assertThat(r.status()).as("%s on %s", e.getKey(), n.id()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(e.getValue());
          }
          for (Map.Entry<String, Integer> e : minorityAttempts.entrySet()) {
            if (e.getValue() == 503) { // refused on the minority: never committed
              assertThat(Http.get(n.url(), e.getKey(), "").status())
                  .as("refused minority write %s on %s", e.getKey(), n.id())
                  .isEqualTo(404);
            }
          }
        }
      } catch (UncheckedIOException e) {
        throw new AssertionError("HTTP to a lab host failed", e);
      }
    } finally {
      TempDirs.deleteTree(data);
    }
  }

  /**
   * The index (in {@code voters}) of the voter that leads Raft, from the line each leader logs
   * ("Raft leader of", and "no longer the Raft leader" when it stops); waits until exactly one
   * does.
   */
  static int awaitLeader(List<ServerProcess> voters) {
    int[] found = {-1};
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              List<Integer> leaders = new ArrayList<>();
              for (int i = 0; i < voters.size(); i++) {
                String log = Files.readString(voters.get(i).logFile());
                int won = log.lastIndexOf(": Raft leader of ");
                int lost = log.lastIndexOf(": no longer the Raft leader of ");
                if (won >= 0 && won > lost) {
                  leaders.add(i);
                }
              }
              assertThat(leaders).as("voters that lead").hasSize(1);
              found[0] = leaders.get(0);
            });
    return found[0];
  }
}
