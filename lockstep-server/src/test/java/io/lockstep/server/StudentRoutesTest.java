package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.header;
import static io.lockstep.server.TestServer.json;
import static io.lockstep.server.TestServer.revisionHeader;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.Versioned;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The student service ({@code /students}, {@code /student/...}) over an in-memory source: every
 * status each route answers, and every bad input refused with nothing stored.
 */
class StudentRoutesTest {
  private TestServer ts;

  @BeforeEach
  void start() {
    ts =
        TestServer.start(
            TestServer.settings(b -> b.students(true).maxWait(Duration.ofMillis(300))));
  }

  @AfterEach
  void stop() {
    ts.close();
  }

  private static String student(long id, String name, int age) {
    return "{\"id\":" + id + ",\"name\":\"" + name + "\",\"age\":" + age + "}";
  }

  private HttpResponse<byte[]> add(String body, String... headers) {
    return ts.send("POST", "/student/add", body.getBytes(UTF_8), withJson(headers));
  }

  private HttpResponse<byte[]> update(String body, String... headers) {
    return ts.send("PUT", "/student/update", body.getBytes(UTF_8), withJson(headers));
  }

  private static String[] withJson(String... headers) {
    if (headers.length > 0) {
      return headers;
    }
    return new String[] {"Content-Type", "application/json"};
  }

  private Versioned stored(String key) {
    return ts.source.entries().stream().filter(v -> v.key().equals(key)).findFirst().orElse(null);
  }

