package io.lockstep.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.Lockstep;
import io.lockstep.Versioned;
import io.lockstep.testkit.TestResource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
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
 * Issue 16's "overlapping writers": 3 Lockstep instances mirror a {@code student} table while 8
 * external writers, not through Lockstep, run 5,000 random inserts, updates and deletes in plain
 * SQL, in overlapping transactions with random pauses inside each. Afterwards every instance's
 * digest equals the table's and every row equals the table's row by value. The same workload is
 * watched by a naive "seq > last" reader over a bigserial log, which must miss changes: the test
 * can see the fault the commit-ordered revisions rule out.
 */
class PostgresOverlappingWritersIT {
  private static final int WRITERS = 8;
  private static final int OPERATIONS = 5000;
  private static final int IDS = 300;
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
  void eightOverlappingWriters_everyInstanceEqualsTheTable_whileANaiveIdReaderMissesChanges()
      throws Exception {
    String table = "student_" + UUID.randomUUID().toString().substring(0, 8);
    String prefix = "students-" + table;
    pg.get().sql("CREATE TABLE " + table + " (id bigint PRIMARY KEY, name text, age int)");
    NaiveIdReader.install(pg.get(), table, "id");
    List<Lockstep> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Lockstep n =
          Lockstep.builder()
              .backend(pg.get().backendUri() + "?mirror=" + table)
              .keyPrefix(prefix)
              .instanceId("node-" + i)
              .build();
      open.add(n);
      nodes.add(n);
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> nodes.stream().allMatch(n -> n.map().replica().isReady()));

    NaiveIdReader naive = new NaiveIdReader(pg.get(), table);
    open.add(naive);
    AtomicBoolean writing = new AtomicBoolean(true);
    CompletableFuture<Void> reader =
        CompletableFuture.runAsync(
            () -> {
              try {
                while (writing.get()) {
                  naive.poll();
                }
                naive.poll();
              } catch (SQLException e) {
                throw new IllegalStateException(e);
              }
            });

    AtomicInteger operations = new AtomicInteger();
    AtomicInteger retried = new AtomicInteger();
    List<CompletableFuture<Void>> writers = new ArrayList<>();
    for (int w = 0; w < WRITERS; w++) {
      long seed = 1000 + w;
      writers.add(
          CompletableFuture.runAsync(
              () -> write(table, new SplittableRandom(seed), operations, retried),
              r -> Thread.ofPlatform().name("writer-" + seed).start(r)));
    }
    CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
    writing.set(false);
    reader.get(1, TimeUnit.MINUTES);

    Map<String, String> rows = pg.get().rows(table, "id");
    long expected = pg.get().mirrorDigest(prefix, table, "id");
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> nodes.stream().allMatch(n -> n.map().replica().digest() == expected));
    for (Lockstep n : nodes) {
      Map<String, JsonNode> held = new TreeMap<>();
      for (Versioned v : n.map().list("", 0)) {
        held.put(v.key(), JSON.readTree(v.value()));
      }
      Map<String, JsonNode> want = new TreeMap<>();
      for (Map.Entry<String, String> e : rows.entrySet()) {
        want.put(e.getKey(), JSON.readTree(e.getValue()));
      }
      assertThat(held).as("rows on %s", n).isEqualTo(want);
    }

    long missed = naive.missed();
    long wrongRows = differences(naive.rows(), rows);
    System.out.printf(
        "%s: %d statements (%d transactions retried after a deadlock), %d rows at the end;"
            + " head revision %d; naive seq>last reader missed %d changes, %d rows differ%n",
        getClass().getSimpleName(),
        operations.get(),
        retried.get(),
        rows.size(),
        pg.get().head(prefix),
        missed,
        wrongRows);
    assertThat(operations.get()).isGreaterThanOrEqualTo(OPERATIONS);
    assertThat(missed).as("changes the naive reader never saw").isPositive();
  }

  private static long differences(Map<String, String> a, Map<String, String> b) {
    java.util.Set<String> keys = new java.util.TreeSet<>(a.keySet());
    keys.addAll(b.keySet());
    return keys.stream().filter(k -> !java.util.Objects.equals(a.get(k), b.get(k))).count();
  }

  /**
   * One writer: transactions of 1 to 4 statements, pausing 0 to 3 ms before each and the commit.
   */
  private void write(
      String table, SplittableRandom r, AtomicInteger operations, AtomicInteger retried) {
    try (Connection c = pg.get().connect()) {
      c.setAutoCommit(false);
      PreparedStatement insert =
          c.prepareStatement(
              "INSERT INTO "
                  + table
                  + " (id, name, age) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING");
      PreparedStatement update =
          c.prepareStatement("UPDATE " + table + " SET name = ?, age = ? WHERE id = ?");
      PreparedStatement delete = c.prepareStatement("DELETE FROM " + table + " WHERE id = ?");
      while (operations.get() < OPERATIONS) {
        int statements = 1 + r.nextInt(4);
        try {
          for (int i = 0; i < statements; i++) {
            pause(r);
            int id = 1 + r.nextInt(IDS);
            int kind = r.nextInt(10);
            if (kind < 4) {
              insert.setLong(1, id);
              insert.setString(2, "n" + r.nextInt(1_000_000));
              insert.setInt(3, r.nextInt(100));
              insert.executeUpdate();
            } else if (kind < 8) {
              update.setString(1, "u" + r.nextInt(1_000_000));
              update.setInt(2, r.nextInt(100));
              update.setLong(3, id);
              update.executeUpdate();
            } else {
              delete.setLong(1, id);
              delete.executeUpdate();
            }
          }
          pause(r);
          c.commit();
          operations.addAndGet(statements);
        } catch (SQLException e) {
          // Deadlocks between the writers' own row locks (40P01) are PostgreSQL's to break.
          c.rollback();
          retried.incrementAndGet();
          if (!"40P01".equals(e.getSQLState()) && !"40001".equals(e.getSQLState())) {
            throw e;
          }
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void pause(SplittableRandom r) {
    try {
      Thread.sleep(r.nextInt(4)); // a writer's think time inside its transaction, not a wait
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
