package io.lockstep.redis;

import static io.lockstep.redis.RedisSource.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.BackendUnavailableException;
import io.lockstep.Lockstep;
import io.lockstep.Versioned;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.Snapshot;
import io.lockstep.testkit.NamespacedSuite;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The paged listing ({@link RedisListing}) against a real Redis: exact at its revision while
 * writers put, delete and re-create keys between its pages; failing, never answering a wrong map,
 * when the stream, the epoch or the server changed under it; stopping once cancelled; and, through
 * the engine, finishing a listing much longer than the operation timeout whose every page is short.
 */
class RedisListingIT extends NamespacedSuite {
  // Redis keeps a hash of up to 512 short fields (hash-max-listpack-entries) as one list that
  // HSCAN returns whole, whatever its COUNT: the tests list more keys than that, to have pages.
  @RegisterExtension
  static final TestResource<RedisSource> redis = TestResource.of(RedisSource::onNewServerWithAof);

  private final ExecutorService sideline = Executors.newCachedThreadPool();

  RedisListingIT() {
    super("listing");
  }

  @AfterEach
  void stopSideline() {
    sideline.shutdownNow();
  }

  // ---------------------------------------------------------------------------------------------
  // Exact under concurrent writes
  // ---------------------------------------------------------------------------------------------

