package io.lockstep.postgres;

import io.lockstep.spi.Backoff;
import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * The doorbell of a backend's feeds: one connection of its own (not pooled) that {@code LISTEN}s on
 * {@link PostgresSchema#CHANNEL}, on one daemon thread. It wakes every feed when a notification
 * names this namespace, every {@code poll_interval} whatever came (a doorbell may be missed: a
 * notification sent while this connection was down is never delivered), and each time it has
 * connected again (anything may have been missed). A lost connection is retried with a capped
 * backoff. Started with the first feed; stopped by {@link #close()}.
 */
final class PostgresDoorbell implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(PostgresDoorbell.class.getName());

  private final PostgresBackend backend;
  private final PostgresSettings settings;
  private final String name;
  private volatile boolean closed;
  private Thread thread; // guarded by this
  private volatile Connection connection;

  PostgresDoorbell(PostgresBackend backend, PostgresSettings settings, String instanceId) {
    this.backend = backend;
    this.settings = settings;
    this.name = "lockstep-postgres-" + instanceId + "-listen";
  }

  synchronized void start() {
    if (thread != null || closed) {
      return;
    }
    thread = new Thread(this::loop, name);
    thread.setDaemon(true);
    thread.start();
  }

  private void loop() {
    Backoff.Attempts retry =
        Backoff.of(Duration.ofMillis(100), Duration.ofSeconds(2))
            .attempts(ThreadLocalRandom.current());
    int pollMillis = (int) Math.max(10, settings.pollInterval().toMillis());
    while (!closed) {
      try (Connection c = connect()) {
        connection = c;
        try (Statement st = c.createStatement()) {
          st.execute("LISTEN " + PostgresSchema.CHANNEL);
        }
        retry.reset();
        backend.wakeFeeds(); // whatever rang while this connection was down
        PGConnection pg = c.unwrap(PGConnection.class);
        long lastWake = System.nanoTime();
        long pollNanos = TimeUnit.MILLISECONDS.toNanos(pollMillis);
        while (!closed) {
          long left = pollNanos - (System.nanoTime() - lastWake);
          PGNotification[] got =
              pg.getNotifications((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
          // A doorbell for this namespace, or the poll timer (which other namespaces' doorbells
          // must not keep postponing): either way, read.
          if (rangForUs(got) || System.nanoTime() - lastWake >= pollNanos) {
            backend.wakeFeeds();
            lastWake = System.nanoTime();
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (closed) {
          return;
        }
        LOG.log(
            Level.DEBUG, "LISTEN connection to {0} lost: {1}", settings.address(), e.getMessage());
        backend.wakeFeeds(); // the feeds' reads fail too, and report it to the engine
        try {
          TimeUnit.NANOSECONDS.sleep(retry.nextNanos());
        } catch (InterruptedException ie) {
          return;
        }
      } finally {
        connection = null;
      }
    }
  }

  private boolean rangForUs(PGNotification[] got) {
    if (got == null) {
      return false;
    }
    for (PGNotification n : got) {
      if (backend.namespace().equals(n.getParameter())) {
        return true;
      }
    }
    return false;
  }

  private Connection connect() throws SQLException {
    Properties p = PostgresBackend.connectionProperties(settings, name);
    p.remove("socketTimeout"); // getNotifications(timeout) bounds each wait itself
    p.setProperty("user", settings.user());
    if (settings.password() != null) {
      p.setProperty("password", settings.password());
    }
    return DriverManager.getConnection(settings.jdbcUrl(), p);
  }

  @Override
  public void close() {
    closed = true;
    Thread t;
    synchronized (this) {
      t = thread;
    }
    Connection c = connection;
    if (c != null) {
      try {
        c.close();
      } catch (SQLException e) {
        LOG.log(Level.DEBUG, "closing the LISTEN connection failed: {0}", e.getMessage());
      }
    }
    if (t != null) {
      t.interrupt();
    }
  }
}