  private static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), UTF_8);
  }

  /**
   * Near mode: {@code GET /student/id} reads a student it does not hold from the source, keeps at
   * most its bound, follows another instance's update of a held student, and answers 404 once that
   * instance deleted it — never the old row.
   */
  @Test
  void nearMode_getById_readsThrough_followsChanges_andForgetsADeletedStudent() {
    try (TestServer near =
        TestServer.start(
            ts.source,
            false,
            TestServer.settings(b -> b.students(true)),
            b -> b.mode(io.lockstep.ReplicaMode.NEAR).nearMaxKeys(2),
            true)) {
      for (int i = 1; i <= 5; i++) {
        assertThat(add(student(i, "S" + i, 20 + i)).statusCode()).isEqualTo(200);
      }
      for (int i = 1; i <= 5; i++) {
        HttpResponse<byte[]> r = near.get("/student/id?id=" + i);
        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        assertThat(json(r).get("name").asText()).isEqualTo("S" + i);
      }
      assertThat(json(near.get("/stats")).get("near").get("heldKeys").asLong()).isBetween(1L, 2L);
      assertThat(json(near.get("/student/id?id=5")).get("age").asInt()).isEqualTo(25); // held
      assertThat(update(student(5, "Renamed", 30)).statusCode()).isEqualTo(200);
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> json(near.get("/student/id?id=5")).get("name").asText().equals("Renamed"));
      HttpResponse<byte[]> del = ts.send("DELETE", "/student/delete?id=5", new byte[0]);
      assertThat(del.statusCode()).isEqualTo(204);
      long deletedAt = Long.parseLong(header(del, "X-Lockstep-Revision"));
      HttpResponse<byte[]> gone = near.get("/student/id?id=5&min_revision=" + deletedAt);
      assertError(gone, 404, "not_found");
      assertError(near.get("/student/id?id=5"), 404, "not_found");
      assertError(near.get("/student/id?id=99"), 404, "not_found");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // POST /student/add
  // ---------------------------------------------------------------------------------------------

  @Test
  void add_storesTheRowAsJsonUnderItsId_andAnswersItWithItsRevision() {
    HttpResponse<byte[]> r = add("{\"name\": \"Ann\", \"age\": 20, \"id\": 42}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(text(r)).isEqualTo(student(42, "Ann", 20));
    assertThat(header(r, "Content-Type")).startsWith("application/json");
    long rev = revisionHeader(r);
    assertThat(rev).isEqualTo(ts.source.revision());
    assertThat(header(r, "ETag")).isEqualTo("\"" + rev + "\"");
    Versioned v = stored("42");
    assertThat(new String(v.value(), UTF_8)).isEqualTo(student(42, "Ann", 20));
    assertThat(v.contentType()).isEqualTo("application/json");
    assertThat(v.modRevision()).isEqualTo(rev);
    // read-your-writes on the same instance, at once
    HttpResponse<byte[]> get = ts.get("/student/id?id=42");
    assertThat(get.statusCode()).isEqualTo(200);
    assertThat(text(get)).isEqualTo(student(42, "Ann", 20));
    assertThat(revisionHeader(get)).isEqualTo(rev);
  }

  @Test
  void add_ofAnIdThatExists_is409_andChangesNothing() {
    assertThat(add(student(7, "Ann", 20)).statusCode()).isEqualTo(200);
    TestServer.State before = ts.state();
    HttpResponse<byte[]> r = add(student(7, "Bob", 30));
    JsonNode err = assertError(r, 409, "conflict");
    assertThat(err.get("message").asText()).contains("7", "exists");
    assertThat(revisionHeader(r)).isEqualTo(stored("7").modRevision());
    assertThat(ts.state()).isEqualTo(before);
    assertThat(text(ts.get("/student/id?id=7"))).isEqualTo(student(7, "Ann", 20));
  }

  @Test
  void add_negativeAndLargeIds_areStoredUnderTheirDecimalForm() {
    assertThat(add(student(-3, "Neg", 1)).statusCode()).isEqualTo(200);
    assertThat(add(student(Long.MAX_VALUE, "Max", 2)).statusCode()).isEqualTo(200);
    assertThat(stored("-3")).isNotNull();
    assertThat(stored(Long.toString(Long.MAX_VALUE))).isNotNull();
    assertThat(ts.get("/student/id?id=-3").statusCode()).isEqualTo(200);
    assertThat(ts.get("/student/id?id=" + Long.MAX_VALUE).statusCode()).isEqualTo(200);
  }

  /** Every body that is not exactly {id: long, name: string, age: int}: 400, nothing stored. */
  static final List<String> BAD_BODIES =
      List.of(
          "",
          "   ",
          "not json",
          "{\"id\": 1, \"name\": \"A\", \"age\": 2",
          "[1, 2]",
          "\"a string\"",
          "42",
          "null",
          "{}",
          "{\"name\": \"A\", \"age\": 2}",
          "{\"id\": 1, \"age\": 2}",
          "{\"id\": 1, \"name\": \"A\"}",
          "{\"id\": null, \"name\": \"A\", \"age\": 2}",
          "{\"id\": 1, \"name\": null, \"age\": 2}",
          "{\"id\": 1, \"name\": \"A\", \"age\": null}",
          "{\"id\": \"1\", \"name\": \"A\", \"age\": 2}",
          "{\"id\": 1.5, \"name\": \"A\", \"age\": 2}",
          "{\"id\": 1.0, \"name\": \"A\", \"age\": 2}",
          "{\"id\": 1e2, \"name\": \"A\", \"age\": 2}",
          "{\"id\": 123456789012345678901234, \"name\": \"A\", \"age\": 2}",
          "{\"id\": true, \"name\": \"A\", \"age\": 2}",
          "{\"id\": 1, \"name\": 5, \"age\": 2}",
          "{\"id\": 1, \"name\": [\"A\"], \"age\": 2}",
          "{\"id\": 1, \"name\": \"A\", \"age\": \"2\"}",
          "{\"id\": 1, \"name\": \"A\", \"age\": 2.5}",
          "{\"id\": 1, \"name\": \"A\", \"age\": 3000000000}",
          "{\"id\": 1, \"name\": \"A\", \"age\": 2, \"email\": \"a@b\"}",
          "{\"id\": 1, \"id\": 2, \"name\": \"A\", \"age\": 2}",
          "{\"id\": 1, \"name\": \"A\", \"age\": 2} trailing",
          "{\"id\": 1, \"name\": \"A\", \"age\": 2} {}");

  @Test
  void add_andUpdate_withABadBody_are400_andStoreNothing() {
    assertThat(add(student(1, "Orig", 10)).statusCode()).isEqualTo(200);
    TestServer.State before = ts.state();
    for (String body : BAD_BODIES) {
      JsonNode addErr = assertError(add(body), 400, "bad_request");
      assertThat(addErr.get("message").asText()).as(body).startsWith("body:");
      JsonNode updErr = assertError(update(body), 400, "bad_request");
      assertThat(updErr.get("message").asText()).as(body).startsWith("body:");
    }
    assertThat(ts.state()).isEqualTo(before);
    assertThat(text(ts.get("/student/id?id=1"))).isEqualTo(student(1, "Orig", 10));
  }

  @Test
  void badBody_messages_nameTheField() {
    assertThat(message(add("{\"id\": \"1\", \"name\": \"A\", \"age\": 2}")))
        .contains("'id'", "whole number");
    assertThat(message(add("{\"id\": 1, \"age\": 2}"))).contains("'name'", "required");
    assertThat(message(add("{\"id\": 1, \"name\": \"A\", \"age\": 2, \"x\": 1}")))
        .contains("unknown field", "x");
    assertThat(message(add("{\"id\": 1, \"name\": \"A\", \"age\": 2.5}"))).contains("'age'", "2.5");
  }

  private static String message(HttpResponse<byte[]> r) {
    return assertError(r, 400, "bad_request").get("message").asText();
  }

  @Test
  void writes_withAFormBody_are415_andAQueryParameter_is400_storingNothing() {
    TestServer.State before = ts.state();
    assertError(
        add(student(1, "A", 2), "Content-Type", "application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type");
    assertError(
        ts.send("POST", "/student/add?id=1", student(1, "A", 2).getBytes(UTF_8)),
        400,
        "bad_request");
    assertError(
        ts.send("PUT", "/student/update?x=1", student(1, "A", 2).getBytes(UTF_8)),
        400,
        "bad_request");
    assertThat(ts.state()).isEqualTo(before);
  }

  // ---------------------------------------------------------------------------------------------
  // GET /student/id, GET /students
  // ---------------------------------------------------------------------------------------------

  @Test
  void getById_absent_is404Json_notA500() {
    HttpResponse<byte[]> r = ts.get("/student/id?id=99");
    JsonNode err = assertError(r, 404, "not_found");
    assertThat(err.get("message").asText()).contains("99");
    assertThat(header(r, Headers.APPLIED)).isNotNull();
  }

  @Test
  void getById_withoutAnIntegerId_is400() {
    for (String q :
        List.of(
            "",
            "?id=",
            "?id=abc",
            "?id=1.5",
            "?id=1e3",
            "?id=0x10",
            "?id=99999999999999999999",
            "?id=1&id=2",
            "?id=1&name=x",
            "?id=1&min_revision=-1")) {
      assertError(ts.get("/student/id" + q), 400, "bad_request");
    }
  }

  @Test
  void list_isEveryStudentSortedById_andSkipsEntriesThatAreNotStudents() {
    for (long id : new long[] {10, 2, 1, -5, 100}) {
      assertThat(add(student(id, "S" + id, (int) id + 20)).statusCode()).isEqualTo(200);
    }
    // Other entries of a shared map are not students: a non-numeric key, a non-canonical numeric
    // key, and a numeric key holding something other than a JSON object.
    assertThat(ts.put("/config/notes", "{\"id\":3}").statusCode()).isEqualTo(200);
    assertThat(ts.put("/config/007", "{\"id\":7}").statusCode()).isEqualTo(200);
    assertThat(ts.put("/config/8", "plain text").statusCode()).isEqualTo(200);
    HttpResponse<byte[]> r = ts.get("/students");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode list = json(r);
    assertThat(list.isArray()).isTrue();
    List<Long> ids = new ArrayList<>();
    list.forEach(n -> ids.add(n.get("id").asLong()));
    assertThat(ids).containsExactly(-5L, 1L, 2L, 10L, 100L);
    assertThat(list.get(1).toString()).isEqualTo(student(1, "S1", 21));
    assertThat(Long.parseLong(header(r, Headers.APPLIED))).isEqualTo(ts.source.revision());
    assertError(ts.get("/student/id?id=8"), 404, "not_found");
  }

  @Test
  void list_empty_isAnEmptyArray_andUnknownParameters_are400() {
    HttpResponse<byte[]> r = ts.get("/students");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).isArray()).isTrue();
    assertThat(json(r)).isEmpty();
    assertError(ts.get("/students?limit=5"), 400, "bad_request");
    assertError(ts.get("/students?min_revision=x"), 400, "bad_request");
  }

  @Test
  void reads_withMinRevision_waitForIt_on_anotherInstance() {
    try (TestServer other = TestServer.replica(ts.source, ts.server.settings())) {
      HttpResponse<byte[]> w = add(student(5, "Eve", 33));
      long rev = revisionHeader(w);
      HttpResponse<byte[]> r = other.get("/student/id?id=5&min_revision=" + rev);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(text(r)).isEqualTo(student(5, "Eve", 33));
      HttpResponse<byte[]> all = other.get("/students?min_revision=" + rev);
      assertThat(json(all).get(0).get("name").asText()).isEqualTo("Eve");
      // a revision never written: 504 timeout after --max-wait
      assertError(other.get("/student/id?id=5&min_revision=" + (rev + 1000)), 504, "timeout");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // PUT /student/update
  // ---------------------------------------------------------------------------------------------

  @Test
  void update_ofAStudent_replacesIt_andAnswersTheNewRow() {
    long first = revisionHeader(add(student(3, "Cy", 19)));
    HttpResponse<byte[]> r = update(student(3, "Cyd", 20));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(text(r)).isEqualTo(student(3, "Cyd", 20));
    assertThat(revisionHeader(r)).isGreaterThan(first);
    assertThat(new String(stored("3").value(), UTF_8)).isEqualTo(student(3, "Cyd", 20));
    assertThat(text(ts.get("/student/id?id=3"))).isEqualTo(student(3, "Cyd", 20));
  }

  /**
   * A stored row with more fields than a student (a mirrored table with more columns) keeps them: a
   * write to a mirror sets every column, so an update of the student alone would null the others.
   */
  @Test
  void update_keepsTheStoredRowsOtherFields_andAnswersTheRowAsStored() {
    String row = "{\"id\":5,\"age\":1,\"name\":\"Old\",\"email\":\"e@x\"}";
    HttpResponse<byte[]> put =
        ts.send("PUT", "/config/5", row.getBytes(UTF_8), "Content-Type", "application/json");
    assertThat(put.statusCode()).isEqualTo(200);
    HttpResponse<byte[]> r = update(student(5, "New", 2));
    assertThat(r.statusCode()).isEqualTo(200);
    String expected = "{\"id\":5,\"age\":2,\"name\":\"New\",\"email\":\"e@x\"}";
    assertThat(text(r)).isEqualTo(expected);
    assertThat(new String(stored("5").value(), UTF_8)).isEqualTo(expected);
    assertThat(text(ts.get("/student/id?id=5"))).isEqualTo(expected);
  }

  @Test
  void update_ofAnAbsentStudent_is404_andStoresNothing() {
    TestServer.State before = ts.state();
    JsonNode err = assertError(update(student(404, "Nobody", 1)), 404, "not_found");
    assertThat(err.get("message").asText()).contains("404");
    assertThat(ts.state()).isEqualTo(before);
    assertThat(stored("404")).isNull();
  }

  /**
   * An update racing a delete never writes the student back: whenever both succeed, the delete came
   * last, so the student is gone. An unconditional put after a local read would resurrect it.
   */
  @Test
  void update_racingADeleteOnAnotherInstance_neverResurrectsTheStudent() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (TestServer other = TestServer.replica(ts.source, ts.server.settings())) {
      int bothSucceeded = 0;
      for (int i = 0; i < 60; i++) {
        long id = 1000 + i;
        long rev = revisionHeader(add(student(id, "R", 1)));
        other.get("/student/id?id=" + id + "&min_revision=" + rev);
        CompletableFuture<HttpResponse<byte[]>> upd =
            CompletableFuture.supplyAsync(
                () ->
                    other.send(
                        "PUT",
                        "/student/update",
                        student(id, "U", 2).getBytes(UTF_8),
                        "Content-Type",
                        "application/json"),
                pool);
        CompletableFuture<HttpResponse<byte[]>> del =
            CompletableFuture.supplyAsync(() -> ts.delete("/student/delete?id=" + id), pool);
        int u = upd.get().statusCode();
        int d = del.get().statusCode();
        assertThat(u).as("update %d", id).isIn(200, 404);
        assertThat(d).as("delete %d", id).isIn(204, 404);
        if (u == 200 && d == 204) {
          bothSucceeded++;
          assertThat(stored(Long.toString(id))).as("student %d after update+delete", id).isNull();
        }
        if (u == 404) { // the delete came first and the update did not undo it
          assertThat(d).isEqualTo(204);
          assertThat(stored(Long.toString(id))).isNull();
        }
      }
      assertThat(bothSucceeded).isGreaterThan(0);
    } finally {
      pool.shutdownNow();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // DELETE /student/delete
  // ---------------------------------------------------------------------------------------------

  @Test
  void delete_removesTheStudent_andAnswers204WithTheRevision() {
    add(student(9, "Del", 40));
    HttpResponse<byte[]> r = ts.delete("/student/delete?id=9");
    assertThat(r.statusCode()).isEqualTo(204);
    assertThat(revisionHeader(r)).isEqualTo(ts.source.revision());
    assertThat(stored("9")).isNull();
    assertError(ts.get("/student/id?id=9"), 404, "not_found");
    assertThat(json(ts.get("/students"))).isEmpty();
  }

  @Test
  void delete_ofAnAbsentStudent_is404_andWithoutAnIntegerId_is400_changingNothing() {
    add(student(1, "Keep", 1));
    TestServer.State before = ts.state();
    assertError(ts.delete("/student/delete?id=2"), 404, "not_found");
    for (String q : List.of("", "?id=", "?id=x", "?id=1.0", "?id=1&min_revision=3")) {
      assertError(ts.delete("/student/delete" + q), 400, "bad_request");
    }
    assertThat(ts.state()).isEqualTo(before);
  }

  // ---------------------------------------------------------------------------------------------
  // Backend failures, readiness, and the routes being off
  // ---------------------------------------------------------------------------------------------

  @Test
  void backendUnavailable_writesAre503_andMemoryReadsKeepServing() {
    add(student(1, "A", 1));
    ts.source.setAvailable(false);
    try {
      TestServer.State before = ts.state();
      assertError(add(student(2, "B", 2)), 503, "backend_unavailable");
      assertError(update(student(1, "A2", 2)), 503, "backend_unavailable");
      assertError(update(student(77, "Lagging?", 2)), 503, "backend_unavailable");
      assertError(ts.delete("/student/delete?id=1"), 503, "backend_unavailable");
      assertThat(ts.get("/student/id?id=1").statusCode()).isEqualTo(200);
      assertThat(ts.get("/students").statusCode()).isEqualTo(200);
      assertThat(ts.state()).isEqualTo(before);
    } finally {
      ts.source.setAvailable(true);
    }
  }

  @Test
  void routes_areOffUnlessAskedFor() {
    try (TestServer plain = TestServer.start()) {
      assertError(plain.get("/students"), 404, "not_found");
      assertError(plain.get("/student/id?id=1"), 404, "not_found");
      assertError(
          plain.send("POST", "/student/add", student(1, "A", 1).getBytes(UTF_8)), 404, "not_found");
      assertThat(plain.state().entries()).isEmpty();
    }
  }

  @Test
  void crossSiteBrowserWrites_are403_andChangeNothing() {
    add(student(1, "A", 1));
    TestServer.State before = ts.state();
    String[] evil = {"Origin", "https://evil.example", "Content-Type", "text/plain"};
    byte[] body = student(2, "B", 2).getBytes(UTF_8);
    assertError(ts.send("POST", "/student/add", body, evil), 403, "cross_site");
    assertError(ts.send("PUT", "/student/update", body, evil), 403, "cross_site");
    assertError(ts.send("DELETE", "/student/delete?id=1", null, evil), 403, "cross_site");
    assertThat(ts.state()).isEqualTo(before);
  }

  @Test
  void requests_areCountedAndTimedByRoute() {
    add(student(1, "A", 1));
    ts.get("/student/id?id=1");
    ts.get("/student/id?id=2");
    String counted = text(ts.get("/stats/requests"));
    assertThat(counted).contains("POST /student/add", "GET /student/id");
    String metrics = text(ts.get("/metrics"));
    assertThat(metrics).contains("/student/add", "/student/id");
  }

  @Test
  void withTokens_readsNeedRead_andWritesNeedWrite() {
    AccessSettings access =
        AccessSettings.NONE.withTokens(
            List.of(
                new AccessToken(Scope.READ, "read-token-0123456789"),
                new AccessToken(Scope.WRITE, "write-token-0123456789")));
    try (TestServer secured =
        TestServer.start(TestServer.settings(b -> b.students(true).access(access)))) {
      String[] read = {"Authorization", "Bearer read-token-0123456789"};
      String[] write = {
        "Authorization", "Bearer write-token-0123456789", "Content-Type", "application/json"
      };
      byte[] body = student(1, "A", 1).getBytes(UTF_8);
      assertError(secured.get("/students"), 401, "unauthorized");
      assertError(secured.send("POST", "/student/add", body, read), 403, "forbidden");
      assertError(secured.send("PUT", "/student/update", body, read), 403, "forbidden");
      assertError(secured.send("DELETE", "/student/delete?id=1", null, read), 403, "forbidden");
      assertThat(secured.state().entries()).isEmpty();
      assertThat(secured.send("POST", "/student/add", body, write).statusCode()).isEqualTo(200);
      assertThat(secured.get("/students", read).statusCode()).isEqualTo(200);
      assertThat(secured.get("/student/id?id=1", read).statusCode()).isEqualTo(200);
    }
  }
}
