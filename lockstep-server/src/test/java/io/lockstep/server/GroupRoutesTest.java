package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.json;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.GroupAnswer;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The loading-group routes: {@code /data/<id>}, {@code /stats/hot|main} and the peer protocol. */
class GroupRoutesTest {
  private static final String SECRET = "cluster-secret-0123456789abcdef";

  private static ServerSettings fast() {
    return TestServer.settings(
        b ->
            b.dataGroup(
                new DataGroupSettings(
                    Duration.ofMillis(5), Duration.ofMinutes(1), Duration.ofSeconds(1))));
  }

  @Test
  void data_isLoadedOnce_andServedFromTheCacheAfterwards() {
    try (TestServer ts = TestServer.start(fast())) {
      JsonNode first = json(ts.get("/data/some-id"));
      assertThat(first.get("guid").asText()).isEqualTo("some-id");
      java.time.Instant.parse(first.get("date_created").asText()); // RFC 3339
      JsonNode second = json(ts.get("/data/some-id"));
      assertThat(second).isEqualTo(first);
      JsonNode stats = json(ts.get("/stats")).path("groups").path("data");
      assertThat(stats.path("localLoads").asLong()).isEqualTo(1);
      assertThat(stats.path("cacheHits").asLong()).isEqualTo(1);
      assertThat(stats.path("members").asInt()).as("a group of one").isEqualTo(1);
      assertThat(json(ts.get("/stats/main")).path("items").asLong()).isEqualTo(1);
      assertThat(json(ts.get("/stats/hot")).path("items").asLong()).isZero();
      // the replica's own fields are still there
      assertThat(json(ts.get("/stats")).has("appliedRevision")).isTrue();
    }
  }

  @Test
  void delete_dropsTheEntry_andTheNextGetLoadsAgain() throws Exception {
    try (TestServer ts = TestServer.start(fast())) {
      String before = json(ts.get("/data/k")).get("date_created").asText();
      HttpResponse<byte[]> del = ts.delete("/data/k");
      assertThat(del.statusCode()).isEqualTo(204);
      assertThat(json(ts.get("/stats/main")).path("items").asLong()).isZero();
      Thread.sleep(2); // the instant moves on
      String after = json(ts.get("/data/k")).get("date_created").asText();
      assertThat(after).isNotEqualTo(before);
      assertThat(json(ts.get("/stats")).path("groups").path("data").path("localLoads").asLong())
          .isEqualTo(2);
    }
  }

  @Test
  void keysWithSlashes_andEncodedSlashes_reachTheGroup() {
    try (TestServer ts = TestServer.start(fast())) {
      assertThat(json(ts.get("/data/a/b")).get("guid").asText()).isEqualTo("a/b");
      // the peer protocol percent-encodes '/' in the key: Jetty must let %2F through
      HttpResponse<byte[]> peer =
          ts.get("/_lockstep/groups/data/a%2Fb", GroupAnswer.FORWARDED_HEADER, "1");
      assertThat(peer.statusCode()).isEqualTo(200);
      assertThat(TestServer.header(peer, "Content-Type")).startsWith("application/octet-stream");
      assertThat(Long.parseLong(TestServer.header(peer, GroupAnswer.EXPIRES_HEADER)))
          .isBetween(1L, 60_000L);
      assertThat(new String(peer.body(), UTF_8)).contains("\"guid\":\"a/b\"");
      assertThat(json(ts.get("/stats")).path("groups").path("data").path("localLoads").asLong())
          .as("the peer request was served from the cache the first get filled")
          .isEqualTo(1);
      assertThat(ts.delete("/_lockstep/groups/data/a%2Fb").statusCode()).isEqualTo(204);
      assertThat(json(ts.get("/stats/main")).path("items").asLong()).isZero();
    }
  }

