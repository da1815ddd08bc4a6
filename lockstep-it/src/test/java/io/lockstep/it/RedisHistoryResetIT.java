package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.RedisProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, "Done when" for Redis: Redis without persistence restarted EMPTY under two server
 * processes. Its counter starts at 1 again and every revision the instances applied is handed out
 * once more; the instances must reset to Redis's state (a new epoch) without being restarted.
 */
class RedisHistoryResetIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode stats(ServerProcess n) throws Exception {
    Http.Resp r = Http.raw(n.url(), "GET", "/stats", null);
    assertThat(r.status()).as("GET /stats on %s: %s", n.id(), r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static String value(ServerProcess n, String key) {
    Http.Resp r = Http.get(n.url(), key, "");
    return r.status() == 200 ? r.body() : "HTTP " + r.status();
  }

  @Test
  void redisRestartedEmpty_bothInstancesReset_newWritesVisible_lostKeysGone() throws Exception {
    try (RedisProcess redis = new RedisProcess(); // no persistence: a restart loses everything
        ServerCluster cluster =
            ServerCluster.builder(redis.backendUri()).instances(2).keyPrefix("reset").start()) {
      List<ServerProcess> nodes = cluster.nodes();
      ServerProcess a = nodes.get(0);
      for (String k : List.of("k1", "k2", "k3", "k4", "k5")) {
        assertThat(Http.put(a.url(), k, "{\"old\":\"" + k + "\"}").status()).isEqualTo(200);
      }
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> nodes.stream().allMatch(n -> value(n, "k5").equals("{\"old\":\"k5\"}")));
      for (ServerProcess n : nodes) {
        assertThat(stats(n).get("appliedRevision").asLong()).isEqualTo(5);
      }

      redis.restart(); // empty: revisions 1.. are handed out again

      // Written as soon as Redis answers: revision 1 again, a key the instances hold at 1.
      await()
          .atMost(Duration.ofSeconds(20))
          .ignoreException(UncheckedIOException.class)
          .until(() -> Http.put(a.url(), "k1", "{\"new\":\"k1\"}").status() == 200);
      for (ServerProcess n : nodes) {
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  assertThat(value(n, "k1")).as("k1 on %s", n.id()).isEqualTo("{\"new\":\"k1\"}");
                  assertThat(stats(n).path("resets").asLong()).as("resets on %s", n.id()).isOne();
                });
      }

      // A write made after the reset is visible on both within a second.
      assertThat(Http.put(a.url(), "after", "{\"n\":1}").status()).isEqualTo(200);
      for (ServerProcess n : nodes) {
        await()
            .atMost(Duration.ofSeconds(1))
            .untilAsserted(
                () -> assertThat(value(n, "after")).as("on %s", n.id()).isEqualTo("{\"n\":1}"));
      }
      // Keys lost by the restart are gone from both; both agree with each other and with Redis.
      for (ServerProcess n : nodes) {
        for (String k : List.of("k2", "k3", "k4", "k5")) {
          assertThat(value(n, k)).as("%s on %s", k, n.id()).isEqualTo("HTTP 404");
        }
      }
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () -> {
                JsonNode s0 = stats(nodes.get(0));
                JsonNode s1 = stats(nodes.get(1));
                assertThat(s0.get("appliedRevision").asLong()).isEqualTo(2);
                assertThat(s1.get("appliedRevision").asLong()).isEqualTo(2);
                assertThat(s0.get("keys").asInt()).isEqualTo(2);
                assertThat(s1.get("digest").asText()).isEqualTo(s0.get("digest").asText());
              });
    }
  }
}
