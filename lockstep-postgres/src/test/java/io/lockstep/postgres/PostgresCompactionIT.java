package io.lockstep.postgres;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.ReplicatedMap;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.testkit.TcpProxy;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Compaction of the change log: a feed that needs a removed revision reports {@code onCompacted},
 * and a replica that fell behind the retention relists and converges.
 */
class PostgresCompactionIT {
  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  private static PostgresBackend backend(String prefix, String params) {
    return PostgresBackend.create(
        BackendUri.parse(pg.get().backendUri() + params),
        new BackendContext(prefix, "test-" + prefix, Duration.ofSeconds(5)));
  }

  @Test
  void watchFromACompactedRevision_reportsOnCompacted_andFromTheRetainedOnes_delivers()
      throws Exception {
    String prefix = "compact-" + UUID.randomUUID().toString().substring(0, 8);
    try (PostgresBackend b = backend(prefix, "?log_retention=5")) {
      for (int i = 0; i < 20; i++) {
        b.put("k" + (i % 3), ("v" + i).getBytes(UTF_8), "text/plain", -1).get(5, TimeUnit.SECONDS);
      }
      assertThat(b.compact().get(5, TimeUnit.SECONDS)).isEqualTo(15);
      CompletableFuture<Long> compacted = new CompletableFuture<>();
      List<Long> delivered = new CopyOnWriteArrayList<>();
      FeedListener listener =
          new FeedListener() {
            @Override
            public void onChanges(long revision, List<Change> changes, long headRevision) {
              delivered.add(revision);
            }

            @Override
            public void onProgress(long revision) {}

            @Override
            public void onCompacted(long compactRevision) {
              compacted.complete(compactRevision);
            }

            @Override
            public void onError(Throwable error) {
              compacted.completeExceptionally(error);
            }
          };
      try (Feed f = b.watch(3, listener)) {
        assertThat(compacted.get(10, TimeUnit.SECONDS)).isEqualTo(15);
      }
      assertThat(delivered).isEmpty();
      try (Feed f = b.watch(16, listener)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> delivered.size() == 5);
      }
      assertThat(delivered).containsExactly(16L, 17L, 18L, 19L, 20L);
    }
  }

  @Test
  void replicaBehindTheRetention_relists_andConverges() {
    String prefix = "compact-" + UUID.randomUUID().toString().substring(0, 8);
    String params = "?log_retention=10&compact_interval=200ms&timeout=1s";
    try (TcpProxy proxy = new TcpProxy("127.0.0.1", pg.get().server().port());
        Lockstep writer =
            Lockstep.builder().backend(pg.get().backendUri() + params).keyPrefix(prefix).build();
        Lockstep follower =
            Lockstep.builder()
                .backend(pg.get().server().backendUri(proxy.endpoint()) + params)
                .keyPrefix(prefix)
                .operationTimeout(Duration.ofSeconds(1))
                .build()) {
      ReplicatedMap w = writer.map();
      ReplicatedMap f = follower.map();
      await().atMost(Duration.ofSeconds(30)).until(() -> f.replica().isReady());
      w.put("first", "1".getBytes(UTF_8), "text/plain");
      await().atMost(Duration.ofSeconds(30)).until(() -> f.get("first") != null);
      long relistsBefore = f.replica().stats().relists();
      proxy.cut(); // the follower hears nothing while the writer outruns the retention
      proxy.pause();
      long last = 0;
      for (int i = 0; i < 200; i++) {
        last = w.put("k" + (i % 7), ("v" + i).getBytes(UTF_8), "text/plain").revision();
      }
      long target = last - 10;
      await().atMost(Duration.ofSeconds(30)).until(() -> compactedUpTo(prefix) >= target);
      proxy.resume();
      assertThat(f.replica().awaitRevision(last, Duration.ofSeconds(30))).isTrue();
      assertThat(f.replica().digest()).isEqualTo(pg.get().kvDigest(prefix));
      assertThat(f.replica().stats().relists()).isGreaterThan(relistsBefore);
    }
  }

  private static long compactedUpTo(String prefix) {
    try (var c = pg.get().connect();
        var ps = c.prepareStatement("SELECT compacted FROM lockstep.heads WHERE ns = ?")) {
      ps.setString(1, prefix);
      try (var rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