  /**
   * 4,000 keys listed 7 at a time, a millisecond between pages, while three writers put, delete and
   * re-create keys of a 6,000-key space (the hash grows past 4,096 fields, so Redis rehashes under
   * the scan). Every write's revision comes back from the script, so the map at any revision is
   * known exactly from the writers' own record, independent of the listing's code: the listing must
   * equal it at its revision, key, value, content type and mod revision.
   */
  @Test
  void pagedListing_underConcurrentPutsDeletesAndRecreates_isTheMapAtItsRevisionExactly()
      throws Exception {
    ConcurrentLinkedQueue<Write> writes = new ConcurrentLinkedQueue<>();
    try (RedisSource writer = new RedisSource(redis.get().server(), 1_000_000)) {
      for (int i = 0; i < 4000; i++) {
        writes.add(put(writer, "k" + i, "initial-" + i));
      }
      long loaded = redis.get().revision(prefix);
      RedisBackend backend = backend("page_size=7", Duration.ofSeconds(5));
      AtomicLong revisionAtFirstPage = new AtomicLong(-1);
      backend.beforeListingPage =
          page -> {
            if (page == 0) {
              revisionAtFirstPage.set(redis.get().revision(prefix));
            }
            return delay(1);
          };
      AtomicBoolean stop = new AtomicBoolean();
      List<CompletableFuture<Void>> writers = new ArrayList<>();
      for (int w = 0; w < 3; w++) {
        long seed = 31L * w + 7;
        writers.add(
            CompletableFuture.runAsync(
                () -> {
                  SplittableRandom rnd = new SplittableRandom(seed);
                  int n = 0;
                  while (!stop.get()) {
                    String key = "k" + rnd.nextInt(6000);
                    int op = rnd.nextInt(10);
                    Write done =
                        op < 4
                            ? delete(writer, key)
                            : put(writer, key, "w" + seed + "-" + n++ + "-" + op);
                    if (done != null) {
                      writes.add(done);
                    }
                  }
                },
                sideline));
      }
      // Writers run before, during and after the listing.
      await().atMost(Duration.ofSeconds(10)).until(() -> writes.size() > 4200);
      Snapshot listing = backend.snapshot(ListingProgress.NONE).get(60, TimeUnit.SECONDS);
      Thread.sleep(50);
      stop.set(true);
      CompletableFuture.allOf(writers.toArray(new CompletableFuture<?>[0]))
          .get(30, TimeUnit.SECONDS);

      List<Write> all = new ArrayList<>(writes);
      all.sort((a, c) -> Long.compare(a.revision, c.revision));
      for (int i = 0; i < all.size(); i++) {
        assertThat(all.get(i).revision).as("every change is the writers'").isEqualTo(i + 1);
      }
      assertThat(listing.revision())
          .as("writes landed between the listing's first page and its end")
          .isGreaterThan(revisionAtFirstPage.get() + 200)
          .isGreaterThan(loaded);
      assertThat(all.get(all.size() - 1).revision)
          .as("and after it")
          .isGreaterThan(listing.revision());
      assertThat(rendered(listing.entries()))
          .as("the listing is the map at its revision " + listing.revision())
          .isEqualTo(expectedAt(all, listing.revision()));
      assertThat(listing.epoch()).isEqualTo(redis.get().raw(prefix, "epoch"));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Failing rather than answering a wrong map
  // ---------------------------------------------------------------------------------------------

  @Test
  void listing_whoseStreamWasTrimmedWhileItRan_failsClearly_andTheNextOneIsExact()
      throws Exception {
    RedisSource source = redis.get();
    for (int i = 0; i < 1000; i++) {
      source.put(prefix, "k" + i, b("v" + i), "text/plain");
    }
    RedisBackend backend = backend("page_size=7", Duration.ofSeconds(5));
    backend.beforeListingPage =
        sidelineAt(
            3,
            () -> {
              for (int i = 0; i < 50; i++) {
                source.delete(prefix, "k" + i);
                source.put(prefix, "new" + i, b("n" + i), "text/plain");
              }
              source.trim(prefix, 10); // the listing needs the 100 changes after its start
            });

    assertThatThrownBy(() -> awaitListing(backend))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining(prefix + ":log no longer holds revision 1001")
        .hasMessageContaining("stream_max_len");

    backend.beforeListingPage = null;
    Snapshot again = awaitListing(backend);
    assertThat(again.revision()).isEqualTo(1100);
    assertThat(revisions(again)).isEqualTo(source.revisions(prefix));
  }

  @Test
  void listing_whoseEpochWasLostWhileItRan_fails() {
    RedisSource source = redis.get();
    for (int i = 0; i < 1000; i++) {
      source.put(prefix, "k" + i, b("v" + i), "text/plain");
    }
    RedisBackend backend = backend("page_size=7", Duration.ofSeconds(5));
    backend.beforeListingPage =
        sidelineAt(2, () -> source.redis().del(b(prefix + ":epoch"))); // as Redis losing its data

    assertThatThrownBy(() -> awaitListing(backend))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining(prefix + ":epoch changed");
  }

  /**
   * A restart between pages (the data kept, in the append-only file): the next page's cursor means
   * nothing to the new process, whose hash table is laid out anew. The listing fails (the
   * connection lost, or the server's run_id changed), it never answers.
   */
  @Test
  void listing_whoseServerRestartedWhileItRan_fails() {
    RedisSource source = redis.get();
    for (int i = 0; i < 1000; i++) {
      source.put(prefix, "k" + i, b("v" + i), "text/plain");
    }
    RedisBackend backend = backend("page_size=7", Duration.ofSeconds(5));
    AtomicInteger firstPages = new AtomicInteger();
    backend.beforeListingPage =
        sidelineAt(
            3,
            () -> {
              source.server().restart();
              // Once the backend has reconnected, the next page reaches the new process.
              await()
                  .atMost(Duration.ofSeconds(10))
                  .ignoreExceptions()
                  .until(
                      () -> {
                        backend.get("probe").get(1, TimeUnit.SECONDS);
                        return true;
                      });
              firstPages.incrementAndGet();
            });

    assertThatThrownBy(() -> awaitListing(backend))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining("run_id");
    assertThat(firstPages).hasValue(1);
  }

  @Test
  void cancelledListing_readsNoFurtherPage() {
    RedisSource source = redis.get();
    for (int i = 0; i < 1000; i++) {
      source.put(prefix, "k" + i, b("v" + i), "text/plain");
    }
    RedisBackend backend = backend("page_size=7", Duration.ofSeconds(5));
    AtomicInteger asked = new AtomicInteger();
    backend.beforeListingPage =
        page -> {
          asked.incrementAndGet();
          return CompletableFuture.completedFuture(null);
        };
    AtomicInteger pages = new AtomicInteger();
    ListingProgress cancelAfterThree =
        new ListingProgress() {
          @Override
          public void page(int entries) {
            pages.incrementAndGet();
          }

          @Override
          public boolean isCancelled() {
            return pages.get() >= 3;
          }
        };

    CompletableFuture<Snapshot> listing = backend.snapshot(cancelAfterThree);

    assertThatThrownBy(() -> listing.get(10, TimeUnit.SECONDS))
        .isInstanceOf(CancellationException.class);
    assertThat(asked).as("pages asked for").hasValue(3);
    assertThat(pages).hasValue(3);
  }

  // ---------------------------------------------------------------------------------------------
  // Through the engine: each page within the operation timeout, the whole listing far beyond it
  // ---------------------------------------------------------------------------------------------

  @Test
  void replica_listingManyPagesLongerThanTheOperationTimeout_becomesReadyOnTheFirstListing() {
    RedisSource source = redis.get();
    for (int i = 0; i < 1500; i++) {
      source.put(prefix, "k" + i, b("v" + i), "text/plain");
    }
    Duration timeout = Duration.ofMillis(300);
    RedisBackend backend = backend("page_size=10", timeout);
    AtomicLong listingStart = new AtomicLong();
    backend.beforeListingPage =
        page -> {
          if (page == 0) {
            listingStart.set(System.nanoTime()); // the last listing started: the one that ends
          }
          return delay(25); // about 150 pages: 3.75 s or more, each page well within 300 ms
        };
    Lockstep node =
        closeAfterTest(
            Lockstep.builder()
                .backend(backend)
                .keyPrefix(prefix)
                .operationTimeout(timeout)
                .build());

    await().atMost(patience().plusSeconds(30)).until(() -> node.map().replica().isReady());

    Duration took = Duration.ofNanos(System.nanoTime() - listingStart.get());
    assertThat(took)
        .as("the listing that made it ready took")
        .isGreaterThan(timeout.multipliedBy(10));
    assertThat(node.map().replica().digest()).isEqualTo(source.digest(prefix));
    assertThat(node.map().replica().appliedRevision()).isEqualTo(1500);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------------

  /** A change the writers made, with the revision the script answered. */
  private record Write(long revision, String key, String rendered) {}

  private Write put(RedisSource writer, String key, String value) {
    List<Object> reply = writer.put(prefix, key, b(value), "text/plain");
    long rev = (Long) reply.get(1);
    return new Write(rev, key, rev + "|text/plain|" + value);
  }

  /** The delete's change, or null when the key was absent (no change, no revision). */
  private Write delete(RedisSource writer, String key) {
    List<Object> reply = writer.delete(prefix, key);
    return (Long) reply.get(0) == 1L ? new Write((Long) reply.get(1), key, null) : null;
  }

  /** The map at {@code revision}: the writers' changes up to it, in order. */
  private static Map<String, String> expectedAt(List<Write> inOrder, long revision) {
    Map<String, String> map = new TreeMap<>();
    for (Write w : inOrder) {
      if (w.revision > revision) {
        break;
      }
      if (w.rendered == null) {
        map.remove(w.key);
      } else {
        map.put(w.key, w.rendered);
      }
    }
    return map;
  }

  private static Map<String, String> rendered(List<Versioned> entries) {
    Map<String, String> map = new TreeMap<>();
    for (Versioned v : entries) {
      String was =
          map.put(v.key(), v.modRevision() + "|" + v.contentType() + "|" + v.valueAsString());
      assertThat(was).as("listed twice: " + v.key()).isNull();
    }
    return map;
  }

  private static Map<String, Long> revisions(Snapshot s) {
    Map<String, Long> map = new TreeMap<>();
    for (Versioned v : s.entries()) {
      map.put(v.key(), v.modRevision());
    }
    return map;
  }

  /** A hook that runs {@code action} on another thread before page {@code at}, then goes on. */
  private IntFunction<CompletionStage<?>> sidelineAt(int at, Runnable action) {
    return page -> page == at ? CompletableFuture.runAsync(action, sideline) : delay(0);
  }

  private static CompletableFuture<Void> delay(long millis) {
    return millis <= 0
        ? CompletableFuture.completedFuture(null)
        : CompletableFuture.runAsync(
            () -> {}, CompletableFuture.delayedExecutor(millis, TimeUnit.MILLISECONDS));
  }

  private Snapshot awaitListing(RedisBackend backend) {
    try {
      return backend.snapshot(ListingProgress.NONE).get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("no listing within 30 s", e);
    }
  }

  /** A backend on this test's namespace with the URI's {@code query}; closed after the test. */
  private RedisBackend backend(String query, Duration timeout) {
    return closeAfterTest(
        RedisBackend.create(
            BackendUri.parse(
                "redis://127.0.0.1:"
                    + redis.get().server().port()
                    + "?timeout="
                    + timeout.toMillis()
                    + "ms&"
                    + query),
            new BackendContext(prefix, "listing-test", timeout)));
  }
}
