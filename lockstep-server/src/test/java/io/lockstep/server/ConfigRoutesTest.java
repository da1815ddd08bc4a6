package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.header;
import static io.lockstep.server.TestServer.json;
import static io.lockstep.server.TestServer.revisionHeader;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.Versioned;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code /config/<key>} and {@code /config}: good paths, and every bad input refused with nothing
 * stored.
 */
class ConfigRoutesTest {
  private static final int SMALL_LIMIT = 1000;
  private TestServer ts;

  @BeforeEach
  void start() {
    ts =
        TestServer.start(
            TestServer.settings(b -> b.maxValueBytes(SMALL_LIMIT).maxWait(Duration.ofMillis(300))));
  }

  @AfterEach
  void stop() {
    ts.close();
  }

  private Versioned stored(String key) {
    return ts.source.entries().stream().filter(v -> v.key().equals(key)).findFirst().orElse(null);
  }

  // ---------------------------------------------------------------------------------------------
  // PUT / POST
  // ---------------------------------------------------------------------------------------------

  @Test
  void put_binaryValue_isStoredAndEchoedByteForByteWithItsContentType() {
    byte[] value = new byte[256];
    for (int i = 0; i < value.length; i++) {
      value[i] = (byte) i;
    }
    HttpResponse<byte[]> put =
        ts.put("/config/bin", value, "Content-Type", "application/x-custom; v=1");
    assertThat(put.statusCode()).isEqualTo(200);
    assertThat(put.body()).isEqualTo(value);
    assertThat(header(put, "Content-Type")).isEqualTo("application/x-custom; v=1");
    long rev = revisionHeader(put);
    assertThat(rev).isEqualTo(ts.source.revision());
    assertThat(header(put, "ETag")).isEqualTo("\"" + rev + "\"");
    assertThat(stored("bin").value()).isEqualTo(value);
    assertThat(stored("bin").contentType()).isEqualTo("application/x-custom; v=1");

    HttpResponse<byte[]> get = ts.get("/config/bin");
    assertThat(get.statusCode()).isEqualTo(200);
    assertThat(get.body()).isEqualTo(value);
    assertThat(header(get, "Content-Type")).isEqualTo("application/x-custom; v=1");
    assertThat(revisionHeader(get)).isEqualTo(rev);
    assertThat(Long.parseLong(header(get, Headers.APPLIED))).isGreaterThanOrEqualTo(rev);
    assertThat(header(get, "ETag")).isEqualTo("\"" + rev + "\"");
  }

  @Test
  void put_jsonValue_isEchoedAsJson() {
    HttpResponse<byte[]> put =
        ts.put("/config/j", "{\"test\":\"abc\"}", "Content-Type", "application/json");
    assertThat(put.statusCode()).isEqualTo(200);
    assertThat(json(put).get("test").asText()).isEqualTo("abc");
    assertThat(json(ts.get("/config/j?use_cache=true")).get("test").asText()).isEqualTo("abc");
  }

  @Test
  void put_withoutContentType_storesTheDefaultType() {
    HttpResponse<byte[]> put = ts.put("/config/plain", "x");
    assertThat(put.statusCode()).isEqualTo(200);
    assertThat(header(put, "Content-Type")).isEqualTo(Versioned.DEFAULT_CONTENT_TYPE);
    assertThat(header(ts.get("/config/plain"), "Content-Type"))
        .isEqualTo(Versioned.DEFAULT_CONTENT_TYPE);
  }

  @Test
  void put_emptyBody_storesAnEmptyValue() {
    assertThat(ts.put("/config/empty", new byte[0]).statusCode()).isEqualTo(200);
    HttpResponse<byte[]> get = ts.get("/config/empty");
    assertThat(get.statusCode()).isEqualTo(200);
    assertThat(get.body()).isEmpty();
  }

  @Test
  void post_isAnAliasOfPut() {
    HttpResponse<byte[]> post =
        ts.send("POST", "/config/p", "v".getBytes(UTF_8), "Content-Type", "text/plain");
    assertThat(post.statusCode()).isEqualTo(200);
    assertThat(new String(post.body(), UTF_8)).isEqualTo("v");
    assertThat(stored("p").valueAsString()).isEqualTo("v");
  }

