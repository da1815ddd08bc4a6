package io.lockstep.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.Snapshot;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A listing reports each batch of 1,000 rows as a page, and stops once the engine gave up. */
class PostgresListingIT {
  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  private static final class Pages implements ListingProgress {
    final List<Integer> pages = new CopyOnWriteArrayList<>();
    final int cancelAfter;

    Pages(int cancelAfter) {
      this.cancelAfter = cancelAfter;
    }

    @Override
    public void page(int entries) {
      pages.add(entries);
    }

    @Override
    public boolean isCancelled() {
      return pages.size() >= cancelAfter;
    }
  }

  @Test
  void listing_reportsABatchPerPage_andACancelledOneStops() throws Exception {
    String prefix = "list-" + UUID.randomUUID().toString().substring(0, 8);
    try (PostgresBackend b =
        PostgresBackend.create(
            BackendUri.parse(pg.get().backendUri()),
            new BackendContext(prefix, "lister", Duration.ofSeconds(5)))) {
      b.put("first", new byte[] {1}, "application/octet-stream", -1).get(5, TimeUnit.SECONDS);
      pg.get()
          .sql(
              "INSERT INTO lockstep."
                  + PostgresSchema.identifier(prefix)
                  + " SELECT 'k' || g, '\\x00'::bytea, 'application/octet-stream'"
                  + " FROM generate_series(1, 2499) g");
      Pages all = new Pages(Integer.MAX_VALUE);
      Snapshot s = b.snapshot(all).get(30, TimeUnit.SECONDS);
      assertThat(s.entries()).hasSize(2500);
      assertThat(s.revision()).isEqualTo(2500);
      assertThat(all.pages).containsExactly(1000, 1000, 500);

      Pages cancelled = new Pages(1);
      assertThatThrownBy(() -> b.snapshot(cancelled).get(30, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasMessageContaining("cancelled after 1000 entries");
      assertThat(cancelled.pages).containsExactly(1000);
    }
  }
}
