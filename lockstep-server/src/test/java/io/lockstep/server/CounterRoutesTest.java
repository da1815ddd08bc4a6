package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.json;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code GET /count} and the named counters, over the in-memory source. */
class CounterRoutesTest {
  private TestServer ts;

  @BeforeEach
  void start() {
    ts = TestServer.start();
  }

  @AfterEach
  void stop() {
    ts.close();
  }

  @Test
  void count_json_countsThisRequest() {
    JsonNode first = json(ts.get("/count"));
    assertThat(first.get("instance").asText()).isEqualTo(ts.server.node().self().id());
    assertThat(first.get("instance_requests").asLong()).isEqualTo(1);
    assertThat(first.get("cluster_requests").asLong()).isEqualTo(1);
    JsonNode second = json(ts.get("/count"));
    assertThat(second.get("instance_requests").asLong()).isEqualTo(2);
    assertThat(second.get("cluster_requests").asLong()).isEqualTo(2);
    assertThat(ts.source.counter(CounterRoutes.REQUESTS)).isEqualTo(2);
  }

  @Test
  void count_textPlain_isTheExactSentence() {
    HttpResponse<byte[]> r = ts.get("/count", "Accept", "text/plain");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    URI advertised = URI.create(ts.server.node().self().url());
    assertThat(new String(r.body(), UTF_8))
        .isEqualTo(
            "You are talking to instance "
                + advertised.getHost()
                + ":"
                + advertised.getPort()
                + ".\nThis is request 1 to this instance and request 1 to the cluster.\n");
  }

  @Test
  void count_twoReplicas_shareTheClusterCount_eachKeepsItsOwn() {
    try (TestServer other = TestServer.replica(ts.source, TestServer.settings())) {
      json(ts.get("/count"));
      json(ts.get("/count"));
      JsonNode third = json(other.get("/count"));
      assertThat(third.get("instance_requests").asLong()).isEqualTo(1);
      assertThat(third.get("cluster_requests").asLong()).isEqualTo(3);
    }
  }

  @Test
  void count_backendDown_is503_andNeitherCountMoves() {
    json(ts.get("/count"));
    ts.source.setAvailable(false);
    assertError(ts.get("/count"), 503, "backend_unavailable");
    assertError(ts.get("/count", "Accept", "text/plain"), 503, "backend_unavailable");
    ts.source.setAvailable(true);
    JsonNode after = json(ts.get("/count"));
    assertThat(after.get("instance_requests").asLong()).isEqualTo(2);
    assertThat(after.get("cluster_requests").asLong()).isEqualTo(2);
  }

  @Test
  void counters_postAndGet() {
    assertThat(json(ts.get("/counters/orders")).get("value").asLong()).isZero();
    assertThat(json(ts.send("POST", "/counters/orders", null)).get("value").asLong()).isEqualTo(1);
    JsonNode r = json(ts.send("POST", "/counters/orders?by=41", null));
    assertThat(r.get("name").asText()).isEqualTo("orders");
    assertThat(r.get("value").asLong()).isEqualTo(42);
    assertThat(json(ts.send("POST", "/counters/orders?by=-2", null)).get("value").asLong())
        .isEqualTo(40);
    assertThat(json(ts.get("/counters/orders")).get("value").asLong()).isEqualTo(40);
    assertThat(ts.state().entries()).as("counters are not map entries").isEmpty();
  }

  @Test
  void counters_badInput_is400_andCountsNothing() {
    for (String q :
        new String[] {
          "?by=x",
          "?by=",
          "?by=1.5",
          "?by=99999999999999999999",
          "?by=1000000000001",
          "?by=1&by=2",
          "?other=1"
        }) {
      assertError(ts.send("POST", "/counters/c" + q, null), 400, "bad_request");
    }
    assertError(ts.send("POST", "/counters/" + "x".repeat(129), null), 400, "bad_request");
    assertError(ts.send("POST", "/counters/a%20b", null), 400, "bad_request");
    assertError(ts.get("/counters/%C3%A9"), 400, "bad_request");
    assertError(ts.get("/count?x=1"), 400, "bad_request");
    assertThat(ts.source.counter("c")).isZero();
  }

  @Test
  void counters_backendDown_is503() {
    ts.source.setAvailable(false);
    assertError(ts.send("POST", "/counters/c", null), 503, "backend_unavailable");
    assertError(ts.get("/counters/c"), 503, "backend_unavailable");
  }

  @Test
  void increment_idempotencyKeyRetried_answersTheFirstValue_onAnyInstance_countsOnce() {
    HttpResponse<byte[]> first =
        ts.send("POST", "/counters/c?by=5", null, "Idempotency-Key", "i-1");
    assertThat(json(first).get("value").asLong()).isEqualTo(5);
    assertThat(first.headers().firstValue(Headers.IDEMPOTENT_REPLAYED)).isEmpty();
    json(ts.send("POST", "/counters/c?by=2", null));
    HttpResponse<byte[]> again =
        ts.send("POST", "/counters/c?by=5", null, "Idempotency-Key", "i-1");
    assertThat(json(again).get("value").asLong()).isEqualTo(5);
    assertThat(again.headers().firstValue(Headers.IDEMPOTENT_REPLAYED)).contains("true");
    try (TestServer other = TestServer.replica(ts.source, TestServer.settings())) {
      HttpResponse<byte[]> elsewhere =
          other.send("POST", "/counters/c?by=5", null, "Idempotency-Key", "i-1");
      assertThat(json(elsewhere).get("value").asLong()).isEqualTo(5);
      assertThat(elsewhere.headers().firstValue(Headers.IDEMPOTENT_REPLAYED)).contains("true");
    }
    assertThat(ts.source.counter("c")).isEqualTo(7);
  }

  @Test
  void increment_idempotencyKeyReusedForAnotherRequest_422_countsNothing() {
    json(ts.send("POST", "/counters/c", null, "Idempotency-Key", "i-2"));
    assertError(
        ts.send("POST", "/counters/c?by=2", null, "Idempotency-Key", "i-2"),
        422,
        "idempotency_key_reused");
    assertError(
        ts.send("POST", "/counters/d", null, "Idempotency-Key", "i-2"),
        422,
        "idempotency_key_reused");
    assertThat(ts.source.counters()).isEqualTo(java.util.Map.of("c", 1L));
  }

  @Test
  void increment_badIdempotencyKey_400_countsNothing() {
    assertError(
        ts.send("POST", "/counters/c", null, "Idempotency-Key", "x".repeat(256)),
        400,
        "bad_request");
    assertError(
        ts.send("POST", "/counters/c", null, "Idempotency-Key", "\"\""), 400, "bad_request");
    assertThat(ts.source.counters()).isEmpty();
  }
}