  @Test
  void put_overwrite_returnsANewerRevision() {
    long r1 = revisionHeader(ts.put("/config/k", "1"));
    long r2 = revisionHeader(ts.put("/config/k", "2"));
    assertThat(r2).isGreaterThan(r1);
    assertThat(new String(ts.get("/config/k").body(), UTF_8)).isEqualTo("2");
  }

  @Test
  void keys_withSlashesAndEncodedCharacters_areStoredDecodedAndExact() {
    Map<String, String> pathToKey = new LinkedHashMap<>();
    pathToKey.put("/config/load_tests/abcDEF", "load_tests/abcDEF");
    pathToKey.put("/config/a/b/c", "a/b/c");
    pathToKey.put("/config/dir/", "dir/");
    pathToKey.put("/config/caf%C3%A9%20au%20lait", "café au lait");
    pathToKey.put("/config/a%2Fencoded", "a/encoded");
    pathToKey.put("/config/q%3Fmark", "q?mark");
    pathToKey.put("/config/per%25cent", "per%cent");
    pathToKey.put("/config/plus+sign", "plus+sign");
    for (Map.Entry<String, String> e : pathToKey.entrySet()) {
      HttpResponse<byte[]> put = ts.put(e.getKey(), e.getValue(), "Content-Type", "text/plain");
      assertThat(put.statusCode()).as(e.getKey()).isEqualTo(200);
      assertThat(stored(e.getValue())).as(e.getKey()).isNotNull();
      HttpResponse<byte[]> get = ts.get(e.getKey());
      assertThat(get.statusCode()).as(e.getKey()).isEqualTo(200);
      assertThat(new String(get.body(), UTF_8)).isEqualTo(e.getValue());
    }
    assertThat(ts.source.entries())
        .extracting(Versioned::key)
        .containsExactlyInAnyOrderElementsOf(pathToKey.values());
    assertThat(ts.delete("/config/a/b/c").statusCode()).isEqualTo(204);
    assertThat(stored("a/b/c")).isNull();
  }

