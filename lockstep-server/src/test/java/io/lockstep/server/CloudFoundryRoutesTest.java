package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.header;
import static io.lockstep.server.TestServer.json;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.Member;
import io.lockstep.Versioned;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Cloud Foundry demo's routes, on two servers over one in-memory source: two instances of one
 * app, in one JVM. Instance "0" is {@code a}, instance "1" is {@code b}.
 */
class CloudFoundryRoutesTest {
  private static final List<String> METHODS = List.of("GET", "POST");
  private static final String INITIAL = "{\"MY_CACHE1\":\"OBJECT1\",\"MY_CACHE2\":\"OBJECT2\"}";

  private InMemorySource source;
  private TestServer a;
  private TestServer b;

  @BeforeEach
  void start() {
    source = new InMemorySource(RevisionModel.SPARSE);
    a = instance(source, "0", TestServer.settings());
    b = instance(source, "1", TestServer.settings());
  }

  @AfterEach
  void stop() {
    b.close();
    a.close();
    source.close();
  }

  private static TestServer instance(InMemorySource source, String index, ServerSettings settings) {
    return TestServer.start(
        source,
        false,
        settings.toBuilder().environment(Map.of("CF_INSTANCE_INDEX", index)).build(),
        n -> {},
        true);
  }

  private static HttpResponse<byte[]> call(
      TestServer ts, String method, String route, String body, String... headers) {
    return ts.send(method, "/api/v1/" + route, body == null ? null : body.getBytes(UTF_8), headers);
  }

  private static String cacheBody(String value) {
    return "{\"MY_CACHE\": \"" + value + "\"}";
  }

  /** The body of {@code /current}, as text, after checking its status and type. */
  private static String current(TestServer ts) {
    HttpResponse<byte[]> r = call(ts, "GET", "current", null);
    assertThat(r.statusCode()).isEqualTo(200);
    return json(r).toString();
  }

  private static String currentWith(String instance, String myCache3) {
    return "{\"Instance\":\""
        + instance
        + "\",\"Cache Object\":{\"MY_CACHE1\":\"OBJECT1\",\"MY_CACHE2\":\"OBJECT2\""
        + (myCache3 == null ? "" : ",\"MY_CACHE3\":\"" + myCache3 + "\"")
        + "}}";
  }

  // ---------------------------------------------------------------------------------------------
  // current
  // ---------------------------------------------------------------------------------------------

  @Test
  void current_onGetAndPost_showsTheInstanceIndexAndTheInitialObjectInOrder() {
    for (String method : METHODS) {
      HttpResponse<byte[]> r = call(a, method, "current", method.equals("POST") ? "{}" : null);
      assertThat(r.statusCode()).as(method).isEqualTo(200);
      assertThat(json(r).toString())
          .isEqualTo("{\"Instance\":\"0\",\"Cache Object\":" + INITIAL + "}");
    }
    assertThat(current(b)).isEqualTo(currentWith("1", null));
  }

  @Test
  void current_withoutCfInstanceIndex_isLocalSystem() {
    for (Map<String, String> env :
        List.of(Map.<String, String>of(), Map.of("CF_INSTANCE_INDEX", " "))) {
      try (TestServer local = TestServer.start(TestServer.settings(b -> b.environment(env)))) {
        assertThat(current(local)).isEqualTo(currentWith("LOCAL SYSTEM", null));
      }
    }
  }

  @Test
  void current_beforeTheFirstListing_isNotReady() {
    InMemorySource down = new InMemorySource(RevisionModel.SPARSE);
    down.setAvailable(false);
    try (TestServer ts = TestServer.start(down, true, TestServer.settings(), n -> {}, false)) {
      assertError(call(ts, "GET", "current", null), 503, "not_ready");
      assertError(call(ts, "POST", "update", cacheBody("x")), 503, "not_ready");
      assertError(call(ts, "POST", "refresh_all", cacheBody("x")), 503, "not_ready");
    }
  }

