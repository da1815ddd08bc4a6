package io.lockstep.postgres;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The table a namespace's map lives in, and the SQL that reads and writes it: Lockstep's own
 * key-value table ({@code key text PRIMARY KEY, value bytea, content_type text}), or a mirrored
 * table whose one-column primary key is the map key (its text form, as {@code row_to_json} renders
 * it) and whose value is the row as a JSON object. Mirrored rows are written with the database's
 * own JSON-to-row function ({@code jsonb_populate_record}); the only names put into SQL text are
 * identifiers PostgreSQL itself quoted ({@code regclass}) or {@link PostgresSchema#identifier}
 * quoted. Immutable.
 *
 * @param table the table, quoted (and schema-qualified) as PostgreSQL prints it
 * @param pk the primary key column's name (unquoted); {@code key} for the key-value table
 * @param columns every column, quoted, in table order; empty for the key-value table
 */
record Source(String table, String pk, List<String> columns, boolean mirror) {
  static final String JSON = "application/json";

  static Source kv(String table) {
    return new Source(table, "key", List.of(), false);
  }

  /** Looks up a table to mirror: its name as PostgreSQL prints it, its primary key and columns. */
  static Source mirror(Connection c, String name) throws SQLException {
    String table;
    try (PreparedStatement ps = c.prepareStatement("SELECT ?::regclass::text")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        table = rs.getString(1);
      }
    }
    List<String> pks = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                + " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = ?::regclass AND i.indisprimary")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          pks.add(rs.getString(1));
        }
      }
    }
    if (pks.size() != 1) {
      throw new IllegalArgumentException(
          "mirror="
              + name
              + ": the table needs a primary key of exactly one column, has "
              + (pks.isEmpty() ? "none" : pks));
    }
    List<String> columns = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT attname FROM pg_attribute WHERE attrelid = ?::regclass AND attnum > 0"
                + " AND NOT attisdropped ORDER BY attnum")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          columns.add(PostgresSchema.identifier(rs.getString(1)));
        }
      }
    }
    return new Source(table, pks.get(0), List.copyOf(columns), true);
  }

  private String pkId() {
    return PostgresSchema.identifier(pk);
  }

  private String pkLiteral() {
    return PostgresSchema.literal(pk);
  }

  /** The primary key value a key parameter names, in the column's own type. */
  private String pkOfParam() {
    return "(jsonb_populate_record(NULL::"
        + table
        + ", jsonb_build_object("
        + pkLiteral()
        + ", ?::text)))."
        + pkId();
  }

  String describePk() {
    return "the primary key column " + pk + " of " + table;
  }

  /**
   * Whether {@code key} can be a key of this table: always for the key-value table; for a mirror,
   * when it is the text form of a primary key value exactly as PostgreSQL renders it ({@code 7},
   * not {@code 07}). Runs outside any transaction (a bad value is an error in PostgreSQL).
   */
  boolean acceptsKey(Connection c, String key) throws SQLException {
    if (!mirror) {
      return true;
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT row_to_json(jsonb_populate_record(NULL::"
                + table
                + ", jsonb_build_object("
                + pkLiteral()
                + ", ?::text))) ->> "
                + pkLiteral())) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && key.equals(rs.getString(1));
      }
    } catch (SQLException e) {
      if (e.getSQLState() != null && e.getSQLState().startsWith("22")) {
        return false;
      }
      throw e;
    }
  }

  /** key, value, content type, mod revision of every entry; parameter: the namespace. */
  String listSql(String s) {
    if (!mirror) {
      return "SELECT t.key, t.value, t.content_type, e.mod_rev FROM "
          + table
          + " t JOIN "
          + s
          + ".entries e ON e.ns = ? AND e.key = t.key";
    }
    return "SELECT e.key, convert_to(row_to_json(t)::text, 'UTF8'), '"
        + JSON
        + "', e.mod_rev FROM "
        + table
        + " t JOIN "
        + s
        + ".entries e ON e.ns = ? AND e.key = row_to_json(t) ->> "
        + pkLiteral();
  }

  /** value, content type, mod revision of one key; parameters: namespace, key, key. */
  String getSql(String s) {
    if (!mirror) {
      return "SELECT t.value, t.content_type, e.mod_rev FROM "
          + table
          + " t JOIN "
          + s
          + ".entries e ON e.ns = ? AND e.key = t.key WHERE t.key = ? AND e.key = ?";
    }
    return "SELECT convert_to(row_to_json(t)::text, 'UTF8'), '"
        + JSON
        + "', e.mod_rev FROM "
        + table
        + " t JOIN "
        + s
        + ".entries e ON e.ns = ? AND e.key = row_to_json(t) ->> "
        + pkLiteral()
        + " WHERE t."
        + pkId()
        + " = "
        + pkOfParam()
        + " AND e.key = ?";
  }

  /** Locks the key's row if present; parameter: the key. */
  String lockSql() {
    return "SELECT 1 FROM " + table + " t WHERE t." + pkId() + " = " + keyParam() + " FOR UPDATE";
  }

  /** Deletes the key's row; parameter: the key. */
  String deleteSql() {
    return "DELETE FROM " + table + " t WHERE t." + pkId() + " = " + keyParam();
  }

  private String keyParam() {
    return mirror ? pkOfParam() : "?";
  }

  /** Inserts or replaces the key's row (inserts only, when {@code onlyIfAbsent}). */
  String upsertSql(boolean onlyIfAbsent) {
    if (!mirror) {
      return "INSERT INTO "
          + table
          + " (key, value, content_type) VALUES (?, ?, ?) ON CONFLICT (key) DO "
          + (onlyIfAbsent
              ? "NOTHING"
              : "UPDATE SET value = EXCLUDED.value, content_type = EXCLUDED.content_type");
    }
    String set =
        columns.size() == 1
            ? columns.get(0) + " = EXCLUDED." + columns.get(0)
            : "("
                + String.join(", ", columns)
                + ") = ROW("
                + String.join(", ", columns.stream().map(c -> "EXCLUDED." + c).toList())
                + ")";
    return "INSERT INTO "
        + table
        + " SELECT * FROM jsonb_populate_record(NULL::"
        + table
        + ", ?::jsonb || jsonb_build_object("
        + pkLiteral()
        + ", ?::text)) ON CONFLICT ("
        + pkId()
        + ") DO "
        + (onlyIfAbsent ? "NOTHING" : "UPDATE SET " + set);
  }

  void bindUpsert(PreparedStatement ps, String key, byte[] value, @Nullable String contentType)
      throws SQLException {
    if (!mirror) {
      ps.setString(1, key);
      ps.setBytes(2, value);
      ps.setString(
          3, contentType == null ? io.lockstep.Versioned.DEFAULT_CONTENT_TYPE : contentType);
      return;
    }
    ps.setString(1, new String(value, StandardCharsets.UTF_8));
    ps.setString(2, key);
  }
}
