package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.PostgresProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The student service on PostgreSQL, end to end: a real PostgreSQL ({@link PostgresProcess}) holds
 * {@code student(id bigint primary key, name text, age int)}, three real {@code serve --backend
 * postgresql://... --mirror student} processes serve it, and the test writes the table both through
 * the routes and with the real {@code psql} binary. Every status of the routes is checked on this
 * setup, the table is compared by value after each write, and PostgreSQL is stopped and started
 * again at the end (writes 503, reads from memory 200, then every instance converges).
 *
 * <p>The methods share one PostgreSQL and one cluster; each uses its own ids, and the outage runs
 * last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StudentPostgresIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration VISIBLE = Duration.ofSeconds(10);

  private static PostgresProcess pg;
  private static ServerCluster cluster;
  private static List<ServerProcess> nodes;

  @BeforeAll
  static void start() {
    pg = new PostgresProcess();
    psql("CREATE TABLE student(id bigint PRIMARY KEY, name text, age int)");
    // timeout=2s: a write while PostgreSQL is down answers 503 after 2 s, not the default bound.
    cluster =
        ServerCluster.builder(pg.backendUri() + "?timeout=2s")
            .keyPrefix("students")
            .args("--mirror", "student")
            .start();
    nodes = cluster.nodes();
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
    if (pg != null) {
      pg.close();
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Writes by psql, read through the routes
  // -----------------------------------------------------------------------------------------------

  @Test
  @Order(1)
  void psqlInsertUpdateDelete_reachEveryInstance() {
    psql("INSERT INTO student VALUES (1, 'Ann', 20)");
    awaitOnAll("/student/id?id=1", 200, "{\"id\":1,\"name\":\"Ann\",\"age\":20}");

    psql("UPDATE student SET age = 21 WHERE id = 1");
    awaitOnAll("/student/id?id=1", 200, "{\"id\":1,\"name\":\"Ann\",\"age\":21}");

    psql("INSERT INTO student VALUES (2, 'Bob', 30), (3, 'Cy', 9)");
    psql("DELETE FROM student WHERE id = 2");
    for (ServerProcess n : nodes) {
      await()
          .atMost(VISIBLE)
          .untilAsserted(
              () -> {
                Http.Resp r = send(n, "GET", "/student/id?id=2", null);
                assertError(r, 404, "not_found");
              });
    }
    awaitStudentsEqualTable();
  }

  @Test
  @Order(2)
  void psqlNullsAndBigintEdges_readBackExactly() {
    psql(
        "INSERT INTO student VALUES (9223372036854775807, NULL, NULL),"
            + " (-9223372036854775808, 'Zoë ☃ \"q\" \\ /', -2147483648), (0, '', 2147483647)");
    awaitOnAll(
        "/student/id?id=9223372036854775807",
        200,
        "{\"id\":9223372036854775807,\"name\":null,\"age\":null}");
    awaitOnAll(
        "/student/id?id=-9223372036854775808",
        200,
        "{\"id\":-9223372036854775808,\"name\":\"Zoë ☃ \\\"q\\\" \\\\ /\",\"age\":-2147483648}");
    awaitOnAll("/student/id?id=0", 200, "{\"id\":0,\"name\":\"\",\"age\":2147483647}");
    // every digit survives in the body, not only after a parse
    Http.Resp max = send(nodes.get(1), "GET", "/student/id?id=9223372036854775807", null);
    assertThat(max.body()).contains("9223372036854775807");
    // a row with NULLs is updated through the route like any other
    Http.Resp upd =
        send(
            nodes.get(2),
            "PUT",
            "/student/update",
            "{\"id\":9223372036854775807,\"name\":\"Max\",\"age\":1}");
    assertThat(upd.status()).as(upd.body()).isEqualTo(200);
    assertThat(tableRow(Long.MAX_VALUE))
        .isEqualTo(json("{\"id\":9223372036854775807,\"name\":\"Max\",\"age\":1}"));
    // ids outside 64 bits, and non-canonical forms, are bad ids, not misses
    assertError(send(nodes.get(0), "GET", "/student/id?id=9223372036854775808", null), 400);
    awaitStudentsEqualTable();
  }

  // -----------------------------------------------------------------------------------------------
  // Writes through the routes
  // -----------------------------------------------------------------------------------------------

  @Test
  @Order(3)
  void add_writesTheRow_andEveryInstanceServesIt() {
    String row = "{\"id\":10,\"name\":\"Dee\",\"age\":22}";
    Http.Resp add = send(nodes.get(0), "POST", "/student/add", row);
    assertThat(add.status()).as(add.body()).isEqualTo(200);
    assertThat(json(add.body())).isEqualTo(json(row));
    assertThat(add.revision()).isPositive();
    assertThat(tableRow(10)).isEqualTo(json(row));
    for (ServerProcess n : nodes) { // read-your-write on every instance
      Http.Resp r = send(n, "GET", "/student/id?id=10&min_revision=" + add.revision(), null);
      assertThat(r.status()).as("%s: %s", n.id(), r.body()).isEqualTo(200);
      assertThat(json(r.body())).isEqualTo(json(row));
    }
    // the id exists (written through the routes): 409 anywhere, the row unchanged
    Http.Resp again =
        send(nodes.get(1), "POST", "/student/add", "{\"id\":10,\"name\":\"X\",\"age\":1}");
    assertError(again, 409, "conflict");
    assertThat(tableRow(10)).isEqualTo(json(row));
  }

  @Test
  @Order(4)
  void add_ofAnIdInsertedOnlyByPsql_is409() {
    psql("INSERT INTO student VALUES (11, 'Psql', 40)");
    // at once: the add is a create-if-absent in the table, whatever the instance holds yet
    Http.Resp add =
        send(nodes.get(2), "POST", "/student/add", "{\"id\":11,\"name\":\"Web\",\"age\":1}");
    assertError(add, 409, "conflict");
    assertThat(tableRow(11)).isEqualTo(json("{\"id\":11,\"name\":\"Psql\",\"age\":40}"));
    awaitOnAll("/student/id?id=11", 200, "{\"id\":11,\"name\":\"Psql\",\"age\":40}");
  }

  @Test
  @Order(5)
  void update_changesTheRow_and404ForARowDeletedByPsql() {
    psql("INSERT INTO student VALUES (12, 'Eve', 30), (13, 'Fay', 31)");
    awaitOnAll("/student/id?id=12", 200, "{\"id\":12,\"name\":\"Eve\",\"age\":30}");
    awaitOnAll("/student/id?id=13", 200, "{\"id\":13,\"name\":\"Fay\",\"age\":31}");

    String eve = "{\"id\":12,\"name\":\"Eve\",\"age\":31}";
    Http.Resp upd = send(nodes.get(1), "PUT", "/student/update", eve);
    assertThat(upd.status()).as(upd.body()).isEqualTo(200);
    assertThat(json(upd.body())).isEqualTo(json(eve));
    assertThat(tableRow(12)).isEqualTo(json(eve));
    for (ServerProcess n : nodes) {
      Http.Resp r = send(n, "GET", "/student/id?id=12&min_revision=" + upd.revision(), null);
      assertThat(json(r.body())).as(n.id()).isEqualTo(json(eve));
    }

    // deleted by psql; the update comes right after (the instances may still hold the row)
    psql("DELETE FROM student WHERE id = 13");
    for (ServerProcess n : nodes) {
      Http.Resp r = send(n, "PUT", "/student/update", "{\"id\":13,\"name\":\"Back\",\"age\":1}");
      assertError(r, 404, "not_found");
    }
    assertThat(tableRow(13)).as("an update never writes a deleted student back").isNull();
    for (ServerProcess n : nodes) {
      await()
          .atMost(VISIBLE)
          .untilAsserted(() -> assertError(send(n, "GET", "/student/id?id=13", null), 404));
    }
    // never there at all: 404 too
    assertError(
        send(nodes.get(0), "PUT", "/student/update", "{\"id\":14,\"name\":\"No\",\"age\":1}"),
        404,
        "not_found");
    assertThat(tableRow(14)).isNull();
  }

  @Test
  @Order(6)
  void delete_removesTheRow_andEveryInstanceAnswers404() {
    Http.Resp add =
        send(nodes.get(0), "POST", "/student/add", "{\"id\":15,\"name\":\"Gus\",\"age\":5}");
    assertThat(add.status()).as(add.body()).isEqualTo(200);
    Http.Resp del = send(nodes.get(2), "DELETE", "/student/delete?id=15", null);
    assertThat(del.status()).as(del.body()).isEqualTo(204);
    assertThat(del.revision()).isGreaterThan(add.revision());
    assertThat(tableRow(15)).isNull();
    for (ServerProcess n : nodes) {
      Http.Resp r = send(n, "GET", "/student/id?id=15&min_revision=" + del.revision(), null);
      assertError(r, 404, "not_found");
    }
    // again, anywhere: 404; a bad id: 400
    assertError(send(nodes.get(1), "DELETE", "/student/delete?id=15", null), 404, "not_found");
    assertError(send(nodes.get(1), "DELETE", "/student/delete?id=x", null), 400, "bad_request");
    assertError(send(nodes.get(1), "DELETE", "/student/delete", null), 400, "bad_request");
  }

  @Test
  @Order(7)
  void get_absentMissingOrBadId_are404And400Json() {
    for (ServerProcess n : nodes) {
      assertError(send(n, "GET", "/student/id?id=999", null), 404, "not_found");
      assertError(send(n, "GET", "/student/id", null), 400, "bad_request");
      assertError(send(n, "GET", "/student/id?id=", null), 400, "bad_request");
      assertError(send(n, "GET", "/student/id?id=abc", null), 400, "bad_request");
      assertError(send(n, "GET", "/student/id?id=1.5", null), 400, "bad_request");
    }
  }

  @Test
  @Order(8)
  void badBodies_are400Json_andTheTableIsUnchanged() {
    psql("INSERT INTO student VALUES (20, 'Hal', 50)");
    awaitOnAll("/student/id?id=20", 200, "{\"id\":20,\"name\":\"Hal\",\"age\":50}");
    JsonNode before = table();
    List<String> bad =
        List.of(
            "{\"id\":21,\"name\":\"X\"", // bad JSON
            "",
            "[1]",
            "{\"id\":21,\"name\":\"X\"}", // missing age
            "{\"name\":\"X\",\"age\":1}", // missing id
            "{\"id\":21,\"name\":null,\"age\":1}",
            "{\"id\":\"21\",\"name\":\"X\",\"age\":1}", // wrong types
            "{\"id\":21.0,\"name\":\"X\",\"age\":1}",
            "{\"id\":21,\"name\":7,\"age\":1}",
            "{\"id\":21,\"name\":\"X\",\"age\":\"old\"}",
            "{\"id\":21,\"name\":\"X\",\"age\":2147483648}",
            "{\"id\":9223372036854775808,\"name\":\"X\",\"age\":1}",
            "{\"id\":21,\"name\":\"X\",\"age\":1,\"email\":\"x@y\"}",
            // the same for the existing student 20: an update must not touch it
            "{\"id\":20,\"name\":\"X\",\"age\":\"old\"}",
            "{\"id\":20,\"age\":1}");
    for (String body : bad) {
      for (String[] route : new String[][] {{"POST", "/student/add"}, {"PUT", "/student/update"}}) {
        Http.Resp r = send(nodes.get(0), route[0], route[1], body);
        assertThat(r.status())
            .as("%s %s %s: %s", route[0], route[1], body, r.body())
            .isEqualTo(400);
        assertError(r, 400, "bad_request");
      }
    }
    assertThat(table()).isEqualTo(before);
  }

  // -----------------------------------------------------------------------------------------------
  // PostgreSQL down, then back
  // -----------------------------------------------------------------------------------------------

  /**
   * 200 adds round-robin, each read at once on the next instance with the add's revision: every one
   * is there, in the table and on the reader; the times are printed (docs/students.md).
   */
  @Test
  @Order(9)
  void adds_roundRobin_readYourWritesOnTheNextInstance_timed() {
    int n = 200;
    long[] addNanos = new long[n];
    long[] readNanos = new long[n];
    for (int i = 0; i < n; i++) {
      long id = 1000 + i;
      String row = "{\"id\":" + id + ",\"name\":\"S" + i + "\",\"age\":" + (i % 90) + "}";
      long t0 = System.nanoTime();
      Http.Resp a = send(nodes.get(i % 3), "POST", "/student/add", row);
      long t1 = System.nanoTime();
      Http.Resp r =
          send(
              nodes.get((i + 1) % 3),
              "GET",
              "/student/id?id=" + id + "&min_revision=" + a.revision(),
              null);
      long t2 = System.nanoTime();
      assertThat(a.status()).as(a.body()).isEqualTo(200);
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      assertThat(json(r.body())).isEqualTo(json(row));
      addNanos[i] = t1 - t0;
      readNanos[i] = t2 - t1;
    }
    assertThat(query("SELECT count(*) FROM student WHERE id BETWEEN 1000 AND 1199"))
        .isEqualTo(Integer.toString(n));
    System.out.printf(
        "StudentPostgresIT: %d adds on 3 instances mirroring PostgreSQL: POST /student/add p50 %.2f"
            + " ms p99 %.2f ms; then GET /student/id?min_revision on the next instance p50 %.2f ms"
            + " p99 %.2f ms%n",
        n,
        percentile(addNanos, 50),
        percentile(addNanos, 99),
        percentile(readNanos, 50),
        percentile(readNanos, 99));
    awaitStudentsEqualTable();
  }

  /**
   * A {@code student} table with its columns in another order and one more column, in another
   * database, mirrored by one more instance: write answers are the row as PostgreSQL stores it
   * (what {@code GET /student/id} answers), an add leaves the extra column NULL, and an update
   * keeps it.
   */
  @Test
  @Order(10)
  void widerTable_writeAnswersAreTheStoredRow_andUpdateKeepsOtherColumns() {
    psql("CREATE DATABASE school");
    psql("school", "CREATE TABLE student(id bigint PRIMARY KEY, age int, name text, email text)");
    try (ServerCluster school =
        ServerCluster.builder("postgresql://postgres@" + pg.endpoint() + "/school?timeout=2s")
            .instances(1)
            .keyPrefix("school")
            .idPrefix("school-")
            .args("--mirror", "student")
            .start()) {
      ServerProcess n = school.node(0);
      Http.Resp add = send(n, "POST", "/student/add", "{\"id\":1,\"name\":\"Ann\",\"age\":20}");
      assertThat(add.status()).as(add.body()).isEqualTo(200);
      String ann = "{\"id\":1,\"age\":20,\"name\":\"Ann\",\"email\":null}";
      assertThat(add.body()).isEqualTo(ann);
      assertThat(send(n, "GET", "/student/id?id=1", null).body()).isEqualTo(ann);
      assertThat(json(query("school", "SELECT row_to_json(s)::text FROM student s WHERE id = 1")))
          .isEqualTo(json(ann));

      psql("school", "UPDATE student SET email = 'ann@school' WHERE id = 1");
      String withEmail = "{\"id\":1,\"age\":20,\"name\":\"Ann\",\"email\":\"ann@school\"}";
      await()
          .atMost(VISIBLE)
          .untilAsserted(
              () ->
                  assertThat(send(n, "GET", "/student/id?id=1", null).body()).isEqualTo(withEmail));
      Http.Resp upd = send(n, "PUT", "/student/update", "{\"id\":1,\"name\":\"Anne\",\"age\":21}");
      assertThat(upd.status()).as(upd.body()).isEqualTo(200);
      String updated = "{\"id\":1,\"age\":21,\"name\":\"Anne\",\"email\":\"ann@school\"}";
      assertThat(upd.body()).isEqualTo(updated);
      assertThat(json(query("school", "SELECT row_to_json(s)::text FROM student s WHERE id = 1")))
          .as("the update kept the column it does not know")
          .isEqualTo(json(updated));
      assertThat(send(n, "GET", "/student/id?id=1&min_revision=" + upd.revision(), null).body())
          .isEqualTo(updated);
    }
  }

  @Test
  @Order(11)
  void postgresStopped_writes503_readsFromMemory_thenConverge() {
    psql("INSERT INTO student VALUES (30, 'Ivy', 60)");
    awaitOnAll("/student/id?id=30", 200, "{\"id\":30,\"name\":\"Ivy\",\"age\":60}");
    awaitStudentsEqualTable();
    JsonNode before = table();

    pg.stop();
    try {
      // each write on another instance (each waits the pool's 2 s for a connection)
      assertError(
          send(nodes.get(0), "POST", "/student/add", "{\"id\":31,\"name\":\"J\",\"age\":1}"),
          503,
          "backend_unavailable");
      assertError(
          send(nodes.get(1), "PUT", "/student/update", "{\"id\":30,\"name\":\"J\",\"age\":1}"),
          503,
          "backend_unavailable");
      assertError(
          send(nodes.get(2), "DELETE", "/student/delete?id=30", null), 503, "backend_unavailable");
      for (ServerProcess n : nodes) {
        Http.Resp one = send(n, "GET", "/student/id?id=30", null);
        assertThat(one.status()).as("%s: %s", n.id(), one.body()).isEqualTo(200);
        assertThat(json(one.body())).isEqualTo(json("{\"id\":30,\"name\":\"Ivy\",\"age\":60}"));
        Http.Resp all = send(n, "GET", "/students", null);
        assertThat(all.status()).as("%s: %s", n.id(), all.body()).isEqualTo(200);
        assertThat(json(all.body())).isEqualTo(before);
      }
    } finally {
      pg.start();
    }
    assertThat(table()).as("nothing was written while PostgreSQL was down").isEqualTo(before);

    // after the restart: a psql write and a write through the routes reach every instance
    psql("UPDATE student SET age = 61 WHERE id = 30; INSERT INTO student VALUES (32, 'Kim', 7)");
    await()
        .atMost(VISIBLE)
        .untilAsserted(
            () -> {
              Http.Resp add =
                  send(
                      nodes.get(1), "POST", "/student/add", "{\"id\":31,\"name\":\"J\",\"age\":1}");
              assertThat(add.status()).as(add.body()).isIn(200, 409);
            });
    assertThat(tableRow(31)).isEqualTo(json("{\"id\":31,\"name\":\"J\",\"age\":1}"));
    awaitStudentsEqualTable();
  }

  // -----------------------------------------------------------------------------------------------
  // Helpers
  // -----------------------------------------------------------------------------------------------

  private static Http.Resp send(ServerProcess n, String method, String pathAndQuery, String body) {
    return body == null
        ? Http.raw(n.url(), method, pathAndQuery, null)
        : Http.raw(n.url(), method, pathAndQuery, body, "Content-Type", "application/json");
  }

  private static double percentile(long[] nanos, int p) {
    long[] sorted = nanos.clone();
    java.util.Arrays.sort(sorted);
    int i = Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1);
    return sorted[Math.max(0, i)] / 1e6;
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException("not JSON: " + text, e);
    }
  }

  private static void assertError(Http.Resp r, int status) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.contentType()).as(r.body()).startsWith("application/json");
    JsonNode body = json(r.body());
    assertThat(body.path("error").isTextual()).as(r.body()).isTrue();
    assertThat(body.path("message").isTextual()).as(r.body()).isTrue();
  }

  private static void assertError(Http.Resp r, int status, String code) {
    assertError(r, status);
    assertThat(json(r.body()).get("error").asText()).as(r.body()).isEqualTo(code);
  }

  /** Waits until every instance answers {@code path} with {@code status} and the JSON row. */
  private static void awaitOnAll(String path, int status, String expected) {
    for (ServerProcess n : nodes) {
      await()
          .atMost(VISIBLE)
          .untilAsserted(
              () -> {
                Http.Resp r = send(n, "GET", path, null);
                assertThat(r.status()).as("%s %s: %s", n.id(), path, r.body()).isEqualTo(status);
                assertThat(json(r.body())).as(n.id()).isEqualTo(json(expected));
              });
    }
  }

  /** Waits until {@code GET /students} on every instance equals the table, row by row. */
  private static void awaitStudentsEqualTable() {
    for (ServerProcess n : nodes) {
      await()
          .atMost(VISIBLE)
          .untilAsserted(
              () -> {
                Http.Resp r = send(n, "GET", "/students", null);
                assertThat(r.status()).as("%s: %s", n.id(), r.body()).isEqualTo(200);
                assertThat(json(r.body())).as(n.id()).isEqualTo(table());
              });
    }
  }

  /** The table as PostgreSQL renders it: a JSON array of its rows, sorted by id. */
  private static JsonNode table() {
    return json(
        query("SELECT coalesce(json_agg(row_to_json(s) ORDER BY id), '[]')::text FROM student s"));
  }

  /** One row as PostgreSQL renders it, or null when there is none. */
  private static JsonNode tableRow(long id) {
    String row = query("SELECT row_to_json(s)::text FROM student s WHERE id = " + id);
    return row == null ? null : json(row);
  }

  private static String query(String sql) {
    return query(PostgresProcess.DATABASE, sql);
  }

  /** The first column of the first row of {@code sql} in {@code database}, or null. */
  private static String query(String database, String sql) {
    String url =
        "jdbc:postgresql://" + pg.endpoint() + "/" + database + "?user=" + PostgresProcess.USER;
    try (Connection c = DriverManager.getConnection(url);
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  /**
   * Runs SQL with the real {@code psql} binary against the test's server, the script on its
   * standard input in UTF-8; fails loudly.
   */
  private static void psql(String sql) {
    psql(PostgresProcess.DATABASE, sql);
  }

  /** Runs SQL with {@code psql} in {@code database}. */
  private static void psql(String database, String sql) {
    String psql = pg.binDirectory().resolve("psql").toString();
    ProcessBuilder pb =
        new ProcessBuilder(
                psql,
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                Integer.toString(pg.port()),
                "-U",
                PostgresProcess.USER,
                "-d",
                database,
                "-f",
                "-")
            .redirectErrorStream(true);
    pb.environment().put("PGCONNECT_TIMEOUT", "5");
    pb.environment().put("PGCLIENTENCODING", "UTF8");
    try {
      Process p = pb.start();
      try (var in = p.getOutputStream()) {
        in.write(sql.getBytes(StandardCharsets.UTF_8));
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("psql did not finish within 30 s: " + sql);
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException("psql exit " + p.exitValue() + " for " + sql + ":\n" + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("psql (" + psql + ") could not be run", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
