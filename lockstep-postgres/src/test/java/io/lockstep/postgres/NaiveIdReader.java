package io.lockstep.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A deliberately naive change reader, for tests only: the "id greater than the last one seen"
 * scheme Lockstep must not use. A plain (not deferred) row trigger appends each change of a table
 * to {@code <table>_naive_log(seq bigserial, key, row)}; the reader polls {@code WHERE seq > last
 * ORDER BY seq} and keeps the rows in memory. {@code seq} is taken when the row changes, not when
 * the transaction commits, so a transaction that pauses before its commit leaves a lower {@code
 * seq} that becomes visible after the reader moved past it: missed forever.
 */
final class NaiveIdReader implements AutoCloseable {
  private final Connection c;
  private final String log;
  private final Map<String, String> rows = new TreeMap<>();
  private final Set<Long> seen = new HashSet<>();
  private long last;

  /** Installs the log table and the trigger on {@code table} (primary key {@code pk}). */
  static void install(PostgresSource pg, String table, String pk) {
    String log = table + "_naive_log";
    pg.sql(
        "CREATE TABLE " + log + " (seq bigserial PRIMARY KEY, key text NOT NULL, row json)",
        "CREATE FUNCTION "
            + log
            + "_capture() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
            + " IF TG_OP = 'DELETE' THEN INSERT INTO "
            + log
            + " (key, row) VALUES (row_to_json(OLD) ->> '"
            + pk
            + "', NULL);"
            + " ELSE INSERT INTO "
            + log
            + " (key, row) VALUES (row_to_json(NEW) ->> '"
            + pk
            + "', row_to_json(NEW)); END IF; RETURN NULL; END $f$",
        "CREATE TRIGGER naive AFTER INSERT OR UPDATE OR DELETE ON "
            + table
            + " FOR EACH ROW EXECUTE FUNCTION "
            + log
            + "_capture()");
  }

  NaiveIdReader(PostgresSource pg, String table) {
    this.c = pg.connect();
    this.log = table + "_naive_log";
  }

  /** Reads every change with a seq above the last seen, in seq order. */
  void poll() throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT seq, key, row FROM " + log + " WHERE seq > ? ORDER BY seq")) {
      ps.setLong(1, last);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          long seq = rs.getLong(1);
          seen.add(seq);
          String row = rs.getString(3);
          if (row == null) {
            rows.remove(rs.getString(2));
          } else {
            rows.put(rs.getString(2), row);
          }
          last = seq;
        }
      }
    }
  }

  /** How many committed changes in the log this reader never saw. */
  long missed() throws SQLException {
    long missed = 0;
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT seq FROM " + log)) {
      while (rs.next()) {
        if (!seen.contains(rs.getLong(1))) {
          missed++;
        }
      }
    }
    return missed;
  }

  Map<String, String> rows() {
    return rows;
  }

  @Override
  public void close() throws SQLException {
    c.close();
  }
}
