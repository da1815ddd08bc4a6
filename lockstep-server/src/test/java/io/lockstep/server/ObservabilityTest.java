package io.lockstep.server;

import static io.lockstep.server.TestServer.header;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.testkit.PrometheusText;
import io.lockstep.testkit.PrometheusText.Family;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /metrics} in the Prometheus text format with the meters docs/operations.md lists; the
 * access log and {@code X-Request-Id} on answers of every kind; the drain that begins a graceful
 * stop.
 */
class ObservabilityTest {

  private static Map<String, Family> metrics(TestServer ts) {
    HttpResponse<byte[]> r = ts.get("/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(header(r, "Content-Type")).startsWith("text/plain; version=0.0.4");
    return PrometheusText.parse(new String(r.body(), UTF_8));
  }

  @Test
  void metrics_inNearMode_holdTheNearFigures_andOnlyThen() {
    try (TestServer ts =
        TestServer.start(
            TestServer.settings(), b -> b.mode(io.lockstep.ReplicaMode.NEAR).nearMaxKeys(2))) {
      for (int i = 0; i < 4; i++) {
        assertThat(ts.put("/config/k" + i, "1").statusCode()).isEqualTo(200);
        assertThat(ts.get("/config/k" + i).statusCode()).isEqualTo(200);
        assertThat(ts.get("/config/k" + i).statusCode()).isEqualTo(200);
      }
      Map<String, Family> m = metrics(ts);
      assertThat(m.get("lockstep_replica_near_max_keys").samples().get(0).value()).isEqualTo(2);
      assertThat(m.get("lockstep_replica_near_held_keys").samples().get(0).value())
          .isBetween(1.0, 2.0);
      assertThat(m.get("lockstep_replica_near_loads_total").samples().get(0).value())
          .isGreaterThanOrEqualTo(4);
      assertThat(m.get("lockstep_replica_near_hits_total").type()).isEqualTo("counter");
      for (String name :
          List.of(
              "lockstep_replica_near_misses_total",
              "lockstep_replica_near_load_failures_total",
              "lockstep_replica_near_stale_loads_dropped_total",
              "lockstep_replica_near_evictions_total")) {
        assertThat(m).as(name).containsKey(name);
      }
    }
    try (TestServer ts = TestServer.start()) {
      assertThat(metrics(ts)).doesNotContainKey("lockstep_replica_near_hits_total");
    }
  }

  @Test
  void metrics_parseAsPrometheusText_andHoldTheNamedMeters() {
    try (TestServer ts =
        TestServer.start(TestServer.settings(b -> b.counterBatch(Duration.ofMillis(5))))) {
      assertThat(ts.put("/config/secret-key-name", "{\"a\":1}").statusCode()).isEqualTo(200);
      assertThat(ts.get("/config/secret-key-name?use_cache=false").statusCode()).isEqualTo(200);
      assertThat(ts.get("/config/missing-key-name").statusCode()).isEqualTo(404);
      assertThat(ts.send("POST", "/counters/c?by=2", new byte[0]).statusCode()).isEqualTo(200);
      assertThat(ts.get("/data/metered-id").statusCode()).isEqualTo(200);
      assertThat(ts.get("/data/metered-id").statusCode()).isEqualTo(200);
      long applied = ts.server.node().map().replica().appliedRevision();

      Map<String, Family> m = metrics(ts);

      Family http = m.get("lockstep_http_requests_seconds");
      assertThat(http.type()).isEqualTo("histogram");
      assertThat(
              http.sum(
                  "lockstep_http_requests_seconds_count",
                  Map.of("method", "PUT", "route", "/config/<key>", "status", "2xx")))
          .isEqualTo(1);
      assertThat(
              http.sum(
                  "lockstep_http_requests_seconds_count",
                  Map.of("method", "GET", "route", "/config/<key>", "status", "4xx")))
          .isEqualTo(1);
      // Route templates only: no key ever becomes a label value.
      assertThat(m.values())
          .flatMap(Family::samples)
          .allSatisfy(s -> assertThat(s.labels().values()).noneMatch(v -> v.contains("key-name")));

      Family backend = m.get("lockstep_backend_calls_seconds");
      assertThat(backend.type()).isEqualTo("histogram");
      for (String call : List.of("write", "strong_read", "listing")) {
        assertThat(
                backend.sum(
                    "lockstep_backend_calls_seconds_count",
                    Map.of("call", call, "outcome", "success")))
            .as(call)
            .isGreaterThanOrEqualTo(1);
      }
      assertThat(
              m.get("lockstep_counter_flushes_seconds")
                  .sum("lockstep_counter_flushes_seconds_count", Map.of("outcome", "success")))
          .isGreaterThanOrEqualTo(1);
      assertThat(
              m.get("lockstep_counter_flush_increments")
                  .sum("lockstep_counter_flush_increments_sum", Map.of()))
          .isEqualTo(1); // one increment (by 2) in the window

      assertThat(m.get("lockstep_replica_applied_revision").type()).isEqualTo("gauge");
      assertThat(m.get("lockstep_replica_applied_revision").samples().get(0).value())
          .isEqualTo(applied);
      assertThat(m.get("lockstep_replica_ready").samples().get(0).value()).isEqualTo(1);
      for (String gauge :
          List.of(
              "lockstep_replica_head_revision",
              "lockstep_replica_lag_revisions",
              "lockstep_replica_lag_seconds",
              "lockstep_replica_keys",
              "lockstep_replica_waiters",
              "lockstep_replica_pending_changes",
              "lockstep_replica_pending_changes_peak")) {
        assertThat(m).as(gauge).containsKey(gauge);
        assertThat(m.get(gauge).type()).as(gauge).isEqualTo("gauge");
      }
      for (String counter :
          List.of(
              "lockstep_replica_relists_total",
              "lockstep_replica_gaps_total",
              "lockstep_replica_resets_total",
              "lockstep_replica_reconnects_total",
              "lockstep_replica_listener_failures_total",
              "lockstep_replica_feed_pauses_total",
              "lockstep_backend_feed_errors_total")) {
        assertThat(m).as(counter).containsKey(counter);
        assertThat(m.get(counter).type()).as(counter).isEqualTo("counter");
      }
      assertThat(m.get("lockstep_replica_keys").samples().get(0).value()).isEqualTo(1);
      // The data group, as /stats shows it under groups.data: two gets, one load, one hit.
      Map<String, String> data = Map.of("group", "data");
      assertThat(m.get("lockstep_group_gets_total").type()).isEqualTo("counter");
      assertThat(m.get("lockstep_group_gets_total").sum("lockstep_group_gets_total", data))
          .isEqualTo(2);
      assertThat(
              m.get("lockstep_group_local_loads_total")
                  .sum("lockstep_group_local_loads_total", data))
          .isEqualTo(1);
      assertThat(
              m.get("lockstep_group_cache_hits_total").sum("lockstep_group_cache_hits_total", data))
          .isEqualTo(1);
      for (String counter :
          List.of(
              "lockstep_group_peer_loads_total",
              "lockstep_group_peer_errors_total",
              "lockstep_group_loads_total",
              "lockstep_group_loads_deduped_total",
              "lockstep_group_local_load_errors_total",
              "lockstep_group_server_requests_total")) {
        assertThat(m).as(counter).containsKey(counter);
        assertThat(m.get(counter).type()).as(counter).isEqualTo("counter");
      }
      assertThat(
              m.get("lockstep_group_cache_items")
                  .sum("lockstep_group_cache_items", Map.of("group", "data", "cache", "main")))
          .isEqualTo(1);
      assertThat(
              m.get("lockstep_group_cache_bytes")
                  .sum("lockstep_group_cache_bytes", Map.of("group", "data", "cache", "main")))
          .isPositive();
      for (String jvm :
          List.of(
              "jvm_memory_used_bytes",
              "jvm_threads_live_threads",
              "jvm_gc_memory_allocated_bytes_total",
              "system_cpu_count",
              "process_uptime_seconds")) {
        assertThat(m).as(jvm).containsKey(jvm);
      }
    }
  }

  @Test
  void parser_refusesWhatIsNotTheTextFormat() {
    // The parser the test relies on is strict: each of these breaks the format in one place.
    for (String bad :
        List.of(
            "a 1", // no final line feed
            "a{b=\"1\" 1\n",
            "a{b=1} 1\n",
            "a one\n",
            "# TYPE a gauge\n# TYPE a gauge\na 1\n",
            "# TYPE a histogram\na_bucket{le=\"1\"} 1\na_count 1\na_sum 1\n",
            "a 1\nb 1\na{x=\"y\"} 1\n",
            "a{b=\"x\\q\"} 1\n")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> PrometheusText.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /** Everything slf4j-simple writes to stderr while {@code body} runs. */
  private static String stderrOf(Runnable body) {
    PrintStream old = System.err;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream tee = new PrintStream(new TeeStream(bytes, old), true, UTF_8);
    System.setErr(tee);
    try {
      body.run();
    } finally {
      System.setErr(old);
    }
    return bytes.toString(UTF_8);
  }

  private static final class TeeStream extends java.io.OutputStream {
    private final java.io.OutputStream a;
    private final java.io.OutputStream b;

    TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public synchronized void write(int x) throws java.io.IOException {
      a.write(x);
      b.write(x);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) throws java.io.IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }
  }

  private static String lineWith(String log, String part) {
    return log.lines()
        .filter(l -> l.contains(part))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no line with " + part + " in\n" + log));
  }

  @Test
  void accessLog_andRequestId_onSuccessAndErrors() {
    String token = "s3cr3t-t0ken-0123456789";
    String auth = "Bearer " + token;
    AccessSettings tokens =
        AccessSettings.NONE.withTokens(List.of(new AccessToken(Scope.WRITE, token)));
    try (TestServer ts = TestServer.start(TestServer.settings(b -> b.access(tokens)))) {
      List<HttpResponse<byte[]>> answers = new ArrayList<>();
      String log =
          stderrOf(
              () -> {
                answers.add(
                    ts.put("/config/a", "{}", "Authorization", auth, "X-Request-Id", "given-id.1"));
                answers.add(
                    ts.get("/config/nothing", "Authorization", auth, "X-Request-Id", "given-id.2"));
                answers.add(ts.put("/config/b", "{}", "X-Request-Id", "given-id.3")); // 401
                answers.add(ts.get("/no/such/route", "X-Request-Id", "given-id.4")); // 404
                answers.add(
                    ts.get("/config/a?use_cache=maybe&min_revision=x", "Authorization", auth));
                answers.add(
                    ts.get("/config/a", "Authorization", auth, "X-Request-Id", "x".repeat(129)));
                answers.add(
                    ts.get("/config/a", "Authorization", auth, "X-Request-Id", "has space"));
                answers.add(
                    ts.get(
                        "/config/a?api_token=hidden1",
                        "Authorization",
                        auth,
                        "X-Request-Id",
                        "given-id.5"));
                await().pollDelay(Duration.ofMillis(100)).until(() -> true); // lines are written
              });
      assertThat(answers)
          .extracting(HttpResponse::statusCode)
          .containsExactly(200, 404, 401, 404, 400, 200, 200, 400);
      for (int i = 0; i < 4; i++) {
        assertThat(header(answers.get(i), "X-Request-Id")).isEqualTo("given-id." + (i + 1));
      }
      List<String> generated = new ArrayList<>();
      for (int i = 4; i < 7; i++) {
        String id = header(answers.get(i), "X-Request-Id");
        assertThat(id).matches("[0-9a-f]{16}");
        generated.add(id);
      }
      assertThat(generated).doesNotHaveDuplicates();

      String put = lineWith(log, " given-id.1");
      assertThat(put)
          .matches(
              ".*INFO .*access - 127\\.0\\.0\\.1 - - \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d [+-]\\d{4}] "
                  + "\"PUT /config/a HTTP/1\\.1\" 200 2 \"-\" \"[^\"]*\" "
                  + "\\d+\\.\\d{3}ms given-id\\.1");
      assertThat(lineWith(log, " given-id.2")).contains("\"GET /config/nothing HTTP/1.1\" 404 ");
      assertThat(lineWith(log, " given-id.3")).contains("\"PUT /config/b HTTP/1.1\" 401 ");
      assertThat(lineWith(log, " given-id.4")).contains("\"GET /no/such/route HTTP/1.1\" 404 ");
      assertThat(lineWith(log, " " + generated.get(0)))
          .contains("\"GET /config/a?use_cache=maybe&min_revision=x HTTP/1.1\" 400 ");
      assertThat(lineWith(log, " given-id.5"))
          .contains("\"GET /config/a?api_token=*** HTTP/1.1\" 400 ");
      assertThat(log).doesNotContain("s3cr3t-t0ken").doesNotContain("hidden1");
    }
  }

  @Test
  void drain_readinessAndLongPollsAnswer503WithRetryAfter_othersStillServed() throws Exception {
    try (TestServer ts = TestServer.start()) {
      ts.put("/config/k", "{}");
      long far = ts.server.node().map().replica().appliedRevision() + 1000;
      CompletableFuture<HttpResponse<byte[]>> poll =
          CompletableFuture.supplyAsync(() -> ts.get("/config/k?min_revision=" + far));
      CompletableFuture<HttpResponse<byte[]>> await =
          CompletableFuture.supplyAsync(() -> ts.get("/admin/await?revision=" + far));
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> ts.server.node().map().replica().stats().waiters() >= 2);

      long t0 = System.nanoTime();
      ts.server.drain();
      for (Supplier<HttpResponse<byte[]>> r :
          List.<Supplier<HttpResponse<byte[]>>>of(
              () -> poll.join(),
              () -> await.join(),
              () -> ts.get("/health/ready"),
              () -> ts.get("/config/k?min_revision=" + far),
              () -> ts.get("/admin/await?revision=" + far))) {
        HttpResponse<byte[]> a = r.get();
        TestServer.assertError(a, 503, "not_ready");
        assertThat(header(a, "Retry-After")).isEqualTo("1");
      }
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(2000);
      // Everything else is still answered until HTTP stops.
      assertThat(ts.get("/config/k").statusCode()).isEqualTo(200);
      assertThat(ts.put("/config/k2", "{}").statusCode()).isEqualTo(200);
      assertThat(ts.get("/health/live").statusCode()).isEqualTo(200);
    }
  }
}