  @Test
  void key_ofExactly1024Bytes_isAcceptedAnd1025IsRefused() {
    String ok = "k".repeat(1024);
    assertThat(ts.put("/config/" + ok, "v").statusCode()).isEqualTo(200);
    assertThat(ts.get("/config/" + ok).statusCode()).isEqualTo(200);
    // Multi-byte characters count in UTF-8 bytes: 512 x 2 bytes is the limit.
    String twoByte = "é".repeat(512);
    assertThat(ts.put("/config/" + java.net.URLEncoder.encode(twoByte, UTF_8), "v").statusCode())
        .isEqualTo(200);

    TestServer.State before = ts.state();
    String tooLong = "k".repeat(1025);
    assertThat(
            assertError(ts.put("/config/" + tooLong, "v"), 400, "bad_request")
                .get("message")
                .asText())
        .contains("1025 bytes")
        .contains("1024");
    assertError(
        ts.put("/config/" + java.net.URLEncoder.encode("é".repeat(513), UTF_8), "v"),
        400,
        "bad_request");
    assertError(ts.get("/config/" + tooLong), 400, "bad_request");
    assertError(ts.get("/config/" + tooLong + "?use_cache=false"), 400, "bad_request");
    assertError(ts.delete("/config/" + tooLong), 400, "bad_request");
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void key_inTheReservedMembershipPrefix_isRefused() {
    TestServer.State before = ts.state();
    assertError(ts.put("/config/_members/x", "v"), 400, "bad_request");
    assertError(ts.get("/config/_members/x"), 400, "bad_request");
    assertError(ts.delete("/config/_members/x"), 400, "bad_request");
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void emptyKey_isABadRequestOnEveryMethod() {
    TestServer.State before = ts.state();
    for (String path : List.of("/config/", "/config")) {
      assertThat(assertError(ts.put(path, "v"), 400, "bad_request").get("message").asText())
          .contains("key");
      assertError(ts.send("POST", path, "v".getBytes(UTF_8)), 400, "bad_request");
      assertError(ts.delete(path), 400, "bad_request");
    }
    assertError(ts.get("/config/"), 400, "bad_request");
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void value_atTheLimit_isAcceptedAndOneByteMoreIsRefusedWith413() {
    assertThat(ts.put("/config/big", new byte[SMALL_LIMIT]).statusCode()).isEqualTo(200);
    TestServer.State before = ts.state();
    JsonNode err =
        assertError(ts.put("/config/big", new byte[SMALL_LIMIT + 1]), 413, "payload_too_large");
    assertThat(err.get("message").asText()).contains(Integer.toString(SMALL_LIMIT));
    assertError(ts.put("/config/other", new byte[SMALL_LIMIT * 50]), 413, "payload_too_large");
    assertThat(ts.state()).isEqualTo(before);
    assertThat(stored("big").value()).hasSize(SMALL_LIMIT);
  }

  @Test
  void value_sentWithoutContentLength_isStillBoundedAndRefused() {
    // A streamed body has no Content-Length: the server reads at most limit + 1 bytes, then
    // refuses.
    HttpRequest tooBig =
        HttpRequest.newBuilder(ts.uri("/config/chunked"))
            .PUT(
                HttpRequest.BodyPublishers.ofInputStream(
                    () -> new ByteArrayInputStream(new byte[SMALL_LIMIT + 1])))
            .build();
    TestServer.State before = ts.state();
    assertError(ts.send(tooBig), 413, "payload_too_large");
    assertThat(ts.state()).isEqualTo(before);

    HttpRequest fits =
        HttpRequest.newBuilder(ts.uri("/config/chunked"))
            .PUT(
                HttpRequest.BodyPublishers.ofInputStream(
                    () -> new ByteArrayInputStream(new byte[SMALL_LIMIT])))
            .build();
    assertThat(ts.send(fits).statusCode()).isEqualTo(200);
    assertThat(stored("chunked").value()).hasSize(SMALL_LIMIT);
  }

  @Test
  void value_withABrokenChunkedEncoding_isAJson400AndStoresNothing() throws Exception {
    TestServer.State before = ts.state();
    try (Socket socket = new Socket("127.0.0.1", ts.server.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("PUT /config/broken HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                  + "Connection: close\r\n\r\n5\r\nabc")
              .getBytes(UTF_8));
      out.flush();
      Thread.sleep(100);
      out.write("ZZ-not-a-chunk-size\r\n\r\n".getBytes(UTF_8));
      out.flush();
      String answer = new String(socket.getInputStream().readAllBytes(), UTF_8);
      assertThat(answer).startsWith("HTTP/1.1 400");
      assertThat(answer).contains("application/json").contains("\"error\":\"bad_request\"");
    }
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void value_atTheDefaultLimitOfOneMebibyte_isAcceptedAndOneByteMoreIsRefused() {
    try (TestServer big = TestServer.start(TestServer.settings())) {
      assertThat(big.server.settings().maxValueBytes()).isEqualTo(1 << 20);
      assertThat(big.server.node().config().maxValueBytes()).isEqualTo(1 << 20);
      byte[] mib = new byte[1 << 20];
      mib[mib.length - 1] = 42;
      HttpResponse<byte[]> ok = big.put("/config/mib", mib);
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(ok.body()).isEqualTo(mib);
      TestServer.State before = big.state();
      assertError(big.put("/config/mib", new byte[(1 << 20) + 1]), 413, "payload_too_large");
      assertThat(big.state()).isEqualTo(before);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // If-Match: compare-and-set, compare-and-delete
  // ---------------------------------------------------------------------------------------------

  @Test
  void ifMatch_zero_createsOnlyWhenAbsent() {
    HttpResponse<byte[]> created = ts.put("/config/cas", "1", "If-Match", "0");
    assertThat(created.statusCode()).isEqualTo(200);
    long rev = revisionHeader(created);

    TestServer.State before = ts.state();
    HttpResponse<byte[]> again = ts.put("/config/cas", "2", "If-Match", "0");
    assertThat(assertError(again, 412, "precondition_failed").get("message").asText())
        .contains("must not exist");
    assertThat(revisionHeader(again)).isEqualTo(rev);
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void ifMatch_currentRevision_writesAndStaleRevisionFailsWith412() {
    long r1 = revisionHeader(ts.put("/config/cas", "1"));
    HttpResponse<byte[]> ok = ts.put("/config/cas", "2", "If-Match", "\"" + r1 + "\""); // ETag form
    assertThat(ok.statusCode()).isEqualTo(200);
    long r2 = revisionHeader(ok);
    assertThat(r2).isGreaterThan(r1);

    TestServer.State before = ts.state();
    HttpResponse<byte[]> stale = ts.put("/config/cas", "3", "If-Match", Long.toString(r1));
    assertError(stale, 412, "precondition_failed");
    assertThat(revisionHeader(stale)).isEqualTo(r2);
    assertThat(ts.state()).isEqualTo(before);
    assertThat(stored("cas").valueAsString()).isEqualTo("2");
  }

  @Test
  void ifMatch_notARevision_isABadRequest() {
    ts.put("/config/cas", "1");
    TestServer.State before = ts.state();
    for (String bad : List.of("abc", "*", "W/\"1\"", "-1", "1.0", "\"\"", "99999999999999999999")) {
      assertThat(
              assertError(ts.put("/config/cas", "2", "If-Match", bad), 400, "bad_request")
                  .get("message")
                  .asText())
          .as(bad)
          .contains("If-Match");
      assertError(ts.delete("/config/cas", "If-Match", bad), 400, "bad_request");
    }
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void delete_existingKey_answers204WithTheRevision() {
    ts.put("/config/d", "v");
    HttpResponse<byte[]> del = ts.delete("/config/d");
    assertThat(del.statusCode()).isEqualTo(204);
    assertThat(del.body()).isEmpty();
    assertThat(revisionHeader(del)).isEqualTo(ts.source.revision());
    assertThat(stored("d")).isNull();
    assertError(ts.get("/config/d"), 404, "not_found");
  }

  @Test
  void delete_absentKey_answers404WithNothingChanged() {
    TestServer.State before = ts.state();
    assertError(ts.delete("/config/missing"), 404, "not_found");
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void delete_withIfMatch_deletesOnlyAtThatRevision() {
    long r1 = revisionHeader(ts.put("/config/d", "v"));
    TestServer.State before = ts.state();
    HttpResponse<byte[]> stale = ts.delete("/config/d", "If-Match", Long.toString(r1 + 100));
    assertError(stale, 412, "precondition_failed");
    assertThat(revisionHeader(stale)).isEqualTo(r1);
    assertThat(ts.state()).isEqualTo(before);

    assertThat(ts.delete("/config/d", "If-Match", "\"" + r1 + "\"").statusCode()).isEqualTo(204);
    assertThat(stored("d")).isNull();
  }

  // ---------------------------------------------------------------------------------------------
  // GET: use_cache, min_revision
  // ---------------------------------------------------------------------------------------------

  @Test
  void head_answersLikeGetWithoutABody() {
    long rev = revisionHeader(ts.put("/config/h", "value", "Content-Type", "text/plain"));
    HttpResponse<byte[]> head = ts.send("HEAD", "/config/h", null);
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(revisionHeader(head)).isEqualTo(rev);
    assertThat(header(head, "ETag")).isEqualTo("\"" + rev + "\"");
    assertThat(ts.send("HEAD", "/config/missing", null).statusCode()).isEqualTo(404);
  }

  @Test
  void get_absentKey_isA404Error() {
    HttpResponse<byte[]> r = ts.get("/config/nothing-here");
    assertError(r, 404, "not_found");
    assertThat(header(r, Headers.APPLIED)).isNotNull();
    assertError(ts.get("/config/nothing-here?use_cache=false"), 404, "not_found");
  }

  @Test
  void useCache_onlyTheExactStringTrueReadsMemory_anythingElseReadsTheBackend() {
    ts.put("/config/k", "v");
    ts.source.setAvailable(false); // strong reads fail; memory keeps serving
    for (String memory : List.of("/config/k", "/config/k?use_cache=true")) {
      HttpResponse<byte[]> r = ts.get(memory);
      assertThat(r.statusCode()).as(memory).isEqualTo(200);
      assertThat(new String(r.body(), UTF_8)).isEqualTo("v");
    }
    for (String strong : List.of("false", "False", "0", "TRUE", "yes", "")) {
      assertError(ts.get("/config/k?use_cache=" + strong), 503, "backend_unavailable");
    }
    ts.source.setAvailable(true);
    HttpResponse<byte[]> r = ts.get("/config/k?use_cache=false");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(new String(r.body(), UTF_8)).isEqualTo("v");
  }

  @Test
  void useCache_false_seesAWriteTheReplicaHasNotApplied() {
    // A replica whose feed is down (and reconnects only after seconds) cannot see a new write in
    // memory; a strong read asks the source and can.
    try (TestServer slow =
        TestServer.start(
            TestServer.settings(),
            b -> b.reconnectBackoff(Duration.ofSeconds(30), Duration.ofSeconds(30)))) {
      slow.put("/config/k", "old");
      slow.source.breakFeeds();
      slow.source.writeAtomically(Map.of("k", "new".getBytes(UTF_8)));
      assertThat(new String(slow.get("/config/k?use_cache=true").body(), UTF_8)).isEqualTo("old");
      assertThat(new String(slow.get("/config/k?use_cache=false").body(), UTF_8)).isEqualTo("new");
    }
  }

  @Test
  void minRevision_reached_answersAtLeastThatRevision() {
    long rev = ts.source.writeAtomically(Map.of("foreign", "written elsewhere".getBytes(UTF_8)));
    HttpResponse<byte[]> r = ts.get("/config/foreign?min_revision=" + rev);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(new String(r.body(), UTF_8)).isEqualTo("written elsewhere");
    assertThat(Long.parseLong(header(r, Headers.APPLIED))).isGreaterThanOrEqualTo(rev);
    assertThat(ts.get("/config/foreign?min_revision=0&use_cache=true").statusCode()).isEqualTo(200);
  }

  @Test
  void minRevision_notReachedWithinMaxWait_isA504() {
    long far = ts.source.revision() + 1000;
    long started = System.nanoTime();
    HttpResponse<byte[]> r = ts.get("/config/k?min_revision=" + far);
    JsonNode err = assertError(r, 504, "timeout");
    assertThat(err.get("message").asText()).contains(Long.toString(far)).contains("300 ms");
    assertThat(header(r, Headers.APPLIED)).isNotNull();
    assertThat(Duration.ofNanos(System.nanoTime() - started))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
  }

  /**
   * Every distinct far-future revision a client asks for is a waiter; one that times out must be
   * forgotten, or any anonymous client grows the heap by asking for new revisions.
   */
  @Test
  void minRevision_10000FarFutureRequestsTimingOut_leaveNoWaiterBehind() throws Exception {
    try (TestServer t =
        TestServer.start(TestServer.settings(b -> b.maxWait(Duration.ofMillis(1))))) {
      long base = t.source.revision() + 1_000_000;
      int requests = 10_000;
      java.util.concurrent.atomic.AtomicInteger timeouts =
          new java.util.concurrent.atomic.AtomicInteger();
      try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
        for (int i = 0; i < requests; i++) {
          long rev = base + i;
          pool.execute(
              () -> {
                if (t.get("/config/k?min_revision=" + rev).statusCode() == 504) {
                  timeouts.incrementAndGet();
                }
              });
        }
      }
      assertThat(timeouts.get()).as("every request waited and timed out").isEqualTo(requests);
      JsonNode stats = TestServer.json(t.get("/stats"));
      assertThat(stats.get("waiters").asInt()).as("waiters left in /stats").isZero();
    }
  }

  /**
   * A min_revision token names a write of one history; when the source loses its history while the
   * read waits, the instance resets and the wait ends with 410 history_reset, not a 504 later.
   */
  @Test
  void minRevision_waitingWhenTheSourceLosesItsHistory_isA410() {
    try (TestServer t =
        TestServer.start(TestServer.settings(b -> b.maxWait(Duration.ofSeconds(20))))) {
      t.put("/config/k", "old");
      long far = t.source.revision() + 5;
      java.util.concurrent.CompletableFuture<HttpResponse<byte[]>> waiting =
          java.util.concurrent.CompletableFuture.supplyAsync(
              () -> t.get("/config/k?min_revision=" + far));
      org.awaitility.Awaitility.await()
          .during(Duration.ofMillis(300))
          .atMost(Duration.ofSeconds(2))
          .until(() -> !waiting.isDone()); // it is waiting
      t.source.loseHistory(true);
      t.source.writeAtomically(Map.of("k", "new".getBytes(UTF_8)));
      HttpResponse<byte[]> r = waiting.orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).join();
      JsonNode err = assertError(r, 410, "history_reset");
      assertThat(err.get("message").asText()).contains("history");
      assertThat(header(r, Headers.APPLIED)).isNotNull();
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> new String(t.get("/config/k").body(), UTF_8).equals("new"));
    }
  }

  @Test
  void minRevision_notANonNegativeNumber_isABadRequest() {
    for (String bad : List.of("-1", "abc", "1.5", "", "99999999999999999999")) {
      assertThat(
              assertError(ts.get("/config/k?min_revision=" + bad), 400, "bad_request")
                  .get("message")
                  .asText())
          .as(bad)
          .contains("min_revision");
    }
  }

  @Test
  void unknownOrRepeatedQueryParameters_areRefusedAndNamed() {
    ts.put("/config/k", "v");
    TestServer.State before = ts.state();
    assertThat(
            assertError(ts.get("/config/k?usecache=true"), 400, "bad_request")
                .get("message")
                .asText())
        .contains("'usecache'");
    assertThat(
            assertError(ts.put("/config/k?use_cache=true", "w"), 400, "bad_request")
                .get("message")
                .asText())
        .contains("'use_cache'");
    assertError(ts.send("POST", "/config/k?x=1", "w".getBytes(UTF_8)), 400, "bad_request");
    assertThat(
            assertError(ts.delete("/config/k?force=1"), 400, "bad_request").get("message").asText())
        .contains("'force'");
    assertThat(assertError(ts.get("/config?prefx=a"), 400, "bad_request").get("message").asText())
        .contains("'prefx'");
    assertThat(
            assertError(ts.get("/config/k?use_cache=true&use_cache=false"), 400, "bad_request")
                .get("message")
                .asText())
        .contains("use_cache");
    assertThat(ts.state()).isEqualTo(before);
  }

  // ---------------------------------------------------------------------------------------------
  // GET /config: listing
  // ---------------------------------------------------------------------------------------------

  @Test
  void list_withPrefixAndLimit_answersSortedKeysFromMemory() {
    ts.put("/config/b/2", "22", "Content-Type", "text/plain");
    ts.put("/config/a/1", "1");
    long last = revisionHeader(ts.put("/config/b/1", "111", "Content-Type", "application/json"));

    HttpResponse<byte[]> all = ts.get("/config");
    assertThat(all.statusCode()).isEqualTo(200);
    JsonNode body = json(all);
    assertThat(TestServer.fieldNames(body)).containsExactly("appliedRevision", "keys");
    assertThat(body.get("appliedRevision").asLong()).isGreaterThanOrEqualTo(last);
    assertThat(body.get("keys").findValuesAsText("key")).containsExactly("a/1", "b/1", "b/2");
    JsonNode b1 = body.get("keys").get(1);
    assertThat(TestServer.fieldNames(b1)).containsExactly("key", "revision", "contentType", "size");
    assertThat(b1.get("revision").asLong()).isEqualTo(last);
    assertThat(b1.get("contentType").asText()).isEqualTo("application/json");
    assertThat(b1.get("size").asInt()).isEqualTo(3);

    assertThat(json(ts.get("/config?prefix=b/")).get("keys").findValuesAsText("key"))
        .containsExactly("b/1", "b/2");
    assertThat(json(ts.get("/config?prefix=b/&limit=1")).get("keys").findValuesAsText("key"))
        .containsExactly("b/1");
    assertThat(json(ts.get("/config?prefix=zzz")).get("keys")).isEmpty();
  }

  @Test
  void list_defaultLimit_is1000() {
    Map<String, byte[]> many = new LinkedHashMap<>();
    for (int i = 0; i < 1001; i++) {
      many.put(String.format("many/%04d", i), new byte[] {1});
    }
    long rev = ts.source.writeAtomically(many);
    assertThat(ts.server.node().map().replica().awaitRevision(rev, Duration.ofSeconds(5))).isTrue();
    assertThat(json(ts.get("/config")).get("keys")).hasSize(1000);
    assertThat(json(ts.get("/config?limit=10000")).get("keys")).hasSize(1001);
  }

  @Test
  void list_limitOutside1To10000_isABadRequest() {
    for (String bad : List.of("0", "-1", "10001", "abc", "", "1e3", "99999999999")) {
      assertThat(
              assertError(ts.get("/config?limit=" + bad), 400, "bad_request")
                  .get("message")
                  .asText())
          .as(bad)
          .contains("limit");
    }
    assertThat(ts.get("/config?limit=1").statusCode()).isEqualTo(200);
    assertThat(ts.get("/config?limit=10000").statusCode()).isEqualTo(200);
  }

  // ---------------------------------------------------------------------------------------------
  // Backend failures
  // ---------------------------------------------------------------------------------------------

  @Test
  void backendUnavailable_writesFailWith503_cachedReadsKeepServing_andTheServerRecovers() {
    ts.put("/config/k", "v");
    ts.source.setAvailable(false);
    TestServer.State before = ts.state();
    assertError(ts.put("/config/k", "w"), 503, "backend_unavailable");
    assertError(ts.put("/config/k", "w", "If-Match", "0"), 503, "backend_unavailable");
    assertError(ts.delete("/config/k"), 503, "backend_unavailable");
    assertThat(ts.get("/config/k").statusCode()).isEqualTo(200);
    assertThat(ts.get("/config").statusCode()).isEqualTo(200);
    assertThat(ts.get("/health/live").statusCode()).isEqualTo(200);
    assertThat(ts.state()).isEqualTo(before);

    ts.source.setAvailable(true);
    assertThat(ts.put("/config/k", "w").statusCode()).isEqualTo(200);
    assertThat(new String(ts.get("/config/k").body(), UTF_8)).isEqualTo("w");
  }

  @Test
  void writeCommittedButNotAppliedInTime_isA504ThatSaysItWasCommitted() {
    try (TestServer stuck =
        TestServer.start(
            TestServer.settings(),
            b ->
                b.applyTimeout(Duration.ofMillis(200))
                    .reconnectBackoff(Duration.ofSeconds(30), Duration.ofSeconds(30)))) {
      stuck.source.breakFeeds(); // the write commits, but this replica cannot apply it
      HttpResponse<byte[]> r = stuck.put("/config/k", "v");
      JsonNode err = assertError(r, 504, "timeout");
      assertThat(err.get("message").asText()).contains("committed");
      assertThat(revisionHeader(r)).isEqualTo(stuck.source.revision());
      assertThat(stuck.source.entries()).extracting(Versioned::key).containsExactly("k");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Routing errors share the JSON shape
  // ---------------------------------------------------------------------------------------------

  @Test
  void unknownRoute_isAJson404() {
    assertThat(assertError(ts.get("/nope"), 404, "not_found").get("message").asText())
        .contains("/nope");
    assertError(ts.put("/configs/k", "v"), 404, "not_found");
    assertError(ts.get("/health/live/"), 404, "not_found");
  }

  @Test
  void wrongMethod_isAJson405WithAllow() {
    TestServer.State before = ts.state();
    HttpResponse<byte[]> r = ts.send("PATCH", "/config/k", "v".getBytes(UTF_8));
    assertError(r, 405, "method_not_allowed");
    assertThat(header(r, "Allow")).contains("GET").contains("PUT");
    assertError(ts.send("DELETE", "/health/live", null), 405, "method_not_allowed");
    assertError(ts.get("/admin/refresh"), 405, "method_not_allowed");
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void requestRefusedByTheHttpLayer_isJsonToo() {
    HttpResponse<byte[]> r = ts.get("/config/k", "X-Huge", "h".repeat(20_000));
    assertThat(r.statusCode()).isEqualTo(431);
    JsonNode body = json(r);
    assertThat(TestServer.fieldNames(body)).containsExactly("error", "message");
    assertThat(body.get("error").asText()).isEqualTo("bad_request");
  }

  // Idempotency-Key ------------------------------------------------------------------------------

  @Test
  void put_idempotencyKeyRetried_answersTheFirstAnswer_onAnyInstance_changesNothing() {
    HttpResponse<byte[]> first =
        ts.put("/config/idem", "v1", "Content-Type", "text/plain", "Idempotency-Key", "k-1");
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(header(first, Headers.IDEMPOTENT_REPLAYED)).isNull();
    long rev = revisionHeader(first);
    long later = revisionHeader(ts.put("/config/idem", "v2")); // someone else writes meanwhile
    TestServer.State before = ts.state();

    HttpResponse<byte[]> again =
        ts.put("/config/idem", "v1", "Content-Type", "text/plain", "Idempotency-Key", "k-1");
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(revisionHeader(again)).isEqualTo(rev).isLessThan(later);
    assertThat(header(again, Headers.IDEMPOTENT_REPLAYED)).isEqualTo("true");
    assertThat(new String(again.body(), UTF_8)).isEqualTo("v1");
    try (TestServer other = TestServer.replica(ts.source, TestServer.settings())) {
      HttpResponse<byte[]> elsewhere =
          other.put("/config/idem", "v1", "Content-Type", "text/plain", "Idempotency-Key", "k-1");
      assertThat(elsewhere.statusCode()).isEqualTo(200);
      assertThat(revisionHeader(elsewhere)).isEqualTo(rev);
      assertThat(header(elsewhere, Headers.IDEMPOTENT_REPLAYED)).isEqualTo("true");
    }
    assertThat(ts.state()).isEqualTo(before);
    assertThat(new String(ts.source.entries().get(0).value(), UTF_8)).isEqualTo("v2");
  }

  @Test
  void put_idempotencyKeyReusedForAnotherRequest_422_changesNothing() {
    assertThat(ts.put("/config/idem", "v1", "Idempotency-Key", "k-2").statusCode()).isEqualTo(200);
    TestServer.State before = ts.state();
    assertError(
        ts.put("/config/idem", "other", "Idempotency-Key", "k-2"), 422, "idempotency_key_reused");
    assertError(
        ts.put("/config/idem2", "v1", "Idempotency-Key", "k-2"), 422, "idempotency_key_reused");
    assertError(
        ts.put("/config/idem", "v1", "Idempotency-Key", "k-2", "If-Match", "0"),
        422,
        "idempotency_key_reused");
    assertError(ts.delete("/config/idem", "Idempotency-Key", "k-2"), 422, "idempotency_key_reused");
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void put_badIdempotencyKey_400_nothingStored() {
    TestServer.State before = ts.state();
    assertError(
        ts.put("/config/idem", "v", "Idempotency-Key", "x".repeat(256)), 400, "bad_request");
    assertError(ts.put("/config/idem", "v", "Idempotency-Key", "\"\""), 400, "bad_request");
    assertError(
        ts.put("/config/idem", "v", "Idempotency-Key", "a", "Idempotency-Key", "b"),
        400,
        "bad_request");
    assertError(ts.delete("/config/idem", "Idempotency-Key", "x".repeat(256)), 400, "bad_request");
    assertThat(ts.state()).isEqualTo(before);
    assertThat(ts.put("/config/idem", "v", "Idempotency-Key", "x".repeat(255)).statusCode())
        .isEqualTo(200);
  }

  @Test
  void put_conflictRetriedWithItsKey_answersTheSame412_evenOnceTheConditionHolds() {
    HttpResponse<byte[]> first =
        ts.put("/config/cas", "v", "If-Match", "0", "Idempotency-Key", "k-3");
    assertThat(first.statusCode()).isEqualTo(200);
    long rev = revisionHeader(first);
    assertThat(ts.put("/config/other", "w", "If-Match", "5", "Idempotency-Key", "k-4").statusCode())
        .isEqualTo(412);
    assertThat(ts.put("/config/other", "w").statusCode()).isEqualTo(200);
    TestServer.State before = ts.state();
    HttpResponse<byte[]> again =
        ts.put("/config/cas", "v", "If-Match", "0", "Idempotency-Key", "k-3");
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(revisionHeader(again)).isEqualTo(rev);
    HttpResponse<byte[]> conflictAgain =
        ts.put("/config/other", "w", "If-Match", "5", "Idempotency-Key", "k-4");
    assertError(conflictAgain, 412, "precondition_failed");
    assertThat(header(conflictAgain, Headers.IDEMPOTENT_REPLAYED)).isEqualTo("true");
    assertThat(revisionHeader(conflictAgain)).isEqualTo(0);
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void delete_idempotencyKeyRetried_answersTheFirstAnswer_doesNotDeleteTheNewValue() {
    ts.put("/config/gone", "v");
    HttpResponse<byte[]> first = ts.delete("/config/gone", "Idempotency-Key", "k-5");
    assertThat(first.statusCode()).isEqualTo(204);
    long rev = revisionHeader(first);
    ts.put("/config/gone", "back");
    TestServer.State before = ts.state();
    HttpResponse<byte[]> again = ts.delete("/config/gone", "Idempotency-Key", "k-5");
    assertThat(again.statusCode()).isEqualTo(204);
    assertThat(revisionHeader(again)).isEqualTo(rev);
    assertThat(header(again, Headers.IDEMPOTENT_REPLAYED)).isEqualTo("true");
    assertThat(ts.state()).isEqualTo(before);
    assertThat(ts.get("/config/gone").statusCode()).isEqualTo(200);
  }
}
