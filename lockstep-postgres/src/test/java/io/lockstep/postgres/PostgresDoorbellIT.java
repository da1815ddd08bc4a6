package io.lockstep.postgres;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.testkit.TestResource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * NOTIFY is only a doorbell: a change whose notification never came is read by the feed's periodic
 * poll, even while other namespaces' doorbells ring all the time.
 */
class PostgresDoorbellIT {
  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  @Test
  void changeWithoutANotification_isReadByThePoll_whileOtherNamespacesRing() throws Exception {
    String quiet = "quiet-" + UUID.randomUUID().toString().substring(0, 8);
    String busy = "busy-" + UUID.randomUUID().toString().substring(0, 8);
    String params = "?poll_interval=500ms";
    // The engine's own progress requests (which also make the feed read) are pushed out of the
    // way, so only the poll can find the change.
    try (Lockstep follower =
            Lockstep.builder()
                .backend(pg.get().backendUri() + params)
                .keyPrefix(quiet)
                .progressInterval(Duration.ofMinutes(10))
                .build();
        Lockstep noisy =
            Lockstep.builder().backend(pg.get().backendUri() + params).keyPrefix(busy).build()) {
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> follower.map().replica().isReady() && noisy.map().replica().isReady());
      AtomicBoolean ringing = new AtomicBoolean(true);
      CompletableFuture<Void> bells =
          CompletableFuture.runAsync(
              () -> {
                int i = 0;
                while (ringing.get()) {
                  noisy.map().put("k", ("v" + i++).getBytes(UTF_8), "text/plain");
                }
              });
      try {
        long rev = writeSilently(quiet, "silent", "no doorbell");
        long t0 = System.nanoTime();
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> follower.map().replica().appliedRevision() >= rev);
        System.out.printf(
            "%s: a change without a notification applied after %d ms (poll_interval 500ms)%n",
            getClass().getSimpleName(), (System.nanoTime() - t0) / 1_000_000);
        assertThat(follower.map().get("silent").valueAsString()).isEqualTo("no doorbell");
      } finally {
        ringing.set(false);
        bells.get(30, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Records a change as the trigger would, but with triggers off for the session and no NOTIFY: a
   * doorbell that was lost.
   */
  private static long writeSilently(String ns, String key, String value) throws Exception {
    try (Connection c = pg.get().connect()) {
      c.setAutoCommit(false);
      try (Statement st = c.createStatement()) {
        st.execute("SET LOCAL session_replication_role = replica");
      }
      long rev;
      try (PreparedStatement ps =
          c.prepareStatement(
              "UPDATE lockstep.heads SET rev = rev + 1 WHERE ns = ? RETURNING rev")) {
        ps.setString(1, ns);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          rev = rs.getLong(1);
        }
      }
      try (PreparedStatement kv =
              c.prepareStatement(
                  "INSERT INTO lockstep."
                      + PostgresSchema.identifier(ns)
                      + " (key, value, content_type) VALUES (?, ?, 'text/plain')");
          PreparedStatement log =
              c.prepareStatement("INSERT INTO lockstep.changes VALUES (?, ?, ?, ?, 'text/plain')");
          PreparedStatement entry =
              c.prepareStatement("INSERT INTO lockstep.entries VALUES (?, ?, ?)")) {
        kv.setString(1, key);
        kv.setBytes(2, value.getBytes(UTF_8));
        kv.executeUpdate();
        log.setString(1, ns);
        log.setLong(2, rev);
        log.setString(3, key);
        log.setBytes(4, value.getBytes(UTF_8));
        log.executeUpdate();
        entry.setString(1, ns);
        entry.setString(2, key);
        entry.setLong(3, rev);
        entry.executeUpdate();
      }
      c.commit();
      return rev;
    }
  }
}