  @Test
  void unknownStatsAndGroups_areJsonErrors() {
    try (TestServer ts = TestServer.start(fast())) {
      assertError(ts.get("/stats/warm"), 400, ErrorMapper.BAD_REQUEST);
      assertThat(ts.get("/stats/requests").statusCode()).isEqualTo(200);
      assertError(ts.get("/_lockstep/groups/nope/k"), 404, ErrorMapper.NOT_FOUND);
      assertError(ts.get("/data/k?x=1"), 400, ErrorMapper.BAD_REQUEST);
    }
  }

  @Test
  void peerRoutes_needTheClusterSecret_whenAccessIsOn() {
    AccessSettings access =
        AccessSettings.NONE
            .withTokens(List.of(new AccessToken(Scope.ADMIN, "admin-token-0123456789abcdef")))
            .withClusterSecret(SECRET);
    try (TestServer ts = TestServer.start(fast().toBuilder().access(access).build())) {
      assertThat(ts.get("/_lockstep/groups/data/k").statusCode()).isEqualTo(401);
      assertThat(
              ts.get(
                      "/_lockstep/groups/data/k",
                      "Authorization",
                      "Bearer admin-token-0123456789abcdef")
                  .statusCode())
          .isEqualTo(403);
      assertThat(
              ts.get("/_lockstep/groups/data/k", "Authorization", "Bearer " + SECRET).statusCode())
          .isEqualTo(200);
      assertThat(ts.get("/data/k", "Authorization", "Bearer " + SECRET).statusCode())
          .isEqualTo(403);
    }
  }

  @Test
  void twoMembers_loadEachIdOnce_andAgreeOnItsDate() {
    try (TestServer a = TestServer.start(fast());
        TestServer b = TestServer.replica(a.source, fast())) {
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> json(a.get("/cluster")).path("members").size() == 2);
      for (int i = 0; i < 10; i++) {
        String id = "id-" + i;
        JsonNode fromA = json(a.get("/data/" + id));
        JsonNode fromB = json(b.get("/data/" + id));
        assertThat(fromB).isEqualTo(fromA);
      }
      long a1 = json(a.get("/stats")).path("groups").path("data").path("localLoads").asLong();
      long b1 = json(b.get("/stats")).path("groups").path("data").path("localLoads").asLong();
      assertThat(a1 + b1).isEqualTo(10);
      assertThat(a1).as("rendezvous spreads 10 ids over both").isBetween(1L, 9L);
      // /cluster reports each member's loader calls (its answer is cached briefly)
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                long total = 0;
                for (JsonNode m : json(a.get("/cluster")).path("members")) {
                  total += m.path("dataLoaderCalls").asLong();
                }
                assertThat(total).isEqualTo(10);
              });
    }
  }

  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void staticPeersFromTheEnvironment_shareTheGroup_withoutASharedBackend() throws Exception {
    int pa = freePort();
    int pb = freePort();
    String ua = "http://127.0.0.1:" + pa;
    String ub = "http://127.0.0.1:" + pb;
    String set = ua + "," + ub;
    try (TestServer a =
            TestServer.start(
                fast().toBuilder()
                    .port(pa)
                    .environment(java.util.Map.of("PEERS_SELF", ua, "PEERS_SET", set))
                    .build());
        TestServer b = // its own backend: only the static list joins the two
            TestServer.start(
                fast().toBuilder()
                    .port(pb)
                    .environment(java.util.Map.of("PEERS_SELF", ub, "PEERS_SET", set))
                    .build())) {
      for (int i = 0; i < 10; i++) {
        assertThat(json(b.get("/data/s-" + i))).isEqualTo(json(a.get("/data/s-" + i)));
      }
      long la = json(a.get("/stats")).path("groups").path("data").path("localLoads").asLong();
      long lb = json(b.get("/stats")).path("groups").path("data").path("localLoads").asLong();
      assertThat(la + lb).isEqualTo(10);
      assertThat(la).as("both own some of the ids").isBetween(1L, 9L);
    }
  }
}
