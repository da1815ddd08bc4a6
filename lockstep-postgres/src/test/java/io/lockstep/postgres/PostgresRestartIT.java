package io.lockstep.postgres;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.Lockstep;
import io.lockstep.Versioned;
import io.lockstep.testkit.TestResource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 16's "restart": PostgreSQL is stopped and started (a fast shutdown), then killed and
 * started (crash recovery), while 4 external writers keep writing a mirrored table. Every instance
 * converges to the table, and no committed change is lost: each writer owns its rows and bumps a
 * version in each; the table ends with the last acknowledged version of every row (or a later one
 * whose acknowledgement the outage swallowed), and so does every instance.
 */
class PostgresRestartIT {
  private static final int WRITERS = 4;
  private static final int ROWS_PER_WRITER = 10;
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
  }

  @Test
  void restartAndKillDuringWrites_everyInstanceConverges_noCommittedChangeLost() throws Exception {
    String table = "student_" + UUID.randomUUID().toString().substring(0, 8);
    String prefix = "restart-" + table;
    pg.get().sql("CREATE TABLE " + table + " (id bigint PRIMARY KEY, name text, age int)");
    List<Lockstep> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Lockstep n =
          Lockstep.builder()
              .backend(pg.get().backendUri() + "?mirror=" + table + "&timeout=2s")
              .keyPrefix(prefix)
              .instanceId("node-" + i)
              .operationTimeout(Duration.ofSeconds(2))
              .build();
      open.add(n);
      nodes.add(n);
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> nodes.stream().allMatch(n -> n.map().replica().isReady()));

    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicInteger commits = new AtomicInteger();
    AtomicInteger failures = new AtomicInteger();
    long[][] acked = new long[WRITERS][ROWS_PER_WRITER];
    long[][] tried = new long[WRITERS][ROWS_PER_WRITER];
    List<CompletableFuture<Void>> writers = new ArrayList<>();
    for (int w = 0; w < WRITERS; w++) {
      int writer = w;
      writers.add(
          CompletableFuture.runAsync(
              () -> write(table, writer, writing, acked[writer], tried[writer], commits, failures),
              r -> Thread.ofPlatform().name("writer-" + writer).start(r)));
    }
    awaitMoreCommits(commits, 1000);
    pg.get().server().stop();
    pg.get().server().start();
    awaitMoreCommits(commits, 1000);
    pg.get().server().kill();
    pg.get().server().start();
    awaitMoreCommits(commits, 1000);
    writing.set(false);
    CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new)).get(1, TimeUnit.MINUTES);

    Map<String, String> rows = pg.get().rows(table, "id");
    for (int w = 0; w < WRITERS; w++) {
      for (int i = 0; i < ROWS_PER_WRITER; i++) {
        JsonNode row = JSON.readTree(rows.get(Long.toString(id(w, i))));
        assertThat(row.get("age").asLong())
            .as("row %d: last acknowledged version kept", id(w, i))
            .isBetween(acked[w][i], tried[w][i]);
      }
    }
    long expected = pg.get().mirrorDigest(prefix, table, "id");
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> nodes.stream().allMatch(n -> n.map().replica().digest() == expected));
    for (Lockstep n : nodes) {
      Map<String, String> held = new TreeMap<>();
      for (Versioned v : n.map().list("", 0)) {
        held.put(v.key(), v.valueAsString());
      }
      assertThat(held).as("rows on %s", n).isEqualTo(rows);
    }
    System.out.printf(
        "%s: %d commits, %d failed attempts during the outages, head revision %d%n",
        getClass().getSimpleName(), commits.get(), failures.get(), pg.get().head(prefix));
  }

  /**
   * A database that went back in history, as a standby promoted before it replayed everything or a
   * backup restored: its head is below what the replicas applied, with the same epoch, and the
   * revisions above it are handed out again. The feeds see the head below their position, the
   * engine relists and resets, and every instance ends equal to the table.
   */
  @Test
  void databaseRestoredToAnOlderCopy_replicasReset_andConverge() throws Exception {
    String prefix = "restore-" + UUID.randomUUID().toString().substring(0, 8);
    List<Lockstep> nodes = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      Lockstep n =
          Lockstep.builder()
              .backend(pg.get().backendUri() + "?timeout=2s")
              .keyPrefix(prefix)
              .operationTimeout(Duration.ofSeconds(2))
              .build();
      open.add(n);
      nodes.add(n);
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> nodes.stream().allMatch(n -> n.map().replica().isReady()));
    for (int i = 0; i < 3; i++) {
      nodes.get(0).map().put("k" + i, ("old" + i).getBytes(UTF_8), "text/plain");
    }
    Path data = pg.get().server().directory().resolve("data");
    Path backup = pg.get().server().directory().resolve("backup");
    pg.get().server().stop();
    copy(data, backup);
    pg.get().server().start();
    long applied = 0;
    for (int i = 3; i < 10; i++) {
      applied =
          nodes.get(0).map().put("k" + i, ("new" + i).getBytes(UTF_8), "text/plain").revision();
    }
    for (Lockstep n : nodes) {
      assertThat(n.map().replica().awaitRevision(applied, Duration.ofSeconds(30))).isTrue();
    }
    pg.get().server().stop();
    copy(backup, data);
    pg.get().server().start();
    assertThat(pg.get().head(prefix)).isEqualTo(3);
    pg.get().putKv(prefix, "after", "restored".getBytes(UTF_8), "text/plain"); // revision 4 again
    await()
        .atMost(Duration.ofSeconds(60))
        .ignoreExceptions()
        .until(
            () ->
                nodes.stream()
                    .allMatch(n -> n.map().replica().digest() == pg.get().kvDigest(prefix)));
    for (Lockstep n : nodes) {
      assertThat(n.map().get("after").valueAsString()).isEqualTo("restored");
      assertThat(n.map().get("k5")).isNull();
      assertThat(n.map().size()).isEqualTo(4);
      assertThat(n.map().replica().stats().resets()).isGreaterThanOrEqualTo(1);
    }
  }

  /** {@code cp -a}, replacing {@code to}: the files keep their owner (the postgres OS user). */
  private static void copy(Path from, Path to) throws Exception {
    Process rm = new ProcessBuilder("rm", "-rf", to.toString()).inheritIO().start();
    assertThat(rm.waitFor()).isZero();
    Process cp = new ProcessBuilder("cp", "-a", from.toString(), to.toString()).inheritIO().start();
    assertThat(cp.waitFor()).isZero();
  }

  private static void awaitMoreCommits(AtomicInteger commits, int more) {
    int target = commits.get() + more;
    await().atMost(Duration.ofSeconds(60)).until(() -> commits.get() >= target);
  }

  private static long id(int writer, int i) {
    return writer * 1000L + i;
  }

  /**
   * Bumps the version (age) of its own rows one after another, in autocommit transactions;
   * reconnects after a failure.
   */
  private void write(
      String table,
      int writer,
      AtomicBoolean writing,
      long[] acked,
      long[] tried,
      AtomicInteger commits,
      AtomicInteger failures) {
    int i = 0;
    while (writing.get()) {
      try (Connection c = pg.get().connect();
          PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO "
                      + table
                      + " (id, name, age) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE"
                      + " SET name = EXCLUDED.name, age = EXCLUDED.age")) {
        while (writing.get()) {
          int row = i % ROWS_PER_WRITER;
          long version = tried[row] + 1;
          tried[row] = version;
          ps.setLong(1, id(writer, row));
          ps.setString(2, "w" + writer + "-v" + version);
          ps.setLong(3, version);
          ps.executeUpdate();
          acked[row] = version;
          commits.incrementAndGet();
          i++;
        }
      } catch (SQLException | IllegalStateException e) {
        failures.incrementAndGet();
        try {
          Thread.sleep(50); // the server is down: try again shortly
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
