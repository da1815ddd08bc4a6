package io.lockstep.postgres;

import io.lockstep.Digests;
import io.lockstep.process.PostgresProcess;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.TreeMap;

/**
 * The source of truth as tests see it, bypassing Lockstep: a {@link PostgresProcess} and plain JDBC
 * of its own, writing as another program would (plain SQL; the capture trigger does the rest).
 */
final class PostgresSource implements AutoCloseable {
  private final PostgresProcess server;

  PostgresSource(PostgresProcess server) {
    this.server = server;
  }

  static PostgresSource onNewServer() {
    return new PostgresSource(new PostgresProcess());
  }

  PostgresProcess server() {
    return server;
  }

  String backendUri() {
    return server.backendUri();
  }

  /** A new connection (autocommit), which the caller closes. */
  Connection connect() {
    try {
      return DriverManager.getConnection(server.jdbcUrl());
    } catch (SQLException e) {
      throw new IllegalStateException("connecting to " + server + " failed", e);
    }
  }

  /** Runs statements in one autocommit connection. */
  void sql(String... statements) {
    try (Connection c = connect();
        Statement st = c.createStatement()) {
      for (String s : statements) {
        st.execute(s);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(String.join("; ", statements) + ": " + e.getMessage(), e);
    }
  }

  /** Upserts into the namespace's key-value table with plain SQL. */
  void putKv(String prefix, String key, byte[] value, String contentType) {
    try (Connection c = connect();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO lockstep."
                    + PostgresSchema.identifier(prefix)
                    + " (key, value, content_type) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE"
                    + " SET value = EXCLUDED.value, content_type = EXCLUDED.content_type")) {
      ps.setString(1, key);
      ps.setBytes(2, value);
      ps.setString(3, contentType);
      ps.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The digest of the key-value table as it is now, with the mod revisions the trigger kept. */
  long kvDigest(String prefix) {
    return digestOf(
        "SELECT t.key, e.mod_rev, t.value FROM lockstep."
            + PostgresSchema.identifier(prefix)
            + " t JOIN lockstep.entries e ON e.ns = ? AND e.key = t.key",
        prefix);
  }

  /** The digest of a mirrored table as it is now: each row's JSON and its mod revision. */
  long mirrorDigest(String prefix, String table, String pk) {
    return digestOf(
        "SELECT e.key, e.mod_rev, convert_to(row_to_json(t)::text, 'UTF8') FROM "
            + table
            + " t JOIN lockstep.entries e ON e.ns = ? AND e.key = row_to_json(t) ->> '"
            + pk
            + "'",
        prefix);
  }

  /** Every row of a table as JSON text, by primary key text. */
  Map<String, String> rows(String table, String pk) {
    Map<String, String> rows = new TreeMap<>();
    try (Connection c = connect();
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT row_to_json(t) ->> '"
                    + pk
                    + "', row_to_json(t)::text FROM "
                    + table
                    + " t")) {
      while (rs.next()) {
        rows.put(rs.getString(1), rs.getString(2));
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return rows;
  }

  private long digestOf(String sql, String prefix) {
    long d = 0;
    try (Connection c = connect();
        PreparedStatement ps = c.prepareStatement(sql)) {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      ps.setString(1, prefix);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          d += Digests.entry(rs.getString(1), rs.getLong(2), rs.getBytes(3));
        }
      }
      c.commit();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return d;
  }

  /** The namespace's head revision. */
  long head(String prefix) {
    try (Connection c = connect();
        PreparedStatement ps = c.prepareStatement("SELECT rev FROM lockstep.heads WHERE ns = ?")) {
      ps.setString(1, prefix);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    server.close();
  }
}
