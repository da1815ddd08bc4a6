package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.testkit.TcpProxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three real server processes on one real etcd: propagation, deletes, compare-and-set races, writes
 * from outside Lockstep, read-your-writes across instances, membership, a paused instance that
 * misses a compaction, and an instance killed and restarted.
 */
class EtcdClusterIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String PREFIX = "it-" + UUID.randomUUID().toString().substring(0, 8);
  static EtcdProcess etcd;
  static TcpProxy proxy; // node 2 (index 2) reaches etcd through it, so a test can cut it off
  static ServerCluster cluster;
  static EtcdTool tool;

  @BeforeAll
  static void startCluster() {
    // etcd drops a frozen client's connection after about 2 s, as a production keepalive would.
    etcd = new EtcdProcess("--grpc-keepalive-interval", "1s", "--grpc-keepalive-timeout", "1s");
    proxy = new TcpProxy("127.0.0.1", etcd.port());
    cluster =
        ServerCluster.builder(etcd.backendUri())
            .backend(i -> i == 2 ? etcd.backendUri(proxy.endpoint()) : etcd.backendUri())
            .instances(3)
            .keyPrefix(PREFIX)
            .start();
    tool = new EtcdTool(etcd.clientUrl(), PREFIX);
  }

  @AfterAll
  static void stopCluster() {
    if (tool != null) {
      tool.close();
    }
    if (cluster != null) {
      cluster.close();
    }
    if (proxy != null) {
      proxy.close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  static String key(String name) {
    return "t/" + name + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static JsonNode stats(ServerProcess n) throws Exception {
    Http.Resp r = Http.raw(n.url(), "GET", "/stats", null);
    assertThat(r.status()).as("GET /stats on %s: %s", n.id(), r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  static void awaitAllDigestsEqualSource() {
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(
            () -> {
              String source = tool.digest();
              for (ServerProcess n : cluster.nodes()) {
                assertThat(stats(n).get("digest").asText())
                    .as("digest of %s", n.id())
                    .isEqualTo(source);
              }
            });
  }

  @Test
  void put_throughEachInstance_isReadFromMemoryOnEveryOtherWithinOneSecond() {
    for (ServerProcess writer : cluster.nodes()) {
      String k = key("put");
      String v = "{\"from\":\"" + writer.id() + "\"}";
      Http.Resp w = Http.put(writer.url(), k, v);
      assertThat(w.status()).isEqualTo(200);
      assertThat(w.body()).isEqualTo(v);
      assertThat(w.revision()).isPositive();
      for (ServerProcess reader : cluster.nodes()) {
        await()
            .atMost(Duration.ofSeconds(1))
            .pollInterval(Duration.ofMillis(5))
            .untilAsserted(
                () -> {
                  Http.Resp r = Http.get(reader.url(), k, "use_cache=true");
                  assertThat(r.status()).isEqualTo(200);
                  assertThat(r.body()).isEqualTo(v);
                  assertThat(r.revision()).isEqualTo(w.revision());
                });
      }
    }
  }

  @Test
  void delete_throughEachInstance_disappearsFromEveryOtherWithinOneSecond() {
    for (ServerProcess writer : cluster.nodes()) {
      String k = key("del");
      Http.Resp w = Http.put(writer.url(), k, "1");
      for (ServerProcess reader : cluster.nodes()) {
        await()
            .atMost(Duration.ofSeconds(1))
            .until(() -> Http.get(reader.url(), k, "").status() == 200);
      }
      Http.Resp d = Http.delete(writer.url(), k);
      assertThat(d.status()).isEqualTo(204);
      assertThat(d.revision()).isGreaterThan(w.revision());
      for (ServerProcess reader : cluster.nodes()) {
        await()
            .atMost(Duration.ofSeconds(1))
            .pollInterval(Duration.ofMillis(5))
            .untilAsserted(
                () -> {
                  Http.Resp r = Http.get(reader.url(), k, "use_cache=true");
                  assertThat(r.status()).isEqualTo(404);
                  assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("not_found");
                });
      }
      assertThat(Http.delete(writer.url(), k).status()).isEqualTo(404);
    }
  }

  @Test
  void compareAndSet_raceBetweenTwoInstances_exactlyOneWins() throws Exception {
    String k = key("cas");
    long rev = Http.put(cluster.node(0).url(), k, "0").revision();
    for (int round = 1; round <= 25; round++) {
      long expected = rev;
      CountDownLatch go = new CountDownLatch(1);
      List<CompletableFuture<Http.Resp>> racers = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        ServerProcess n = cluster.node(i);
        String body = "\"" + n.id() + "-" + round + "\"";
        racers.add(
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    go.await();
                  } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                  }
                  return Http.put(n.url(), k, body, "If-Match", Long.toString(expected));
                }));
      }
      go.countDown();
      List<Integer> statuses = new ArrayList<>();
      long winner = -1;
      String winnerBody = null;
      long loserSaw = -1;
      for (int i = 0; i < racers.size(); i++) {
        Http.Resp r = racers.get(i).get();
        statuses.add(r.status());
        if (r.status() == 200) {
          winner = r.revision();
          winnerBody = "\"" + cluster.node(i).id() + "-" + round + "\"";
        } else if (r.status() == 412) {
          loserSaw = r.revision(); // the key's revision when the loser was refused
        }
      }
      assertThat(statuses).as("round %d", round).containsExactlyInAnyOrder(200, 412);
      assertThat(loserSaw)
          .as("round %d: the 412 names the winner's revision", round)
          .isEqualTo(winner);
      // The stored value is the winner's, in etcd and in every instance's memory at that revision.
      assertThat(tool.value(k))
          .as("round %d: etcd holds the winner's value", round)
          .isEqualTo(winnerBody);
      for (ServerProcess n : cluster.nodes()) {
        Http.Resp r = Http.get(n.url(), k, "min_revision=" + winner);
        assertThat(r.body()).as("round %d on %s", round, n.id()).isEqualTo(winnerBody);
      }
      rev = winner;
    }
  }

  @Test
  void externalWrite_isReturnedStronglyAtOnce_andFromEveryMemoryShortlyAfter() throws Exception {
    String k = key("external");
    String v = "{\"written\":\"by etcd directly\"}";
    long rev = tool.put(k, v);
    Http.Resp strong = Http.get(cluster.node(0).url(), k, "use_cache=false");
    assertThat(strong.status()).isEqualTo(200);
    assertThat(strong.body()).isEqualTo(v);
    assertThat(strong.revision()).isEqualTo(rev);
    assertThat(strong.contentType()).startsWith("application/json");
    for (ServerProcess n : cluster.nodes()) {
      await()
          .atMost(Duration.ofSeconds(2))
          .pollInterval(Duration.ofMillis(5))
          .untilAsserted(
              () -> {
                Http.Resp r = Http.get(n.url(), k, "use_cache=true");
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo(v);
              });
    }
  }

  @Test
  void minRevision_onAnotherInstance_returnsTheValueJustWritten() {
    String k = key("ryw");
    for (int i = 0; i < 30; i++) {
      ServerProcess a = cluster.node(i % 3);
      ServerProcess b = cluster.node((i + 1) % 3);
      String v = "\"v" + i + "\"";
      Http.Resp w = Http.put(a.url(), k, v);
      assertThat(w.status()).isEqualTo(200);
      Http.Resp r = Http.get(b.url(), k, "min_revision=" + w.revision());
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(v);
      assertThat(r.applied()).isGreaterThanOrEqualTo(w.revision());
    }
  }

  @Test
  void cluster_listsEveryMemberWithTheSameDigest() throws Exception {
    Http.put(cluster.node(0).url(), key("member"), "1");
    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () -> {
              JsonNode c =
                  JSON.readTree(Http.raw(cluster.node(1).url(), "GET", "/cluster", null).body());
              Set<String> ids = new HashSet<>();
              Set<String> digests = new HashSet<>();
              for (JsonNode m : c.get("members")) {
                ids.add(m.get("id").asText());
                assertThat(m.get("reachable").asBoolean()).isTrue();
                digests.add(m.get("digest").asText());
                assertThat(m.get("url").asText()).startsWith("http://127.0.0.1:");
              }
              assertThat(ids).containsExactlyInAnyOrder("node-1", "node-2", "node-3");
              assertThat(digests).containsExactly(tool.digest());
            });
  }

  @Test
  void cutOffInstance_missingACompaction_relistsAndConverges_byValue() throws Exception {
    ServerProcess cutOff = cluster.node(2);
    long relistsBefore = stats(cutOff).get("relists").asLong();
    Map<String, String> model = new TreeMap<>(); // what etcd holds after every acknowledged write
    for (int i = 0; i < 40; i++) {
      String k = "t/compaction-" + i;
      String v = "\"first-" + i + "\"";
      assertThat(Http.put(cluster.node(i % 2).url(), k, v).status()).isEqualTo(200);
      model.put(k, v);
    }
    Http.Resp last = Http.put(cluster.node(0).url(), "t/compaction-0", "\"first-0\"");
    assertThat(Http.get(cutOff.url(), "t/compaction-0", "min_revision=" + last.revision()).status())
        .isEqualTo(200);
    proxy.pause(); // nothing reaches the instance any more; what etcd sends is held back
    try {
      for (int i = 0; i < 80; i++) {
        String k = "t/compaction-" + (i % 40);
        if (i % 5 == 4 && model.containsKey(k)) { // deletes only of keys that exist
          assertThat(Http.delete(cluster.node(i % 2).url(), k).status()).isEqualTo(204);
          model.remove(k);
        } else {
          String v = "\"" + i + "\"";
          assertThat(Http.put(cluster.node(i % 2).url(), k, v).status()).isEqualTo(200);
          model.put(k, v);
        }
      }
      tool.compactToLatest();
    } finally {
      proxy.cut(); // what was held back is lost: only a fresh listing can bring the instance back
      proxy.resume();
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(
            () -> {
              JsonNode s = stats(cutOff);
              assertThat(s.get("relists").asLong()).isGreaterThan(relistsBefore);
              assertThat(s.get("digest").asText()).isEqualTo(tool.digest());
            });
    awaitAllDigestsEqualSource();
    for (int i = 0; i < 40; i++) { // by value, against the model of acknowledged writes
      String k = "t/compaction-" + i;
      for (ServerProcess n : cluster.nodes()) {
        Http.Resp r = Http.get(n.url(), k, "");
        if (model.containsKey(k)) {
          assertThat(r.body()).as("%s on %s", k, n.id()).isEqualTo(model.get(k));
        } else {
          assertThat(r.status()).as("deleted %s on %s", k, n.id()).isEqualTo(404);
        }
      }
    }
  }

  @Test
  void killedInstance_restarted_converges() throws Exception {
    ServerProcess victim = cluster.node(1);
    String keep = key("before-kill");
    Http.put(victim.url(), keep, "1");
    victim.kill();
    assertThat(victim.isAlive()).isFalse();
    for (int i = 0; i < 50; i++) {
      Http.put(cluster.node(0).url(), "t/kill-" + (i % 10), "\"" + i + "\"");
    }
    Http.delete(cluster.node(2).url(), keep);
    victim.restart(Duration.ofSeconds(60));
    awaitAllDigestsEqualSource();
    assertThat(Http.get(victim.url(), keep, "").status()).isEqualTo(404);
  }

  @Test
  void badInput_storesNothingInEtcd() throws Exception {
    String before = tool.digest();
    String url = cluster.node(0).url();
    String big = key("big");
    assertThat(Http.put(url, "x".repeat(1025), "1").status()).isEqualTo(400);
    assertThat(Http.raw(url, "PUT", "/config/", "1").status()).isEqualTo(400);
    assertThat(Http.put(url, "_members/evil", "1").status()).isEqualTo(400);
    assertThat(Http.put(url, key("cas"), "1", "If-Match", "abc").status()).isEqualTo(400);
    assertThat(Http.raw(url, "PUT", "/config/" + big, "x".repeat((1 << 20) + 1)).status())
        .isEqualTo(413);
    assertThat(Http.get(url, key("p"), "min_revision=-1").status()).isEqualTo(400);
    assertThat(Http.get(url, key("p"), "bogus=1").status()).isEqualTo(400);
    assertThat(tool.exists(big)).isFalse();
    assertThat(tool.digest()).isEqualTo(before);
  }
}
