package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.spi.Backend;
import io.lockstep.spi.ForwardingBackend;
import io.lockstep.spi.Membership;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** {@code /health}, {@code /stats}, {@code /cluster}, {@code /admin/refresh}. */
class NodeRoutesTest {

  @Test
  void healthLive_answers200() {
    try (TestServer ts = TestServer.start()) {
      HttpResponse<byte[]> r = ts.get("/health/live");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(json(r).toString()).isEqualTo("{\"status\":\"live\"}");
    }
  }

  @Test
  void healthReady_afterTheFirstListing_answers200WithTheAppliedRevision() {
    try (TestServer ts = TestServer.start()) {
      ts.put("/config/k", "v");
      JsonNode body = json(ts.get("/health/ready"));
      assertThat(TestServer.fieldNames(body)).containsExactly("status", "appliedRevision");
      assertThat(body.get("status").asText()).isEqualTo("ready");
      assertThat(body.get("appliedRevision").asLong()).isEqualTo(ts.source.revision());
    }
  }

  @Test
  void healthReady_beforeTheFirstListing_answers503WhileLiveStays200() {
    InMemorySource down = new InMemorySource(RevisionModel.SPARSE);
    down.setAvailable(false);
    try (TestServer ts = TestServer.start(down, true, TestServer.settings(), b -> {}, false)) {
      assertError(ts.get("/health/ready"), 503, "not_ready");
      assertThat(ts.get("/health/live").statusCode()).isEqualTo(200);
      // Memory holds nothing yet: local reads say so rather than answer "absent".
      assertError(ts.get("/config/k"), 503, "not_ready");
      assertError(ts.get("/config"), 503, "not_ready");
      assertError(ts.get("/config/k?use_cache=false"), 503, "backend_unavailable");
      down.setAvailable(true);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> ts.get("/health/ready").statusCode() == 200);
      assertError(ts.get("/config/k"), 404, "not_found");
    }
  }

  @Test
  void nearMode_readsThroughWithinItsBound_andStatsShowIt_aMissWithTheSourceDown503() {
    try (TestServer ts =
        TestServer.start(
            TestServer.settings(), b -> b.mode(io.lockstep.ReplicaMode.NEAR).nearMaxKeys(3))) {
      for (int i = 0; i < 10; i++) {
        assertThat(ts.put("/config/k" + i, "\"v" + i + "\"").statusCode()).isEqualTo(200);
      }
      for (int i = 0; i < 10; i++) {
        HttpResponse<byte[]> r = ts.get("/config/k" + i + "?use_cache=true");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(new String(r.body(), java.nio.charset.StandardCharsets.UTF_8))
            .isEqualTo("\"v" + i + "\"");
      }
      assertError(ts.get("/config/absent"), 404, "not_found");
      JsonNode s = json(ts.get("/stats"));
      assertThat(s.get("mode").asText()).isEqualTo("near");
      assertThat(s.get("keys").asInt()).isBetween(1, 3);
      assertThat(s.get("digest").asText()).isEqualTo("0000000000000000");
      JsonNode near = s.get("near");
      assertThat(near.get("maxKeys").asLong()).isEqualTo(3);
      assertThat(near.get("heldKeys").asLong()).isBetween(1L, 3L);
      assertThat(near.get("loads").asLong()).isGreaterThanOrEqualTo(11);
      assertThat(near.get("onChange").asText()).isEqualTo("UPDATE");
      List<String> held = json(ts.get("/config")).findValuesAsText("key");
      String notHeld =
          java.util.stream.IntStream.range(0, 10)
              .mapToObj(i -> "k" + i)
              .filter(k -> !held.contains(k))
              .findFirst()
              .orElseThrow();
      ts.source.setAvailable(false);
      assertThat(ts.get("/config/" + held.get(0)).statusCode()).isEqualTo(200); // a hit serves
      assertError(ts.get("/config/" + notHeld), 503, "backend_unavailable");
    }
  }

  @Test
  void stats_reportsThisInstance() {
    try (TestServer ts = TestServer.start()) {
      ts.put("/config/a", "1");
      ts.put("/config/b", "2");
      HttpResponse<byte[]> r = ts.get("/stats");
      assertThat(r.statusCode()).isEqualTo(200);
      JsonNode s = json(r);
      assertThat(TestServer.fieldNames(s))
          .containsExactly(
              "id",
              "url",
              "startedAt",
              "appliedRevision",
              "headRevision",
              "lagRevisions",
              "lagMillis",
              "keys",
              "digest",
              "relists",
              "reconnects",
              "duplicatesDropped",
              "gaps",
              "listenerFailures",
              "resets",
              "waiters",
              "pendingChanges",
              "peakPendingChanges",
              "feedPauses",
              "epoch",
              "ready",
              "mode",
              "backend",
              "groups",
              "reconcile");
      Lockstep node = ts.server.node();
      assertThat(s.get("id").asText()).isEqualTo(node.self().id());
      assertThat(s.get("url").asText())
          .isEqualTo("http://127.0.0.1:" + ts.server.port())
          .isEqualTo(ts.server.advertiseUrl());
      assertThat(Instant.parse(s.get("startedAt").asText())).isEqualTo(node.self().startedAt());
      assertThat(s.get("appliedRevision").asLong()).isEqualTo(ts.source.revision());
      assertThat(s.get("headRevision").asLong())
          .isGreaterThanOrEqualTo(s.get("appliedRevision").asLong());
      assertThat(s.get("keys").asInt()).isEqualTo(2);
      assertThat(s.get("digest").asText())
          .matches("[0-9a-f]{16}")
          .isEqualTo(Digests.hex(Digests.of(ts.source.entries())));
      assertThat(s.get("ready").asBoolean()).isTrue();
      assertThat(s.get("relists").asLong()).isZero();
      assertThat(s.get("listenerFailures").asLong()).isZero();
      assertThat(s.get("resets").asLong()).isZero();
      assertThat(s.get("pendingChanges").asLong()).isZero();
      assertThat(s.get("feedPauses").asLong()).isZero();
      assertThat(s.get("epoch").asText()).isEqualTo(ts.source.epoch()).isEqualTo("epoch-1");
      assertThat(s.get("backend").toString())
          .as("the backend's own figures: the in-memory source counts its listings")
          .isEqualTo("{\"listings\":1}");
    }
  }

  @Test
  void stats_afterTheSourceLostItsHistory_showTheNewEpochAndTheReset() {
    try (TestServer ts = TestServer.start()) {
      ts.put("/config/a", "1");
      ts.source.loseHistory(true);
      ts.source.writeAtomically(Map.of("b", new byte[] {2}));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> json(ts.get("/stats")).get("resets").asLong() == 1);
      JsonNode s = json(ts.get("/stats"));
      assertThat(s.get("epoch").asText()).isEqualTo(ts.source.epoch()).isEqualTo("epoch-2");
      assertThat(s.get("backend").get("listings").asLong()).isEqualTo(2);
      JsonNode self = json(ts.get("/cluster")).get("members").get(0);
      assertThat(self.get("epoch").asText())
          .as("/cluster shows each member's epoch")
          .isEqualTo("epoch-2");
      assertThat(self.get("resets").asLong()).isEqualTo(1);
    }
  }

  @Test
  void cluster_listsEveryMemberWithWhatItReports_sortedById() {
    try (TestServer a = TestServer.start();
        TestServer b = TestServer.replica(a.source, TestServer.settings())) {
      long rev = a.server.node().map().put("k", new byte[] {1}, null).revision();
      assertThat(b.server.node().map().replica().awaitRevision(rev, Duration.ofSeconds(5)))
          .isTrue();

      HttpResponse<byte[]> r = b.get("/cluster");
      assertThat(r.statusCode()).isEqualTo(200);
      JsonNode body = json(r);
      assertThat(body.get("self").asText()).isEqualTo(b.server.node().self().id());
      List<String> ids = body.get("members").findValuesAsText("id");
      assertThat(ids)
          .containsExactlyInAnyOrder(a.server.node().self().id(), b.server.node().self().id())
          .isSorted();
      String digest = Digests.hex(Digests.of(a.source.entries()));
      for (JsonNode m : body.get("members")) {
        assertThat(TestServer.fieldNames(m))
            .containsExactly(
                "id",
                "url",
                "startedAt",
                "appliedRevision",
                "keys",
                "digest",
                "resets",
                "epoch",
                "reachable",
                "dataLoaderCalls");
        assertThat(m.get("reachable").asBoolean()).isTrue();
        assertThat(m.get("appliedRevision").asLong()).isEqualTo(rev);
        assertThat(m.get("keys").asInt()).isEqualTo(1);
        assertThat(m.get("digest").asText()).isEqualTo(digest);
        assertThat(m.get("epoch").asText()).isEqualTo(a.source.epoch());
      }
    }
  }

  @Test
  void cluster_memberThatDoesNotAnswer_isListedUnreachableWithTheReason() throws Exception {
    try (TestServer ts =
        TestServer.start(TestServer.settings(b -> b.peerTimeout(Duration.ofMillis(500))))) {
      Membership members = ts.source.backend().membership();
      members
          .register(
              new Member("aa-gone", "http://127.0.0.1:1", Instant.parse("2026-01-01T00:00:00Z")))
          .get();
      members.register(new Member("zz-no-url", "", Instant.parse("2026-01-01T00:00:00Z"))).get();
      JsonNode body = json(ts.get("/cluster"));
      JsonNode list = body.get("members");
      assertThat(list.findValuesAsText("id"))
          .containsExactly("aa-gone", ts.server.node().self().id(), "zz-no-url");
      JsonNode gone = list.get(0);
      assertThat(TestServer.fieldNames(gone))
          .containsExactly("id", "url", "startedAt", "reachable", "error");
      assertThat(gone.get("reachable").asBoolean()).isFalse();
      assertThat(gone.get("url").asText()).isEqualTo("http://127.0.0.1:1");
      assertThat(gone.get("startedAt").asText()).isEqualTo("2026-01-01T00:00:00Z");
      assertThat(gone.get("error").asText()).isNotBlank();
      assertThat(list.get(1).get("reachable").asBoolean()).isTrue();
      assertThat(list.get(2).get("error").asText()).contains("no URL");
    }
  }

  @Test
  void cluster_whenTheMembershipListingFails_isA503() {
    InMemorySource source = new InMemorySource(RevisionModel.SPARSE);
    try (TestServer ts =
        TestServer.start(
            source,
            true,
            TestServer.settings(),
            b -> b.backend(new NoMembersBackend(source.backend())),
            true)) {
      assertError(ts.get("/cluster"), 503, "backend_unavailable");
      assertThat(ts.get("/stats").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void refresh_relistsAndAnswersTheListingRevision() {
    try (TestServer ts = TestServer.start()) {
      ts.put("/config/k", "v");
      HttpResponse<byte[]> r = ts.send("POST", "/admin/refresh", null);
      assertThat(r.statusCode()).isEqualTo(200);
      JsonNode body = json(r);
      assertThat(TestServer.fieldNames(body)).containsExactly("revision");
      assertThat(body.get("revision").asLong()).isEqualTo(ts.source.revision());
      assertThat(json(ts.get("/stats")).get("relists").asLong()).isEqualTo(1);
    }
  }

  @Test
  void refresh_whileTheBackendIsDown_isA503AfterMaxWait() {
    try (TestServer ts =
        TestServer.start(TestServer.settings(b -> b.maxWait(Duration.ofMillis(300))))) {
      ts.source.setAvailable(false);
      assertError(ts.send("POST", "/admin/refresh", null), 503, "backend_unavailable");
      assertThat(ts.get("/health/live").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void await_aRevisionAlreadyApplied_answersAtOnce() {
    try (TestServer ts = TestServer.start()) {
      long rev = TestServer.revisionHeader(ts.put("/config/k", "v"));
      HttpResponse<byte[]> r = ts.get("/admin/await?revision=" + rev + "&timeout=1ms");
      assertThat(r.statusCode()).isEqualTo(200);
      JsonNode body = json(r);
      assertThat(TestServer.fieldNames(body)).containsExactly("id", "revision", "appliedRevision");
      assertThat(body.get("id").asText()).isEqualTo(ts.server.node().self().id());
      assertThat(body.get("revision").asLong()).isEqualTo(rev);
      assertThat(body.get("appliedRevision").asLong()).isGreaterThanOrEqualTo(rev);
      assertThat(ts.get("/admin/await?revision=0").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void await_aRevisionThatComesWhileWaiting_answers200() throws Exception {
    try (TestServer ts = TestServer.start()) {
      long next = ts.source.revision() + 1;
      java.util.concurrent.CompletableFuture<HttpResponse<byte[]>> waiting =
          java.util.concurrent.CompletableFuture.supplyAsync(
              () -> ts.get("/admin/await?revision=" + next + "&timeout=5s"));
      ts.put("/config/k", "v");
      assertThat(waiting.get(10, java.util.concurrent.TimeUnit.SECONDS).statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void await_aRevisionNotReached_is504AfterTheTimeout_boundedByMaxWait() {
    try (TestServer ts =
        TestServer.start(TestServer.settings(b -> b.maxWait(Duration.ofMillis(300))))) {
      long far = ts.source.revision() + 1000;
      long t0 = System.nanoTime();
      HttpResponse<byte[]> r = ts.get("/admin/await?revision=" + far + "&timeout=1h");
      assertThat((System.nanoTime() - t0) / 1_000_000)
          .as("max wait, not the hour asked")
          .isLessThan(5_000);
      JsonNode e = assertError(r, 504, "timeout");
      assertThat(e.get("message").asText()).contains("revision " + far + " not reached");
      assertThat(TestServer.header(r, Headers.APPLIED))
          .isEqualTo(Long.toString(ts.source.revision()));
      assertError(ts.get("/admin/await?revision=" + far + "&timeout=50ms"), 504, "timeout");
    }
  }

  @Test
  void await_badParameters_are400() {
    try (TestServer ts = TestServer.start()) {
      for (String q :
          List.of(
              "",
              "?timeout=1s",
              "?revision=",
              "?revision=-1",
              "?revision=abc",
              "?revision=1&timeout=10",
              "?revision=1&timeout=-1s",
              "?revision=1&timeout=soon",
              "?revision=1&bogus=2",
              "?revision=1&revision=2")) {
        assertError(ts.get("/admin/await" + q), 400, "bad_request");
      }
      assertError(ts.send("POST", "/admin/await?revision=1", null), 405, "method_not_allowed");
    }
  }

  @Test
  void vcapApplication_isShownInStatsAndCluster() {
    String vcap =
        "{\"application_id\": \"a8d5-guid\", \"application_name\": \"refresh-demo\","
            + " \"application_uris\": [\"refresh-demo.example.com\"], \"instance_index\": 2,"
            + " \"space_name\": \"dev\", \"limits\": {\"mem\": 128}}";
    try (TestServer ts =
        TestServer.start(
            TestServer.settings(b -> b.environment(Map.of("VCAP_APPLICATION", vcap))))) {
      String expected =
          "{\"application_id\":\"a8d5-guid\",\"application_name\":\"refresh-demo\","
              + "\"application_uris\":[\"refresh-demo.example.com\"],\"instance_index\":2}";
      JsonNode stats = json(ts.get("/stats"));
      assertThat(TestServer.fieldNames(stats))
          .endsWith("ready", "mode", "backend", "application", "groups", "reconcile");
      assertThat(stats.get("application").toString()).isEqualTo(expected);
      JsonNode cluster = json(ts.get("/cluster"));
      assertThat(TestServer.fieldNames(cluster)).containsExactly("self", "application", "members");
      assertThat(cluster.get("application").toString()).isEqualTo(expected);
    }
  }

  @Test
  void vcapApplication_malformed_isIgnored_theServerStarts() {
    for (String bad : List.of("{not json", "[]", "\"x\"", "{}", "{\"application_id\": 7}")) {
      try (TestServer ts =
          TestServer.start(
              TestServer.settings(b -> b.environment(Map.of("VCAP_APPLICATION", bad))))) {
        assertThat(json(ts.get("/stats")).has("application")).as(bad).isFalse();
        assertThat(json(ts.get("/cluster")).has("application")).as(bad).isFalse();
        assertThat(ts.get("/api/v1/current").statusCode()).isEqualTo(200);
      }
    }
  }

  @Test
  void unknownQueryParametersOutsideConfig_areIgnored() {
    try (TestServer ts = TestServer.start()) {
      assertThat(ts.get("/health/live?probe=1").statusCode()).isEqualTo(200);
    }
  }

  /** A backend whose membership listing always fails. */
  private static final class NoMembersBackend extends ForwardingBackend {
    NoMembersBackend(Backend delegate) {
      super(delegate);
    }

    @Override
    public Membership membership() {
      Membership real = delegate().membership();
      return new Membership() {
        @Override
        public CompletableFuture<Registration> register(Member self) {
          return real.register(self);
        }

        @Override
        public CompletableFuture<List<Member>> members() {
          return CompletableFuture.failedFuture(
              new IllegalStateException("membership store down (injected)"));
        }
      };
    }
  }
}
