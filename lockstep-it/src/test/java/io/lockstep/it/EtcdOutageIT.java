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
      AtomicInteger unavailable = new AtomicInteger();
      AtomicInteger other = new AtomicInteger();
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
                        } else {
                          other.incrementAndGet();
                        }
                      } catch (UncheckedIOException e) {
                        other.incrementAndGet();
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
      assertThat(other.get()).as("answers other than 200 and 503").isZero();
      for (String k : acknowledged.keySet()) {
        assertThat(tool.exists(k)).as("acknowledged write %s is in etcd", k).isTrue();
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
    }
  }
}
