package io.lockstep.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.process.PostgresProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * The harness itself: initdb into a throwaway directory, a server on a free loopback port with
 * logical WAL, data kept across a stop and a kill on the same port and directory, everything
 * removed on close.
 */
class PostgresProcessIT {

  private static String query(PostgresProcess p, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(p.jdbcUrl());
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  @Test
  void startStopKillRestart_keepPortAndData_closeRemovesTheDirectory() throws Exception {
    Path dir;
    try (PostgresProcess p = new PostgresProcess()) {
      dir = p.directory();
      assertThat(p.backendUri())
          .isEqualTo("postgresql://postgres@127.0.0.1:" + p.port() + "/postgres");
      assertThat(query(p, "SHOW wal_level")).isEqualTo("logical");
      assertThat(query(p, "SHOW listen_addresses")).isEqualTo("127.0.0.1");
      assertThat(query(p, "SHOW unix_socket_directories")).isEqualTo(dir.toString());
      try (Connection c = DriverManager.getConnection(p.jdbcUrl());
          Statement st = c.createStatement()) {
        st.execute("CREATE TABLE t (v int)");
        st.execute("INSERT INTO t VALUES (1)");
      }
      long pid = p.pid();
      try (Connection idle = DriverManager.getConnection(p.jdbcUrl())) {
        // A fast shutdown ends open sessions; a smart one (plain SIGTERM) would wait for them.
        long t0 = System.nanoTime();
        p.stop();
        assertThat((System.nanoTime() - t0) / 1_000_000).as("stop millis").isLessThan(10_000);
      }
      assertThat(p.isRunning()).isFalse();
      assertThat(Files.readString(p.logFile()))
          .contains("pg_ctl stop -m fast: ")
          .contains("server stopped");
      assertThatThrownBy(() -> query(p, "SELECT 1")).isInstanceOf(SQLException.class);
      p.start();
      assertThat(query(p, "SELECT sum(v) FROM t")).isEqualTo("1");
      try (Connection c = DriverManager.getConnection(p.jdbcUrl());
          Statement st = c.createStatement()) {
        st.execute("INSERT INTO t VALUES (2)");
      }
      p.kill(); // SIGKILL of the postmaster and its backends: crash recovery on the next start
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
      p.start();
      assertThat(query(p, "SELECT sum(v) FROM t")).isEqualTo("3");
      p.restart();
      assertThat(query(p, "SELECT count(*) FROM t")).isEqualTo("2");
      assertThat(Files.exists(dir.resolve("data/PG_VERSION"))).isTrue();
    }
    assertThat(Files.exists(dir)).isFalse();
  }
}
