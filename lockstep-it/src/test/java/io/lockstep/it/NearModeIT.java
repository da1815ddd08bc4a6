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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three near-mode server processes ({@code --mode near --near-max-keys 40}) on one real etcd: the
 * bound holds with a larger working set; keys the instances hold follow writes and deletes made
 * straight into etcd by another client, a deleted key never being served again; and an instance cut
 * off from etcd while its keys change and history is compacted relists and never serves a value
 * older than one it served before.
 */
class NearModeIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String PREFIX = "near-" + UUID.randomUUID().toString().substring(0, 8);
  static final int BOUND = 40;
  static EtcdProcess etcd;
  static TcpProxy proxy; // node 2 (index 2) reaches etcd through it, so a test can cut it off
  static ServerCluster cluster;
  static EtcdTool tool;

  @BeforeAll
  static void startCluster() {
    etcd = new EtcdProcess();
    proxy = new TcpProxy("127.0.0.1", etcd.port());
    cluster =
        ServerCluster.builder(etcd.backendUri())
            .backend(i -> i == 2 ? etcd.backendUri(proxy.endpoint()) : etcd.backendUri())
            .instances(3)
            .keyPrefix(PREFIX)
            .args("--mode", "near", "--near-max-keys", Integer.toString(BOUND))
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

  static JsonNode stats(ServerProcess n) throws Exception {
    Http.Resp r = Http.raw(n.url(), "GET", "/stats", null);
    assertThat(r.status()).as("GET /stats on %s: %s", n.id(), r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  /** The keys the instance holds under {@code prefix}, with their mod revisions. */
  static Map<String, Long> held(ServerProcess n, String prefix) throws Exception {
    Http.Resp r = Http.raw(n.url(), "GET", "/config?prefix=" + prefix + "&limit=10000", null);
    assertThat(r.status()).as("GET /config on %s: %s", n.id(), r.body()).isEqualTo(200);
    Map<String, Long> out = new HashMap<>();
    for (JsonNode k : JSON.readTree(r.body()).get("keys")) {
      out.put(k.get("key").asText(), k.get("revision").asLong());
    }
    return out;
  }

  @Test
  void workingSetLargerThanTheBound_eachInstanceHoldsAtMostTheBound_andServesEveryKey()
      throws Exception {
    int keys = 150;
    for (int i = 0; i < keys; i++) {
      tool.put("bound/k" + i, "\"v" + i + "\"");
    }
    for (ServerProcess n : cluster.nodes()) {
      for (int round = 0; round < 2; round++) {
        for (int i = 0; i < keys; i++) {
          Http.Resp r = Http.get(n.url(), "bound/k" + i, "use_cache=true");
          assertThat(r.status()).as("bound/k%d on %s", i, n.id()).isEqualTo(200);
          assertThat(r.body()).isEqualTo("\"v" + i + "\"");
        }
      }
      JsonNode s = stats(n);
      assertThat(s.get("mode").asText()).isEqualTo("near");
      JsonNode near = s.get("near");
      assertThat(near.get("maxKeys").asLong()).isEqualTo(BOUND);
      assertThat(near.get("heldKeys").asLong()).isBetween(1L, (long) BOUND);
      assertThat(s.get("keys").asLong()).isLessThanOrEqualTo(BOUND);
      assertThat(near.get("loads").asLong()).isGreaterThanOrEqualTo(keys);
      assertThat(near.get("misses").asLong()).isGreaterThanOrEqualTo(keys);
      assertThat(near.get("evictions").asLong()).isPositive();
      assertThat(held(n, "").size()).isLessThanOrEqualTo(BOUND);
    }
  }

  @Test
  void externalWriters_heldKeysFollowEtcd_andADeletedKeyIsNeverServedAgain() throws Exception {
    int live = 15;
    int doomed = 6;
    List<String> liveKeys = new ArrayList<>();
    List<String> doomedKeys = new ArrayList<>();
    for (int i = 0; i < live; i++) {
      liveKeys.add("ext/live" + i);
      tool.put("ext/live" + i, "\"0\"");
    }
    for (int i = 0; i < doomed; i++) {
      doomedKeys.add("ext/doomed" + i);
      tool.put("ext/doomed" + i, "\"doomed\"");
    }
    List<String> all = new ArrayList<>(liveKeys);
    all.addAll(doomedKeys);
    for (ServerProcess n : cluster.nodes()) { // every instance holds every key
      for (String k : all) {
        assertThat(Http.get(n.url(), k, "use_cache=true").status()).isEqualTo(200);
      }
    }

    Map<String, Long> deletedAt = new ConcurrentHashMap<>(); // doomed key -> etcd's delete revision
    List<String> violations = new CopyOnWriteArrayList<>();
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicInteger rounds = new AtomicInteger(); // full passes of the readers over every instance
    Thread writer =
        Thread.ofPlatform()
            .name("external-writer")
            .start(
                () -> {
                  SplittableRandom rnd = new SplittableRandom(17);
                  try {
                    for (int step = 1; step <= 300; step++) {
                      String k = liveKeys.get(rnd.nextInt(live));
                      if (rnd.nextInt(5) == 0) {
                        tool.delete(k); // written again by a later step, at a higher revision
                      } else {
                        tool.put(k, "\"" + step + "\"");
                      }
                      if (step % 50 == 0) {
                        String d = doomedKeys.get(step / 50 - 1);
                        deletedAt.put(d, tool.delete(d));
                        // paced by the readers: at least one full pass between two deletes, so the
                        // reads overlap the writes however the machine schedules the two
                        int seen = rounds.get();
                        await().atMost(Duration.ofSeconds(30)).until(() -> rounds.get() > seen);
                      }
                    }
                  } catch (Exception e) {
                    violations.add("writer failed: " + e);
                  } finally {
                    writing.set(false);
                  }
                });

    // Readers: every instance, every key, as fast as they go while etcd is written.
    NearReads reads = new NearReads(deletedAt, violations);
    while (writing.get() || reads.reads() == 0) {
      for (ServerProcess n : cluster.nodes()) {
        for (String k : all) {
          reads.read(n, k);
        }
      }
      rounds.incrementAndGet();
    }
    writer.join();
    assertThat(violations).isEmpty();
    assertThat(deletedAt).hasSize(doomed);
    assertThat(rounds.get()).as("full read passes while writing").isGreaterThanOrEqualTo(doomed);

    // Once the feed has caught up: every key held equals etcd's, every read answers etcd's value.
    for (ServerProcess n : cluster.nodes()) {
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(50))
          .untilAsserted(
              () -> {
                Map<String, Long> held = held(n, "ext/");
                for (Map.Entry<String, Long> e : held.entrySet()) {
                  assertThat(e.getValue())
                      .as("%s held on %s", e.getKey(), n.id())
                      .isEqualTo(tool.modRevision(e.getKey()));
                }
                for (String k : all) {
                  Http.Resp r = Http.get(n.url(), k, "use_cache=true");
                  String truth = tool.value(k);
                  if (truth == null) {
                    assertThat(r.status()).as("%s on %s", k, n.id()).isEqualTo(404);
                  } else {
                    assertThat(r.body()).as("%s on %s", k, n.id()).isEqualTo(truth);
                  }
                }
              });
      for (String d : doomedKeys) {
        assertThat(Http.get(n.url(), d, "use_cache=true").status()).isEqualTo(404);
      }
      JsonNode near = stats(n).get("near");
      assertThat(near.get("hits").asLong()).isPositive();
      assertThat(near.get("heldKeys").asLong()).isLessThanOrEqualTo(BOUND);
    }
  }

  @Test
  void instanceCutOffWhileHeldKeysChangeAndEtcdCompacts_relists_andNeverServesOlder()
      throws Exception {
    ServerProcess cutOff = cluster.node(2);
    int keys = 12;
    Map<String, Long> served = new HashMap<>();
    for (int i = 0; i < keys; i++) {
      tool.put("cut/k" + i, "\"0\"");
    }
    for (int i = 0; i < keys; i++) {
      Http.Resp r = Http.get(cutOff.url(), "cut/k" + i, "use_cache=true");
      assertThat(r.status()).isEqualTo(200);
      served.put("cut/k" + i, r.revision());
    }
    long relistsBefore = stats(cutOff).get("relists").asLong();
    proxy.pause(); // nothing reaches the instance any more
    try {
      for (int step = 1; step <= 60; step++) {
        String k = "cut/k" + (step % keys);
        if (step % 7 == 0) {
          tool.delete(k);
        } else {
          tool.put(k, "\"" + step + "\"");
        }
      }
      tool.compactToLatest();
    } finally {
      proxy.cut(); // held-back events are lost: resuming from applied + 1 meets the compaction
      proxy.resume();
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> stats(cutOff).get("relists").asLong() > relistsBefore);
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(50))
        .untilAsserted(
            () -> {
              for (int i = 0; i < keys; i++) {
                String k = "cut/k" + i;
                Http.Resp r = Http.get(cutOff.url(), k, "use_cache=true");
                String truth = tool.value(k);
                if (truth == null) {
                  assertThat(r.status()).as(k).isEqualTo(404);
                } else {
                  assertThat(r.body()).as(k).isEqualTo(truth);
                  assertThat(r.revision()).as(k).isGreaterThanOrEqualTo(served.get(k));
                }
              }
            });
    for (Map.Entry<String, Long> e : held(cutOff, "cut/").entrySet()) {
      assertThat(e.getValue()).as(e.getKey()).isEqualTo(tool.modRevision(e.getKey()));
    }
  }
}
