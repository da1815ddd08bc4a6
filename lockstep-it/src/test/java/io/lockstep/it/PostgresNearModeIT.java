package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.PostgresProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 17's "near mode under external writers" on PostgreSQL: three {@code serve --mode near
 * --near-max-keys 40 --mirror student} processes on one real PostgreSQL ({@link PostgresProcess}),
 * the table {@code student(id bigint PRIMARY KEY, name text, age int)} written straight through
 * JDBC by other programs (not through Lockstep; the capture trigger numbers their commits). The
 * bound holds with a larger working set; while three writers update, delete and insert again the
 * rows the instances hold, in transactions of one to three statements, and a fourth deletes rows
 * for good, every instance is read without pause: a row's revision never goes back, and a deleted
 * row is never served once the instance has applied its delete, nor after it answered 404. Once the
 * writers stop, every held row equals the table's, at the trigger's mod revision.
 */
class PostgresNearModeIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String NS = "near-students";
  static final int BOUND = 40;
  static final int STEPS = 300; // transactions per writer, at least
  static final int ROUNDS = 10; // reads of every row on every instance while writing, at least
  static PostgresProcess pg;
  static ServerCluster cluster;

  @BeforeAll
  static void startCluster() {
    pg = new PostgresProcess();
    sql("CREATE TABLE student(id bigint PRIMARY KEY, name text, age int)");
    cluster =
        ServerCluster.builder(pg.backendUri())
            .instances(3)
            .keyPrefix(NS)
            .args(
                "--mirror", "student", "--mode", "near", "--near-max-keys", Integer.toString(BOUND))
            .start();
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
    if (pg != null) {
      pg.close();
    }
  }

  // -----------------------------------------------------------------------------------------------
  // PostgreSQL, as another program sees it
  // -----------------------------------------------------------------------------------------------

  static Connection connect() throws SQLException {
    return DriverManager.getConnection(pg.jdbcUrl());
  }

  static void sql(String... statements) {
    try (Connection c = connect();
        Statement st = c.createStatement()) {
      for (String s : statements) {
        st.execute(s);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(String.join("; ", statements) + ": " + e.getMessage(), e);
    }
  }

  /** The row of {@code id} as PostgreSQL renders it ({@code row_to_json}), or null. */
  static JsonNode row(Connection c, String id) throws Exception {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT row_to_json(s)::text FROM student s WHERE id = ?::bigint")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? JSON.readTree(rs.getString(1)) : null;
      }
    }
  }

  /** The mod revision the trigger recorded for the key {@code id}, or 0 when absent. */
  static long modRevision(Connection c, String id) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT mod_rev FROM lockstep.entries WHERE ns = ? AND key = ?")) {
      ps.setString(1, NS);
      ps.setString(2, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }

  /** The revision of the one delete of the key {@code id} in the change log. */
  static long deleteRevision(Connection c, String id) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT max(rev) FROM lockstep.changes WHERE ns = ? AND key = ? AND value IS NULL")) {
      ps.setString(1, NS);
      ps.setString(2, id);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        long rev = rs.getLong(1);
        assertThat(rev).as("delete of %s in the change log", id).isPositive();
        return rev;
      }
    }
  }

  static void insert(Connection c, long id, String name, int age) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO student VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE"
                + " SET name = EXCLUDED.name, age = EXCLUDED.age")) {
      ps.setLong(1, id);
      ps.setString(2, name);
      ps.setInt(3, age);
      ps.executeUpdate();
    }
  }

  // -----------------------------------------------------------------------------------------------
  // The instances
  // -----------------------------------------------------------------------------------------------

  static JsonNode stats(ServerProcess n) throws Exception {
    Http.Resp r = Http.raw(n.url(), "GET", "/stats", null);
    assertThat(r.status()).as("GET /stats on %s: %s", n.id(), r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  /** The rows the instance holds, by key, with their mod revisions. */
  static Map<String, Long> held(ServerProcess n) throws Exception {
    Http.Resp r = Http.raw(n.url(), "GET", "/config?limit=10000", null);
    assertThat(r.status()).as("GET /config on %s: %s", n.id(), r.body()).isEqualTo(200);
    Map<String, Long> out = new HashMap<>();
    for (JsonNode k : JSON.readTree(r.body()).get("keys")) {
      out.put(k.get("key").asText(), k.get("revision").asLong());
    }
    return out;
  }

  @Test
  void workingSetLargerThanTheBound_eachInstanceHoldsAtMostTheBound_andServesEveryRow()
      throws Exception {
    int rows = 120;
    sql(
        "INSERT INTO student SELECT 1000 + i, 'b' || i, i FROM generate_series(0, "
            + (rows - 1)
            + ") i");
    for (ServerProcess n : cluster.nodes()) {
      for (int round = 0; round < 2; round++) {
        for (int i = 0; i < rows; i++) {
          Http.Resp r = Http.get(n.url(), Integer.toString(1000 + i), "use_cache=true");
          assertThat(r.status()).as("%d on %s: %s", 1000 + i, n.id(), r.body()).isEqualTo(200);
          assertThat(JSON.readTree(r.body()))
              .isEqualTo(
                  JSON.readTree(
                      "{\"id\":" + (1000 + i) + ",\"name\":\"b" + i + "\",\"age\":" + i + "}"));
        }
      }
      JsonNode s = stats(n);
      assertThat(s.get("mode").asText()).isEqualTo("near");
      JsonNode near = s.get("near");
      assertThat(near.get("maxKeys").asLong()).isEqualTo(BOUND);
      assertThat(near.get("heldKeys").asLong()).isBetween(1L, (long) BOUND);
      assertThat(near.get("loads").asLong()).isGreaterThanOrEqualTo(rows);
      assertThat(near.get("evictions").asLong()).isPositive();
      assertThat(held(n).size()).isLessThanOrEqualTo(BOUND);
    }
  }

  @Test
  void externalWriters_heldRowsFollowTheTable_andADeletedRowIsNeverServedAgain() throws Exception {
    int live = 15;
    int doomed = 6;
    List<String> liveKeys = new ArrayList<>();
    List<String> doomedKeys = new ArrayList<>();
    try (Connection c = connect()) {
      for (int i = 1; i <= live; i++) {
        liveKeys.add(Integer.toString(i));
        insert(c, i, "s" + i, 0);
      }
      for (int i = 1; i <= doomed; i++) {
        doomedKeys.add(Integer.toString(100 + i));
        insert(c, 100 + i, "doomed" + i, 0);
      }
    }
    List<String> all = new ArrayList<>(liveKeys);
    all.addAll(doomedKeys);
    for (ServerProcess n : cluster.nodes()) { // every instance holds every row
      for (String k : all) {
        assertThat(Http.get(n.url(), k, "use_cache=true").status()).as(k).isEqualTo(200);
      }
    }

    Map<String, Long> deletedAt = new ConcurrentHashMap<>(); // doomed key -> its delete's revision
    List<String> violations = new CopyOnWriteArrayList<>();
    AtomicInteger running = new AtomicInteger();
    AtomicInteger commits = new AtomicInteger();
    AtomicInteger rounds = new AtomicInteger(); // of the readers below
    List<Thread> writers = new ArrayList<>();
    for (int w = 0; w < 3; w++) {
      int seed = 17 + w;
      running.incrementAndGet();
      writers.add(
          Thread.ofPlatform()
              .name("external-writer-" + w)
              .start(
                  () -> {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    try (Connection c = connect()) {
                      c.setAutoCommit(false);
                      for (int step = 1; step <= STEPS || rounds.get() < ROUNDS; step++) {
                        // 1 to 3 rows, in id order (so two writers never deadlock)
                        TreeSet<Integer> ids = new TreeSet<>();
                        int statements = 1 + rnd.nextInt(3);
                        while (ids.size() < statements) {
                          ids.add(1 + rnd.nextInt(live));
                        }
                        for (int id : ids) {
                          if (rnd.nextInt(30) == 0) { // written again by a later step
                            try (PreparedStatement ps =
                                c.prepareStatement("DELETE FROM student WHERE id = ?")) {
                              ps.setLong(1, id);
                              ps.executeUpdate();
                            }
                          } else if (rnd.nextBoolean()) {
                            try (PreparedStatement ps =
                                c.prepareStatement(
                                    "UPDATE student SET name = ?, age = age + 1 WHERE id = ?")) {
                              ps.setString(1, "w" + seed + "-" + step);
                              ps.setLong(2, id);
                              ps.executeUpdate();
                            }
                          } else {
                            insert(c, id, "w" + seed + "-" + step, step);
                          }
                        }
                        if (rnd.nextInt(4) == 0) { // a transaction left open a moment
                          Thread.sleep(rnd.nextInt(1, 6));
                        }
                        c.commit();
                        commits.incrementAndGet();
                        Thread.sleep(rnd.nextInt(2, 10)); // pacing: the run lasts a few seconds
                      }
                    } catch (Exception e) {
                      violations.add(Thread.currentThread().getName() + " failed: " + e);
                    } finally {
                      running.decrementAndGet();
                    }
                  }));
    }
    running.incrementAndGet();
    writers.add(
        Thread.ofPlatform()
            .name("external-deleter")
            .start(
                () -> {
                  try (Connection c = connect()) {
                    for (String d : doomedKeys) {
                      try (PreparedStatement ps =
                          c.prepareStatement("DELETE FROM student WHERE id = ?::bigint")) {
                        ps.setString(1, d);
                        assertThat(ps.executeUpdate()).isEqualTo(1);
                      }
                      deletedAt.put(d, deleteRevision(c, d));
                      // spread the deletes over the writers' run, each after some commits
                      int seen = commits.get();
                      await()
                          .atMost(Duration.ofSeconds(30))
                          .pollInterval(Duration.ofMillis(5))
                          .until(() -> commits.get() >= seen + 120 || running.get() == 1);
                    }
                  } catch (Throwable e) {
                    violations.add("deleter failed: " + e);
                  } finally {
                    running.decrementAndGet();
                  }
                }));

    // Readers: every instance, every row, as fast as they go while the table is written.
    NearReads reads = new NearReads(deletedAt, violations);
    long readStart = System.nanoTime();
    while (running.get() > 0 || reads.reads() == 0) {
      for (ServerProcess n : cluster.nodes()) {
        for (String k : all) {
          reads.read(n, k);
        }
      }
      rounds.incrementAndGet();
    }
    for (Thread t : writers) {
      t.join();
    }
    long stopped = System.nanoTime();
    assertThat(violations).isEmpty();
    assertThat(deletedAt).hasSize(doomed);
    assertThat(commits.get()).isGreaterThanOrEqualTo(3 * STEPS);
    assertThat(reads.reads())
        .as(
            "reads while writing, in %d ms; %s",
            (stopped - readStart) / 1_000_000, stats(cluster.node(0)).get("near"))
        .isGreaterThan(all.size() * 3 * 5);

    // Once the feed has caught up: every row held equals the table's, every read answers the
    // table's row, at the trigger's mod revision.
    try (Connection c = connect()) {
      for (ServerProcess n : cluster.nodes()) {
        await()
            .atMost(Duration.ofSeconds(10))
            .pollInterval(Duration.ofMillis(50))
            .untilAsserted(
                () -> {
                  for (Map.Entry<String, Long> e : held(n).entrySet()) {
                    assertThat(e.getValue())
                        .as("%s held on %s", e.getKey(), n.id())
                        .isEqualTo(modRevision(c, e.getKey()));
                  }
                  for (String k : all) {
                    Http.Resp r = Http.get(n.url(), k, "use_cache=true");
                    JsonNode truth = row(c, k);
                    if (truth == null) {
                      assertThat(r.status()).as("%s on %s", k, n.id()).isEqualTo(404);
                    } else {
                      assertThat(r.status()).as("%s on %s", k, n.id()).isEqualTo(200);
                      assertThat(JSON.readTree(r.body()))
                          .as("%s on %s", k, n.id())
                          .isEqualTo(truth);
                      assertThat(r.revision())
                          .as("%s on %s", k, n.id())
                          .isEqualTo(modRevision(c, k));
                    }
                  }
                });
        for (String d : doomedKeys) {
          assertThat(Http.get(n.url(), d, "use_cache=true").status()).isEqualTo(404);
        }
        JsonNode near = stats(n).get("near");
        assertThat(near.get("hits").asLong()).isPositive();
        assertThat(near.get("heldKeys").asLong()).isLessThanOrEqualTo(BOUND);
      }
    }
    long settledMillis = (System.nanoTime() - stopped) / 1_000_000;
    System.out.printf(
        "PostgresNearModeIT: %d commits by 3 writers and %d deletes, %d reads during the run;"
            + " every instance equal to the table %d ms after the writers stopped%n",
        commits.get(), doomed, reads.reads(), settledMillis);
    for (ServerProcess n : cluster.nodes()) {
      System.out.println("  " + n.id() + " near: " + stats(n).get("near"));
    }
  }
}
