package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.header;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockstep.BackendUnavailableException;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.ForwardingBackend;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** Keys with control characters or bad UTF-8, nosniff, Retry-After, and unknown outcomes. */
class StatusCodesTest {

  @Test
  void head_onlyOnConfigKeys_elsewhere405AndTheRouteDoesNotRun() throws Exception {
    // Javalin answers HEAD on a GET route with an empty 200 of its own unless told otherwise: HEAD
    // /count then looked like a count, and HEAD /api/v1/refresh like a refresh, that never ran.
    try (TestServer ts = TestServer.start()) {
      ts.put("/config/k", "{}");
      TestServer.State before = ts.state();
      for (String path : List.of("/count", "/stats", "/api/v1/refresh", "/cluster", "/config")) {
        RawHttp.Answer a = RawHttp.send(ts.server.port(), "HEAD", path, "127.0.0.1");
        assertThat(a.status()).as("HEAD " + path).isEqualTo(405);
      }
      assertThat(ts.state()).isEqualTo(before);
      assertThat(RawHttp.send(ts.server.port(), "HEAD", "/config/k", "127.0.0.1").status())
          .isEqualTo(200);
      assertThat(RawHttp.send(ts.server.port(), "HEAD", "/config/none", "127.0.0.1").status())
          .isEqualTo(404);
    }
  }

  @Test
  void keysWithControlCharactersOrInvalidUtf8_are400AndStoreNothing() throws Exception {
    try (TestServer ts = TestServer.start()) {
      TestServer.State before = ts.state();
      for (String key :
          List.of(
              "a%00b",
              "a%0Ab",
              "a%0D%0Ab",
              "%1B%5B31m",
              "a%7Fb",
              "a%C2%85b", // U+0085, a C1 control
              "a%E2%80%A8b", // line separator
              "a%FFb", // not UTF-8
              "a%C0%AFb", // overlong '/'
              "a%ED%A0%80b", // a UTF-16 surrogate, not allowed in UTF-8
              "a%E2%82b", // truncated sequence
              "a%F4%90%80%80b")) { // above U+10FFFF
        for (String method : List.of("PUT", "POST")) {
          assertError(ts.send(method, "/config/" + key, "v".getBytes(UTF_8)), 400, "bad_request");
        }
        assertError(ts.get("/config/" + key), 400, "bad_request");
        assertError(ts.delete("/config/" + key), 400, "bad_request");
        assertError(ts.send("POST", "/counters/" + key, null), 400, "bad_request");
      }
      for (String target : List.of("/config/a%zzb", "/config/a%4", "/config/%")) {
        RawHttp.Answer a = RawHttp.send(ts.server.port(), "PUT", target, "127.0.0.1");
        assertThat(a.status()).as(target).isEqualTo(400);
        assertThat(a.text()).contains("\"error\":\"bad_request\"");
      }
      assertThat(ts.state()).isEqualTo(before);
      assertThat(ts.put("/config/caf%C3%A9%20%E2%9C%93", "ok").statusCode()).isEqualTo(200);
      assertThat(ts.source.entries().get(0).key()).isEqualTo("café ✓");
    }
  }

  @Test
  void everyAnswer_carriesNosniff() throws Exception {
    try (TestServer ts = TestServer.start()) {
      ts.put("/config/page", "<script>alert(1)</script>", "Content-Type", "text/html");
      for (HttpResponse<byte[]> r :
          List.of(
              ts.get("/config/page"),
              ts.get("/config"),
              ts.get("/config/absent"),
              ts.get("/no/such/route"),
              ts.send("PATCH", "/config/page", null),
              ts.get("/health/live"))) {
        assertThat(header(r, "X-Content-Type-Options"))
            .as("%s %s", r.request().method(), r.request().uri())
            .isEqualTo("nosniff");
      }
      // and Jetty's own answers, to requests it refuses before any route runs
      RawHttp.Answer bad = RawHttp.send(ts.server.port(), "GET /x HTTP/1.1\r\nHost", new byte[0]);
      assertThat(bad.status()).isEqualTo(400);
      assertThat(bad.header("X-Content-Type-Options")).isEqualTo("nosniff");
    }
  }

  @Test
  void every503_carriesRetryAfter() {
    try (TestServer ts = TestServer.start()) {
      ts.put("/config/k", "v");
      ts.source.setAvailable(false);
      for (HttpResponse<byte[]> r :
          List.of(
              ts.get("/config/k?use_cache=false"),
              ts.get("/counters/c"),
              ts.put("/config/k", "w"))) {
        assertError(r, 503, "backend_unavailable");
        assertThat(header(r, "Retry-After")).isEqualTo("1");
      }
    }
  }

  @Test
  void aWriteWhoseOutcomeIsUnknown_is500OutcomeUnknown_notARetryable503() {
    InMemorySource source = new InMemorySource(RevisionModel.SPARSE);
    try (TestServer ts =
        TestServer.start(
            source,
            true,
            TestServer.settings(),
            b -> b.backend(new LostAnswers(source.backend())),
            true)) {
      HttpResponse<byte[]> r = ts.put("/config/k", "v");
      var body = assertError(r, 500, "outcome_unknown");
      assertThat(body.get("message").asText())
          .contains("may have been applied", "use_cache=false", "Idempotency-Key");
      assertThat(header(r, "Retry-After")).isNull();
      // it was in fact applied: the answer was what got lost
      assertThat(ts.source.entries()).hasSize(1);
    }
  }

  /**
   * A backend whose writes commit, then lose their answer: the outcome is unknown to the caller.
   */
  private static final class LostAnswers extends ForwardingBackend {
    LostAnswers(Backend delegate) {
      super(delegate);
    }

    private static <T> CompletableFuture<T> lost(CompletableFuture<?> committed) {
      return committed.thenCompose(
          r ->
              CompletableFuture.failedFuture(
                  new BackendUnavailableException(
                      "the connection dropped before the answer arrived", null, true)));
    }

    @Override
    public CompletableFuture<WriteResult> put(
        String key, byte[] value, String contentType, long expectedRevision) {
      return lost(delegate().put(key, value, contentType, expectedRevision));
    }

    @Override
    public CompletableFuture<WriteResult> delete(String key, long expectedRevision) {
      return lost(delegate().delete(key, expectedRevision));
    }

    @Override
    public CompletableFuture<WriteResult> put(
        String key,
        byte[] value,
        String contentType,
        long expectedRevision,
        @Nullable String requestId) {
      return lost(delegate().put(key, value, contentType, expectedRevision, requestId));
    }

    @Override
    public CompletableFuture<WriteResult> delete(
        String key, long expectedRevision, @Nullable String requestId) {
      return lost(delegate().delete(key, expectedRevision, requestId));
    }
  }
}
