package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * etcd is stopped for a few seconds and restarted while writes continue through every instance:
 * writes answer 503 meanwhile and cached reads keep serving; afterwards every acknowledged write is
 * in etcd and every instance's digest equals the digest of a fresh etcd listing.
 */
class EtcdOutageIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void etcdStoppedAndRestarted_whileWriting_writes503_cachedReadsServe_thenAllConverge()
      throws Exception {
    String prefix = "outage-" + UUID.randomUUID().toString().substring(0, 8);
    try (EtcdProcess etcd = new EtcdProcess();
        ServerCluster cluster =
            ServerCluster.builder(etcd.backendUri()).instances(3).keyPrefix(prefix).start();
        EtcdTool tool = new EtcdTool(etcd.clientUrl(), prefix)) {
      List<ServerProcess> nodes = cluster.nodes();
      Http.put(nodes.get(0).url(), "cached", "\"still here\"");
      for (ServerProcess n : nodes) {
        await()
            .atMost(Duration.ofSeconds(2))
            .until(() -> Http.get(n.url(), "cached", "").status() == 200);
      }

      Map<String, String> acknowledged = new ConcurrentHashMap<>();
      // 504 "timeout": committed, not yet applied on the instance that answered; it must arrive.
      Map<String, String> committedNotYetApplied = new ConcurrentHashMap<>();
      AtomicInteger unavailable = new AtomicInteger();
      // 500 "outcome_unknown": etcd went away after the write was sent; it may or may not be there.
      Map<String, String> maybeCommitted = new ConcurrentHashMap<>();
      List<String> other = new java.util.concurrent.CopyOnWriteArrayList<>();
      AtomicBoolean writing = new AtomicBoolean(true);
      Thread writer =
          Thread.ofPlatform()
              .start(
                  () -> {
                    for (int i = 0; writing.get(); i++) {
                      String k = "w/" + i;
                      String v = "\"" + i + "\"";
                      try {
                        Http.Resp r = Http.put(nodes.get(i % nodes.size()).url(), k, v);
                        if (r.status() == 200) {
                          acknowledged.put(k, v);
                        } else if (r.status() == 503) {
                          unavailable.incrementAndGet();
                        } else if (r.status() == 504 && r.body().contains("\"timeout\"")) {
                          committedNotYetApplied.put(k, v);
                        } else if (r.status() == 500 && r.body().contains("\"outcome_unknown\"")) {
                          maybeCommitted.put(k, v);
                        } else {
                          other.add(k + ": " + r.status() + " " + r.body());
                        }
                      } catch (UncheckedIOException e) {
                        other.add(k + ": " + e);
                      }
                    }
                  });
      try {
        await().atMost(Duration.ofSeconds(10)).until(() -> acknowledged.size() >= 20);
        etcd.stop();
        await().atMost(Duration.ofSeconds(20)).until(() -> unavailable.get() >= 3);
        for (ServerProcess n : nodes) { // cached reads keep serving during the outage
          Http.Resp r = Http.get(n.url(), "cached", "use_cache=true");
          assertThat(r.status()).isEqualTo(200);
          assertThat(r.body()).isEqualTo("\"still here\"");
          assertThat(Http.get(n.url(), "cached", "use_cache=false").status()).isEqualTo(503);
        }
        Http.Resp refused = Http.put(nodes.get(1).url(), "during-outage", "1");
        assertThat(refused.status()).isEqualTo(503);
        assertThat(JSON.readTree(refused.body()).get("error").asText())
            .isEqualTo("backend_unavailable");
        etcd.start();
        int ackedAtRestart = acknowledged.size();
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> acknowledged.size() >= ackedAtRestart + 20);
      } finally {
        writing.set(false);
        writer.join(30_000);
      }
      assertThat(other)
          .as("answers other than 200, 503, a committed 504 and an outcome_unknown 500")
          .isEmpty();
      System.out.println(
          "EtcdOutageIT: "
              + acknowledged.size()
              + " acknowledged, "
              + unavailable.get()
              + " refused (503), "
              + committedNotYetApplied.size()
              + " committed not yet applied (504), "
              + maybeCommitted.size()
              + " outcome unknown (500)");
      for (Map.Entry<String, String> e : maybeCommitted.entrySet()) {
        // either written or not, never anything else
        String held = tool.value(e.getKey());
        assertThat(held).as("write %s of unknown outcome", e.getKey()).isIn(null, e.getValue());
      }
      Map<String, String> committed = new java.util.HashMap<>(acknowledged);
      committed.putAll(committedNotYetApplied);
      for (Map.Entry<String, String> e : committed.entrySet()) {
        assertThat(tool.value(e.getKey()))
            .as("acknowledged write %s in etcd", e.getKey())
            .isEqualTo(e.getValue());
      }
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(200))
          .untilAsserted(
              () -> {
                String source = tool.digest();
                for (ServerProcess n : nodes) {
                  Http.Resp s = Http.raw(n.url(), "GET", "/stats", null);
                  assertThat(JSON.readTree(s.body()).get("digest").asText())
                      .as("digest of %s", n.id())
                      .isEqualTo(source);
                }
              });
      // Converged by digest; now by value: every instance serves every committed write's value.
      for (ServerProcess n : nodes) {
        for (Map.Entry<String, String> e : committed.entrySet()) {
          Http.Resp r = Http.get(n.url(), e.getKey(), "");
          assertThat(r.status()).as("%s on %s", e.getKey(), n.id()).isEqualTo(200);
          assertThat(r.body()).as("%s on %s", e.getKey(), n.id()).isEqualTo(e.getValue());
        }
      }
    }
  }
}