  @Test
  void otherMethods_are405() {
    for (String route : List.of("current", "update", "refresh", "refresh_all")) {
      HttpResponse<byte[]> r = call(a, "PUT", route, cacheBody("x"));
      assertError(r, 405, "method_not_allowed");
      assertThat(header(r, "Allow")).contains("GET").contains("POST");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // update and refresh_all: this instance only
  // ---------------------------------------------------------------------------------------------

  @Test
  void update_onGetAndPost_setsMyCache3OnTheHitInstanceOnly_andAnswersAsCurrent() {
    TestServer.State before = a.state();
    for (String method : METHODS) {
      String value = "NEW_" + method;
      HttpResponse<byte[]> r =
          call(a, method, "update", cacheBody(value), "Content-Type", "application/json");
      assertThat(r.statusCode()).as(method).isEqualTo(200);
      assertThat(json(r).toString()).isEqualTo(currentWith("0", value));
      assertThat(current(a)).isEqualTo(currentWith("0", value));
      assertThat(current(b)).isEqualTo(currentWith("1", null));
    }
    assertThat(a.state()).as("nothing replicated").isEqualTo(before);
  }

  @Test
  void refreshAll_onGetAndPost_setsMyCache3OnTheHitInstanceOnly() {
    TestServer.State before = a.state();
    for (String method : METHODS) {
      HttpResponse<byte[]> r = call(b, method, "refresh_all", cacheBody("VIA_" + method));
      assertThat(r.statusCode()).as(method).isEqualTo(200);
      assertThat(json(r).toString()).isEqualTo("{\"Refreshing\":\"Instance\"}");
      assertThat(current(b)).isEqualTo(currentWith("1", "VIA_" + method));
      assertThat(current(a)).isEqualTo(currentWith("0", null));
    }
    assertThat(a.state()).isEqualTo(before);
  }

  @Test
  void update_keepsTheValueExactly_unicodeEmptyAndExtraFieldsIgnored() {
    HttpResponse<byte[]> r =
        call(
            a,
            "POST",
            "update",
            "{\"other\": [1, 2], \"MY_CACHE\": \"caf\u00e9 \\\"q\\\" \\u263A\"}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).get("Cache Object").get("MY_CACHE3").asText())
        .isEqualTo("caf\u00e9 \"q\" \u263A");
    assertThat(call(a, "POST", "update", cacheBody("")).statusCode()).isEqualTo(200);
    assertThat(current(a)).isEqualTo(currentWith("0", ""));
  }

  // ---------------------------------------------------------------------------------------------
  // refresh: every instance
  // ---------------------------------------------------------------------------------------------

  @Test
  void refresh_onGetAndPost_setsMyCache3OnEveryInstance_beforeItAnswers_andCountsThem() {
    for (String method : METHODS) {
      String value = "REFRESHED_" + method;
      HttpResponse<byte[]> r = call(a, method, "refresh", cacheBody(value));
      assertThat(r.statusCode()).as(method).isEqualTo(200);
      JsonNode body = json(r);
      assertThat(TestServer.fieldNames(body))
          .containsExactly("Refreshing", "Instances_Refreshed", "Revision");
      assertThat(body.get("Refreshing").asText()).isEqualTo("Done");
      assertThat(body.get("Instances_Refreshed").asInt()).isEqualTo(2);
      long revision = body.get("Revision").asLong();
      assertThat(TestServer.revisionHeader(r)).isEqualTo(revision);
      // Both confirmed before the answer: no waiting here.
      assertThat(current(a)).isEqualTo(currentWith("0", value));
      assertThat(current(b)).isEqualTo(currentWith("1", value));
      Versioned stored =
          source.entries().stream()
              .filter(v -> v.key().equals("cf/cache/MY_CACHE3"))
              .findFirst()
              .orElseThrow();
      assertThat(stored.valueAsString()).isEqualTo("\"" + value + "\"");
      assertThat(stored.contentType()).isEqualTo("application/json");
      assertThat(stored.modRevision()).isEqualTo(revision);
    }
  }

  @Test
  void refresh_supersedesEarlierUpdates_andALaterUpdateWinsOnItsInstanceUntilTheNextRefresh() {
    call(b, "POST", "update", cacheBody("LOCAL_B1"));
    call(a, "POST", "refresh_all", cacheBody("LOCAL_A1"));
    assertThat(call(a, "POST", "refresh", cacheBody("R1")).statusCode()).isEqualTo(200);
    assertThat(current(a)).isEqualTo(currentWith("0", "R1"));
    assertThat(current(b)).isEqualTo(currentWith("1", "R1"));

    assertThat(call(b, "POST", "update", cacheBody("LOCAL_B2")).statusCode()).isEqualTo(200);
    assertThat(current(b)).isEqualTo(currentWith("1", "LOCAL_B2"));
    assertThat(current(a)).isEqualTo(currentWith("0", "R1"));
    // Other writes to the map do not end the local value's reign; only a write of the same entry
    // does.
    a.put("/config/unrelated", "x");
    assertThat(call(b, "GET", "current", null).statusCode()).isEqualTo(200);
    assertThat(current(b)).isEqualTo(currentWith("1", "LOCAL_B2"));

    assertThat(call(b, "POST", "refresh", cacheBody("R2")).statusCode()).isEqualTo(200);
    assertThat(current(a)).isEqualTo(currentWith("0", "R2"));
    assertThat(current(b)).isEqualTo(currentWith("1", "R2"));
  }

  @Test
  void replicatedEntriesUnderTheCachePrefix_areShownOnEveryInstance_jsonAsJsonOtherBytesAsText() {
    a.put("/config/cf/cache/MY_CACHE1", "{\"n\": 1}", "Content-Type", "application/json");
    a.put("/config/cf/cache/EXTRA", "plain text", "Content-Type", "text/plain");
    long rev =
        TestServer.revisionHeader(
            a.put("/config/cf/cache/BROKEN", "{not json", "Content-Type", "application/json"));
    assertThat(b.server.node().map().replica().awaitRevision(rev, Duration.ofSeconds(5))).isTrue();
    JsonNode object = json(call(b, "GET", "current", null)).get("Cache Object");
    assertThat(TestServer.fieldNames(object))
        .containsExactly("MY_CACHE1", "MY_CACHE2", "BROKEN", "EXTRA");
    assertThat(object.get("MY_CACHE1").toString()).isEqualTo("{\"n\":1}");
    assertThat(object.get("MY_CACHE2").asText()).isEqualTo("OBJECT2");
    assertThat(object.get("EXTRA").asText()).isEqualTo("plain text");
    assertThat(object.get("BROKEN").asText()).isEqualTo("{not json");
  }

  @Test
  void refresh_aMemberThatDoesNotAnswer_isNamedNotRefreshed_with504_andTheWriteStands()
      throws Exception {
    source
        .backend()
        .membership()
        .register(new Member("aa-gone", "http://127.0.0.1:1", Instant.now()))
        .get();
    HttpResponse<byte[]> r = call(a, "POST", "refresh", cacheBody("PARTIAL"));
    assertThat(r.statusCode()).isEqualTo(504);
    JsonNode body = json(r);
    assertThat(TestServer.fieldNames(body))
        .containsExactly(
            "error", "message", "Refreshing", "Instances_Refreshed", "Not_Refreshed", "Revision");
    assertThat(body.get("error").asText()).isEqualTo("timeout");
    assertThat(body.get("message").asText())
        .contains("confirmed by 2 of 3")
        .contains("aa-gone (cannot connect to http://127.0.0.1:1");
    assertThat(body.get("Refreshing").asText()).isEqualTo("Incomplete");
    assertThat(body.get("Instances_Refreshed").asInt()).isEqualTo(2);
    assertThat(body.get("Not_Refreshed").toString()).isEqualTo("[\"aa-gone\"]");
    assertThat(TestServer.revisionHeader(r)).isEqualTo(body.get("Revision").asLong());
    assertThat(current(a)).isEqualTo(currentWith("0", "PARTIAL"));
    assertThat(current(b)).isEqualTo(currentWith("1", "PARTIAL"));
  }

  @Test
  void refresh_aMemberThatHasNotAppliedTheWriteInTime_isNamedWithItsAppliedRevision()
      throws Exception {
    // A server on another source never sees this source's revision: it answers the await with 504.
    // It runs as instance zz-behind, so it answers as the member registered here.
    try (TestServer behind =
        TestServer.start(TestServer.settings(), b -> b.instanceId("zz-behind"))) {
      source
          .backend()
          .membership()
          .register(new Member("zz-behind", behind.server.advertiseUrl(), Instant.now()))
          .get();
      a.put("/config/filler", "1");
      try (TestServer quick =
          instance(
              source, "2", TestServer.settings(b -> b.refreshTimeout(Duration.ofMillis(300))))) {
        long t0 = System.nanoTime();
        HttpResponse<byte[]> r = call(quick, "POST", "refresh", cacheBody("SLOW"));
        long tookMillis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(504);
        JsonNode body = json(r);
        assertThat(body.get("Not_Refreshed").toString()).isEqualTo("[\"zz-behind\"]");
        assertThat(body.get("Instances_Refreshed").asInt()).isEqualTo(3);
        assertThat(body.get("message").asText()).contains("zz-behind (applied only up to revision");
        assertThat(tookMillis).as("bounded by the refresh timeout").isLessThan(3_000);
      }
    }
  }

  @Test
  void refresh_whenTheBackendIsDown_is503AndNoInstanceChanges() {
    source.setAvailable(false);
    try {
      assertError(call(a, "POST", "refresh", cacheBody("DOWN")), 503, "backend_unavailable");
    } finally {
      source.setAvailable(true);
    }
    assertThat(current(a)).isEqualTo(currentWith("0", null));
    assertThat(current(b)).isEqualTo(currentWith("1", null));
  }

  @Test
  void bodyLargerThanTheLimit_is413AndStoresNothing() {
    try (TestServer small = instance(source, "2", TestServer.settings(b -> b.maxValueBytes(100)))) {
      TestServer.State before = small.state();
      assertError(
          call(small, "POST", "refresh", cacheBody("x".repeat(200))), 413, "payload_too_large");
      assertError(
          call(small, "POST", "update", cacheBody("x".repeat(200))), 413, "payload_too_large");
      assertThat(small.state()).isEqualTo(before);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Bad bodies
  // ---------------------------------------------------------------------------------------------

  @Test
  void badBodies_are400WithTheErrorShape_andChangeNothingAnywhere() {
    List<String> bad =
        List.of(
            "", // no body
            "   ", // blank
            "not json",
            "{\"MY_CACHE\": ", // truncated
            "[\"MY_CACHE\", \"x\"]", // not an object
            "\"MY_CACHE\"",
            "42",
            "null",
            "{}", // no field
            "{\"my_cache\": \"x\"}", // the name is case sensitive
            "{\"MY_CACHE\": 1}", // not a string
            "{\"MY_CACHE\": null}",
            "{\"MY_CACHE\": true}",
            "{\"MY_CACHE\": [\"x\"]}",
            "{\"MY_CACHE\": {\"v\": \"x\"}}",
            "{\"MY_CACHE\": \"x\", \"MY_CACHE\": \"y\"}", // duplicate field
            "{\"MY_CACHE\": \"x\"} trailing",
            "{\"MY_CACHE\": \"x\"}{}");
    call(a, "POST", "update", cacheBody("KEEP_A"));
    String beforeA = current(a);
    String beforeB = current(b);
    TestServer.State before = a.state();
    for (String route : List.of("update", "refresh", "refresh_all")) {
      for (String method : METHODS) {
        for (String body : bad) {
          HttpResponse<byte[]> r =
              call(
                  a,
                  method,
                  route,
                  body.isEmpty() ? null : body,
                  "Content-Type",
                  "application/json");
          JsonNode error = assertError(r, 400, "bad_request");
          assertThat(error.get("message").asText())
              .as("%s %s %s", method, route, body)
              .contains("MY_CACHE");
        }
        // Bytes that are not UTF-8.
        HttpResponse<byte[]> r =
            a.send(
                method,
                "/api/v1/" + route,
                new byte[] {'{', '"', 'M', (byte) 0xC3, (byte) 0x28, '"', '}'});
        assertError(r, 400, "bad_request");
      }
    }
    assertThat(current(a)).isEqualTo(beforeA);
    assertThat(current(b)).isEqualTo(beforeB);
    assertThat(a.state()).isEqualTo(before);
  }

  @Test
  void badBody_messageSaysWhatWasWrong() {
    assertThat(
            assertError(call(a, "POST", "update", null), 400, "bad_request")
                .get("message")
                .asText())
        .startsWith("body: missing");
    assertThat(
            assertError(call(a, "POST", "update", "{\"MY_CACHE\": 3}"), 400, "bad_request")
                .get("message")
                .asText())
        .startsWith("body: 'MY_CACHE' must be a string, was a number");
    assertThat(
            assertError(call(a, "POST", "update", "[]"), 400, "bad_request")
                .get("message")
                .asText())
        .startsWith("body: expected a JSON object, was an array");
    assertThat(
            assertError(call(a, "POST", "update", "{\"a\": 1}"), 400, "bad_request")
                .get("message")
                .asText())
        .startsWith("body: no field 'MY_CACHE'");
    assertThat(
            assertError(call(a, "POST", "update", "{x"), 400, "bad_request")
                .get("message")
                .asText())
        .startsWith("body: not valid JSON");
  }

  // ---------------------------------------------------------------------------------------------
  // Auth
  // ---------------------------------------------------------------------------------------------

  @Test
  void withTokens_everyRouteNeedsOne_andRefreshConfirmsWithTheClusterSecretNotTheUsersToken() {
    String readToken = "read-token-0123456789";
    String writeToken = "write-token-0123456789";
    AccessSettings access =
        AccessSettings.NONE
            .withTokens(
                List.of(
                    new AccessToken(Scope.READ, readToken),
                    new AccessToken(Scope.WRITE, writeToken)))
            .withClusterSecret("cluster-secret-0123456789");
    ServerSettings secured = TestServer.settings(b -> b.access(access));
    String[] read = {"Authorization", "Bearer " + readToken};
    String[] write = {"Authorization", "Bearer " + writeToken};
    try (InMemorySource shared = new InMemorySource(RevisionModel.SPARSE);
        TestServer x = instance(shared, "0", secured);
        TestServer y = instance(shared, "1", secured)) {
      for (String method : METHODS) {
        assertError(call(x, method, "current", null), 401, "unauthorized");
        assertThat(call(x, method, "current", null, read).statusCode()).isEqualTo(200);
        for (String route : List.of("update", "refresh", "refresh_all")) {
          assertError(call(x, method, route, cacheBody("NO")), 401, "unauthorized");
          assertError(
              call(x, method, route, cacheBody("NO"), "Authorization", "Bearer wrong"),
              401,
              "unauthorized");
          assertError(call(x, method, route, cacheBody("NO"), read), 403, "forbidden");
        }
      }
      assertThat(shared.entries()).isEmpty();
      assertThat(new String(call(x, "GET", "current", null, read).body(), UTF_8))
          .isEqualTo(currentWith("0", null));

      assertThat(call(x, "POST", "update", cacheBody("U"), write).statusCode()).isEqualTo(200);
      assertThat(call(x, "POST", "refresh_all", cacheBody("RA"), write).statusCode())
          .isEqualTo(200);
      HttpResponse<byte[]> r = call(x, "POST", "refresh", cacheBody("R"), write);
      assertThat(r.statusCode()).as(new String(r.body(), UTF_8)).isEqualTo(200);
      assertThat(json(r).get("Instances_Refreshed").asInt()).isEqualTo(2);
      assertThat(new String(call(y, "GET", "current", null, read).body(), UTF_8))
          .isEqualTo(currentWith("1", "R"));
    }
  }

  @Test
  void withTokensButDifferentClusterSecrets_refreshCannotConfirmTheOtherMember() {
    String writeToken = "write-token-0123456789";
    AccessSettings access =
        AccessSettings.NONE.withTokens(List.of(new AccessToken(Scope.WRITE, writeToken)));
    try (InMemorySource shared = new InMemorySource(RevisionModel.SPARSE);
        TestServer x =
            instance(
                shared,
                "0",
                TestServer.settings(
                    b ->
                        b.refreshTimeout(java.time.Duration.ofMillis(500))
                            .access(access.withClusterSecret("secret-of-x-0123456789"))));
        TestServer y =
            instance(
                shared,
                "1",
                TestServer.settings(
                    b -> b.access(access.withClusterSecret("secret-of-y-0123456789"))))) {
      // The user's write token reaches x, but x does not pass it on, and y refuses x's secret.
      HttpResponse<byte[]> r =
          call(x, "POST", "refresh", cacheBody("R"), "Authorization", "Bearer " + writeToken);
      assertThat(r.statusCode()).as(new String(r.body(), UTF_8)).isEqualTo(504);
      assertThat(json(r).get("Not_Refreshed").toString())
          .isEqualTo("[\"" + y.server.node().self().id() + "\"]");
      assertThat(json(r).get("message").asText()).contains("HTTP 401");
      assertThat(y.server.node().map().replica().stats().waiters()).isZero();
    }
  }
}
