package io.lockstep.postgres;

import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.Versioned;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;

/**
 * The mirrored tables the contract suites run on: one per namespace, {@code public."m_<prefix>"
 * (key text PRIMARY KEY, value text NOT NULL, content_type text NOT NULL)}, written and listed by
 * the mirror backend behind a {@link JsonEnvelopeBackend}, and by plain SQL as another program.
 */
final class MirrorTables {
  private MirrorTables() {}

  static String table(String prefix) {
    return "m_" + prefix.replace('-', '_');
  }

  /** A builder on a mirror of the namespace's table (created when missing). */
  static LockstepBuilder builder(PostgresSource pg, String uri, String prefix, String instanceId) {
    String table = table(prefix);
    pg.sql(
        "CREATE TABLE IF NOT EXISTS "
            + table
            + " (key text PRIMARY KEY, value text NOT NULL, content_type text NOT NULL)");
    PostgresBackend mirror =
        PostgresBackend.create(
            BackendUri.parse(uri + (uri.contains("?") ? "&" : "?") + "mirror=" + table),
            new BackendContext(prefix, instanceId, Duration.ofSeconds(5)));
    return Lockstep.builder()
        .backend(new JsonEnvelopeBackend(mirror))
        .keyPrefix(prefix)
        .instanceId(instanceId);
  }

  static Lockstep node(PostgresSource pg, String prefix) {
    return builder(pg, pg.backendUri(), prefix, "n-" + UUID.randomUUID().toString().substring(0, 8))
        .build();
  }

  /** An upsert of the row in plain SQL, as another program would write it. */
  static void writeExternally(PostgresSource pg, String prefix, String key, byte[] value) {
    try (Connection c = pg.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO "
                    + table(prefix)
                    + " VALUES (?, ?, 'application/json') ON CONFLICT (key) DO UPDATE"
                    + " SET value = EXCLUDED.value, content_type = EXCLUDED.content_type")) {
      ps.setString(1, key);
      ps.setString(2, Base64.getEncoder().encodeToString(value));
      ps.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The digest of the table as it is now, values decoded, with the trigger's mod revisions. */
  static long digest(PostgresSource pg, String prefix) {
    long d = 0;
    try (Connection c = pg.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT t.key, e.mod_rev, convert_to(row_to_json(t)::text, 'UTF8') FROM "
                    + table(prefix)
                    + " t JOIN lockstep.entries e ON e.ns = ? AND e.key = t.key")) {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      ps.setString(1, prefix);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          Versioned row =
              new Versioned(rs.getString(1), rs.getBytes(3), "application/json", rs.getLong(2));
          d += Digests.entry(JsonEnvelopeBackend.unwrap(row));
        }
      }
      c.commit();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return d;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
