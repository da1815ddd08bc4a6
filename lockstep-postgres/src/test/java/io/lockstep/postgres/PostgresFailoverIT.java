package io.lockstep.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.Versioned;
import io.lockstep.process.PostgresProcess;
import io.lockstep.testkit.TcpProxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Issue 16's failover: 3 instances follow a mirrored table on a primary, through one address (a
 * proxy). A streaming standby stops receiving WAL (its {@code primary_conninfo} emptied), so the
 * writes that follow reach the primary and every instance but not the standby. The primary is
 * killed, the standby promoted, the address pointed at it, and writing goes on. The standby's head
 * is below what the instances applied, with revisions handed out again: every instance must reset
 * (never skip) and end equal to the new primary's table.
 */
class PostgresFailoverIT {
  private static final String TABLE = "student";

  @Test
  void failoverToAStandbyThatMissedCommits_everyInstanceResets_andEqualsTheNewPrimary()
      throws Exception {
    List<AutoCloseable> open = new ArrayList<>();
    try (PostgresProcess primary = new PostgresProcess();
        PostgresSource onPrimary = new PostgresSource(primary)) {
      onPrimary.sql("CREATE TABLE " + TABLE + " (id bigint PRIMARY KEY, name text, age int)");
      try (PostgresProcess standby = PostgresProcess.standbyOf(primary);
          PostgresSource onStandby = new PostgresSource(standby);
          TcpProxy address = new TcpProxy("127.0.0.1", primary.port())) {
        String uri = primary.backendUri(address.endpoint()) + "?mirror=" + TABLE + "&timeout=2s";
        List<Lockstep> nodes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
          Lockstep n =
              Lockstep.builder()
                  .backend(uri)
                  .keyPrefix("failover")
                  .instanceId("node-" + i)
                  .operationTimeout(Duration.ofSeconds(2))
                  .build();
          open.add(n);
          nodes.add(n);
        }
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> nodes.stream().allMatch(n -> n.map().replica().isReady()));
        for (int id = 1; id <= 20; id++) {
          onPrimary.sql("INSERT INTO " + TABLE + " VALUES (" + id + ", 'before', " + id + ")");
        }
        long replicated = onPrimary.head("failover");
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> onStandby.head("failover") == replicated);

        // The standby stops receiving WAL; these commits reach the primary and the instances only.
        onStandby.sql("ALTER SYSTEM SET primary_conninfo = ''", "SELECT pg_reload_conf()");
        await().atMost(Duration.ofSeconds(30)).until(() -> !receiving(onStandby));
        for (int id = 1; id <= 10; id++) {
          onPrimary.sql("UPDATE " + TABLE + " SET name = 'lost', age = 0 WHERE id = " + id);
        }
        onPrimary.sql("DELETE FROM " + TABLE + " WHERE id > 15");
        long applied = onPrimary.head("failover");
        for (Lockstep n : nodes) {
          assertThat(n.map().replica().awaitRevision(applied, Duration.ofSeconds(30))).isTrue();
          assertThat(n.map().get("1").valueAsString()).contains("lost");
        }

        primary.kill();
        standby.promote();
        address.retarget("127.0.0.1", standby.port());
        address.cut();
        assertThat(onStandby.head("failover")).isEqualTo(replicated).isLessThan(applied);
        // Writing goes on at the new primary: revisions above `replicated` are handed out again.
        onStandby.sql(
            "UPDATE " + TABLE + " SET name = 'after' WHERE id = 2",
            "INSERT INTO " + TABLE + " VALUES (100, 'new', 1)");

        long expected = onStandby.mirrorDigest("failover", TABLE, "id");
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> nodes.stream().allMatch(n -> n.map().replica().digest() == expected));
        Map<String, String> rows = onStandby.rows(TABLE, "id");
        for (Lockstep n : nodes) {
          Map<String, String> held = new TreeMap<>();
          for (Versioned v : n.map().list("", 0)) {
            held.put(v.key(), v.valueAsString());
          }
          assertThat(held).isEqualTo(rows);
          assertThat(n.map().get("1").valueAsString()).contains("before");
          assertThat(n.map().get("16")).isNotNull();
          assertThat(n.map().replica().stats().resets()).isGreaterThanOrEqualTo(1);
        }
        System.out.printf(
            "%s: instances applied %d; the promoted standby had %d; converged on %d rows%n",
            getClass().getSimpleName(), applied, replicated, rows.size());
      } finally {
        for (AutoCloseable c : open.reversed()) {
          c.close();
        }
      }
    }
  }

  private static boolean receiving(PostgresSource pg) {
    try (Connection c = pg.connect();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_wal_receiver")) {
      rs.next();
      return rs.getLong(1) > 0;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
