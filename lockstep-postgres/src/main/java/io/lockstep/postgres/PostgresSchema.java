package io.lockstep.postgres;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Lockstep's tables and triggers in one schema (default {@code lockstep}), created on start with
 * {@code CREATE ... IF NOT EXISTS} under a transaction-level advisory lock, so that instances
 * starting together do not race on the catalog. docs/backends/postgres.md shows the same DDL.
 *
 * <ul>
 *   <li>{@code heads(ns, rev, compacted, epoch)}: one row per namespace: the revision of its last
 *       change, the newest revision compaction removed from the log, and the history id.
 *   <li>{@code changes(ns, rev, key, value, content_type)}: the change log; a null value is a
 *       delete.
 *   <li>{@code entries(ns, key, mod_rev)}: each present key's mod revision.
 *   <li>{@code counters}, {@code members}, {@code requests}: cluster counters, membership records
 *       with an expiry, and remembered request ids.
 * </ul>
 *
 * <p>{@code record_change(ns, key, value, type)} assigns the next revision: an upsert of the
 * namespace's {@code heads} row, whose row lock is held to the end of the transaction, so two
 * transactions that change one namespace take their revisions one after the other, in the order
 * they commit. The capture triggers call it, and they are {@code DEFERRABLE INITIALLY DEFERRED}
 * constraint triggers: they run at commit, so the lock is held only while the transaction commits
 * (a writer's pauses never hold it, and no row lock is taken after it: no new deadlock).
 */
final class PostgresSchema {
  /** The channel every capture notifies, with the namespace as payload. */
  static final String CHANNEL = "lockstep";

  private PostgresSchema() {}

  /** The DDL of the shared tables and functions, for schema {@code s} (quoted). */
  static List<String> shared(String s) {
    List<String> ddl = new ArrayList<>();
    ddl.add("CREATE SCHEMA IF NOT EXISTS " + s);
    ddl.add(
        "CREATE TABLE IF NOT EXISTS "
            + s
            + ".heads (ns text PRIMARY KEY, rev bigint NOT NULL DEFAULT 0,"
            + " compacted bigint NOT NULL DEFAULT 0,"
            + " epoch text NOT NULL DEFAULT gen_random_uuid()::text)");
    ddl.add(
        "CREATE TABLE IF NOT EXISTS "
            + s
            + ".changes (ns text NOT NULL, rev bigint NOT NULL, key text NOT NULL, value bytea,"
            + " content_type text, PRIMARY KEY (ns, rev))");
    ddl.add(
        "CREATE TABLE IF NOT EXISTS "
            + s
            + ".entries (ns text NOT NULL, key text NOT NULL, mod_rev bigint NOT NULL,"
            + " PRIMARY KEY (ns, key))");
    ddl.add(
        "CREATE TABLE IF NOT EXISTS "
            + s
            + ".counters (ns text NOT NULL, name text NOT NULL, value bigint NOT NULL,"
            + " PRIMARY KEY (ns, name))");
    ddl.add(
        "CREATE TABLE IF NOT EXISTS "
            + s
            + ".members (ns text NOT NULL, id text NOT NULL, record text NOT NULL,"
            + " expires_at timestamptz NOT NULL, PRIMARY KEY (ns, id))");
    ddl.add(
        "CREATE TABLE IF NOT EXISTS "
            + s
            + ".requests (ns text NOT NULL, digest text NOT NULL, fingerprint text NOT NULL,"
            + " status text NOT NULL, rev bigint NOT NULL DEFAULT 0,"
            + " expires_at timestamptz NOT NULL, PRIMARY KEY (ns, digest))");
    ddl.add(
        "CREATE OR REPLACE FUNCTION "
            + s
            + ".record_change(p_ns text, p_key text, p_value bytea, p_type text)"
            + " RETURNS bigint LANGUAGE plpgsql AS $f$\n"
            + "DECLARE r bigint;\n"
            + "BEGIN\n"
            + "  INSERT INTO "
            + s
            + ".heads AS h (ns, rev) VALUES (p_ns, 1)\n"
            + "    ON CONFLICT (ns) DO UPDATE SET rev = h.rev + 1 RETURNING h.rev INTO r;\n"
            + "  INSERT INTO "
            + s
            + ".changes (ns, rev, key, value, content_type) VALUES (p_ns, r, p_key, p_value,"
            + " p_type);\n"
            + "  IF p_value IS NULL THEN\n"
            + "    DELETE FROM "
            + s
            + ".entries WHERE ns = p_ns AND key = p_key;\n"
            + "  ELSE\n"
            + "    INSERT INTO "
            + s
            + ".entries AS e (ns, key, mod_rev) VALUES (p_ns, p_key, r)\n"
            + "      ON CONFLICT (ns, key) DO UPDATE SET mod_rev = EXCLUDED.mod_rev;\n"
            + "  END IF;\n"
            + "  PERFORM pg_notify('"
            + CHANNEL
            + "', p_ns);\n"
            + "  RETURN r;\n"
            + "END $f$");
    // The key-value table's capture: TG_ARGV[0] is the namespace.
    ddl.add(
        "CREATE OR REPLACE FUNCTION "
            + s
            + ".capture_kv() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
            + "BEGIN\n"
            + "  IF TG_OP = 'DELETE' THEN\n"
            + "    PERFORM "
            + s
            + ".record_change(TG_ARGV[0], OLD.key, NULL, NULL);\n"
            + "  ELSE\n"
            + "    IF TG_OP = 'UPDATE' AND OLD.key <> NEW.key THEN\n"
            + "      PERFORM "
            + s
            + ".record_change(TG_ARGV[0], OLD.key, NULL, NULL);\n"
            + "    END IF;\n"
            + "    PERFORM "
            + s
            + ".record_change(TG_ARGV[0], NEW.key, NEW.value, NEW.content_type);\n"
            + "  END IF;\n"
            + "  RETURN NULL;\n"
            + "END $f$");
    // A mirrored table's capture: TG_ARGV[0] is the namespace, TG_ARGV[1] the primary key column.
    ddl.add(
        "CREATE OR REPLACE FUNCTION "
            + s
            + ".capture_row() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
            + "DECLARE k_old text; k_new text; v json;\n"
            + "BEGIN\n"
            + "  IF TG_OP <> 'INSERT' THEN k_old := row_to_json(OLD) ->> TG_ARGV[1]; END IF;\n"
            + "  IF TG_OP <> 'DELETE' THEN\n"
            + "    v := row_to_json(NEW); k_new := v ->> TG_ARGV[1];\n"
            + "  END IF;\n"
            + "  IF k_old IS NOT NULL AND k_old IS DISTINCT FROM k_new THEN\n"
            + "    PERFORM "
            + s
            + ".record_change(TG_ARGV[0], k_old, NULL, NULL);\n"
            + "  END IF;\n"
            + "  IF k_new IS NOT NULL THEN\n"
            + "    PERFORM "
            + s
            + ".record_change(TG_ARGV[0], k_new, convert_to(v::text, 'UTF8'),"
            + " 'application/json');\n"
            + "  END IF;\n"
            + "  RETURN NULL;\n"
            + "END $f$");
    // TRUNCATE fires no row trigger: a truncated mirror starts a new history (a new epoch, every
    // replica resets from a listing).
    ddl.add(
        "CREATE OR REPLACE FUNCTION "
            + s
            + ".capture_truncate() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
            + "BEGIN\n"
            + "  UPDATE "
            + s
            + ".heads SET rev = rev + 1, compacted = rev + 1, epoch = gen_random_uuid()::text"
            + " WHERE ns = TG_ARGV[0];\n"
            + "  DELETE FROM "
            + s
            + ".entries WHERE ns = TG_ARGV[0];\n"
            + "  DELETE FROM "
            + s
            + ".changes WHERE ns = TG_ARGV[0];\n"
            + "  PERFORM pg_notify('"
            + CHANNEL
            + "', TG_ARGV[0]);\n"
            + "  RETURN NULL;\n"
            + "END $f$");
    return ddl;
  }

  /** Creates everything shared, once per database (idempotent, serialized by an advisory lock). */
  static void createShared(Connection c, String s) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute(
          "SELECT pg_advisory_xact_lock(hashtext('lockstep schema ' || " + literal(s) + "))");
      for (String ddl : shared(s)) {
        st.execute(ddl);
      }
    }
  }

  /**
   * Creates the key-value table {@code s.t} and its capture trigger for namespace {@code ns} when
   * missing.
   */
  static void createKvTable(Connection c, String s, String table, String ns) throws SQLException {
    String t = s + "." + identifier(table);
    try (Statement st = c.createStatement()) {
      st.execute(
          "CREATE TABLE IF NOT EXISTS "
              + t
              + " (key text PRIMARY KEY, value bytea NOT NULL,"
              + " content_type text NOT NULL DEFAULT 'application/octet-stream')");
      if (!hasTrigger(c, t, triggerName(ns))) {
        st.execute(
            "CREATE CONSTRAINT TRIGGER "
                + identifier(triggerName(ns))
                + " AFTER INSERT OR UPDATE OR DELETE ON "
                + t
                + " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "
                + s
                + ".capture_kv("
                + literal(ns)
                + ")");
      }
    }
  }

  /**
   * Installs the capture triggers of a mirrored table for namespace {@code ns} when missing. The
   * table is locked against writes meanwhile, and the rows it holds already get one revision (the
   * namespace's next) whose history is marked compacted, so a replica lists them.
   */
  static void installMirror(Connection c, String s, String table, String pk, String ns)
      throws SQLException {
    String trigger = triggerName(ns);
    if (hasTrigger(c, table, trigger)) {
      return;
    }
    try (Statement st = c.createStatement()) {
      st.execute("LOCK TABLE " + table + " IN SHARE ROW EXCLUSIVE MODE");
      if (hasTrigger(c, table, trigger)) {
        return;
      }
      st.execute(
          "CREATE CONSTRAINT TRIGGER "
              + identifier(trigger)
              + " AFTER INSERT OR UPDATE OR DELETE ON "
              + table
              + " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "
              + s
              + ".capture_row("
              + literal(ns)
              + ", "
              + literal(pk)
              + ")");
      st.execute(
          "CREATE TRIGGER "
              + identifier(trigger + " truncate")
              + " AFTER TRUNCATE ON "
              + table
              + " FOR EACH STATEMENT EXECUTE FUNCTION "
              + s
              + ".capture_truncate("
              + literal(ns)
              + ")");
    }
    long rev;
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO "
                + s
                + ".heads AS h (ns, rev, compacted) VALUES (?, 1, 1) ON CONFLICT (ns) DO UPDATE"
                + " SET rev = h.rev + 1, compacted = h.rev + 1 RETURNING h.rev")) {
      ps.setString(1, ns);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        rev = rs.getLong(1);
      }
    }
    try (PreparedStatement del = c.prepareStatement("DELETE FROM " + s + ".entries WHERE ns = ?");
        PreparedStatement ins =
            c.prepareStatement(
                "INSERT INTO "
                    + s
                    + ".entries (ns, key, mod_rev) SELECT ?, row_to_json(t) ->> "
                    + literal(pk)
                    + ", ? FROM "
                    + table
                    + " t")) {
      del.setString(1, ns);
      del.executeUpdate();
      ins.setString(1, ns);
      ins.setLong(2, rev);
      ins.executeUpdate();
    }
  }

  private static boolean hasTrigger(Connection c, String table, String name) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT 1 FROM pg_trigger WHERE tgrelid = ?::regclass AND tgname = ?")) {
      ps.setString(1, table);
      ps.setString(2, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /**
   * The capture trigger's name for a namespace: {@code lockstep:<ns>}, or {@code lockstep:<hash>}
   * when that is longer than an identifier may be.
   */
  static String triggerName(String ns) {
    String name = "lockstep:" + ns;
    if (name.getBytes(StandardCharsets.UTF_8).length <= PostgresSettings.MAX_IDENTIFIER_BYTES - 9) {
      return name;
    }
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(ns.getBytes(StandardCharsets.UTF_8));
      return "lockstep:" + HexFormat.of().formatHex(d, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A quoted identifier: {@code "na""me"}. */
  static String identifier(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  /** A quoted string literal: {@code 'it''s'} (standard_conforming_strings is on since 9.1). */
  static String literal(String value) {
    return "'" + value.replace("'", "''") + "'";
  }
}
