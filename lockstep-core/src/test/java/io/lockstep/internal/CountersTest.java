package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.BackendUnavailableException;
import io.lockstep.ClusterCounter;
import io.lockstep.CounterOptions;
import io.lockstep.spi.CounterStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CountersTest {
  private final FakeStore store = new FakeStore();
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final Counters counters = new Counters(() -> store, Duration.ofSeconds(5), scheduler);

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  @Test
  void unbatched_eachIncrementIsOneBackendOperation() {
    ClusterCounter c = counters.counter("hits", CounterOptions.UNBATCHED);
    assertThat(c.incrementAndGet(1)).isEqualTo(1);
    assertThat(c.incrementAndGet(5)).isEqualTo(6);
    assertThat(c.get()).isEqualTo(6);
    assertThat(store.increments.get()).isEqualTo(2);
    ClusterCounter other = counters.counter("hits", CounterOptions.UNBATCHED);
    assertThat(other).as("a handle of its own").isNotSameAs(c);
    assertThat(other.incrementAndGet(1)).as("over the same counter").isEqualTo(7);
  }

  @Test
  void perNameState_unbatchedKeepsNone_batchedLeavesOnceIdle_andAHandleCarriesOn()
      throws Exception {
    for (int i = 0; i < 1000; i++) {
      counters.counter("n" + i, CounterOptions.UNBATCHED).get();
    }
    assertThat(counters.sharedCount()).isZero();
    CounterOptions batched = CounterOptions.batched(Duration.ofMillis(5));
    ClusterCounter kept = counters.counter("kept", batched);
    for (int i = 0; i < 200; i++) {
      counters.counter("b" + i, batched).incrementAndGet(1);
    }
    assertThat(kept.incrementAndGet(2)).isEqualTo(2);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (counters.sharedCount() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(counters.sharedCount()).as("idle batching counters are released").isZero();
    // A handle whose counter left the map increments the one now in its place: nothing is lost.
    assertThat(kept.incrementAndGet(3)).isEqualTo(5);
    assertThat(counters.counter("kept", batched).incrementAndGet(1)).isEqualTo(6);
    kept.close();
  }

  @Test
  void batched_concurrentIncrements_exactTotal_uniqueValues_fewerBackendOperations()
      throws Exception {
    ClusterCounter c = counters.counter("hits", CounterOptions.batched(Duration.ofMillis(20)));
    int threads = 32;
    int each = 200;
    List<CompletableFuture<Long>> all = java.util.Collections.synchronizedList(new ArrayList<>());
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread th =
          Thread.ofPlatform()
              .start(
                  () -> {
                    try {
                      go.await();
                    } catch (InterruptedException e) {
                      return;
                    }
                    for (int i = 0; i < each; i++) {
                      all.add(c.incrementAndGetAsync(1));
                    }
                  });
      ts.add(th);
    }
    go.countDown();
    for (Thread th : ts) {
      th.join();
    }
    Set<Long> values = new HashSet<>();
    for (CompletableFuture<Long> f : all) {
      values.add(f.get(10, TimeUnit.SECONDS));
    }
    long total = (long) threads * each;
    assertThat(c.get()).isEqualTo(total);
    assertThat(values).hasSize((int) total);
    assertThat(values).allMatch(v -> v >= 1 && v <= total);
    assertThat(store.increments.get()).isLessThan((int) total);
  }

  @Test
  void batched_valuesAreNumberedInsideTheRangeTheBackendHandedOut() throws Exception {
    store.values.put("n", new AtomicLong(100)); // someone else counted first
    ClusterCounter c = counters.counter("n", CounterOptions.batched(Duration.ofMillis(50)));
    CompletableFuture<Long> a = c.incrementAndGetAsync(2);
    CompletableFuture<Long> b = c.incrementAndGetAsync(3);
    assertThat(a.get(5, TimeUnit.SECONDS)).isEqualTo(102);
    assertThat(b.get(5, TimeUnit.SECONDS)).isEqualTo(105);
    assertThat(store.increments.get()).isEqualTo(1);
  }

  @Test
  void batched_closeFlushesWaitingIncrements() {
    ClusterCounter c = counters.counter("n", CounterOptions.batched(Duration.ofSeconds(60)));
    CompletableFuture<Long> a = c.incrementAndGetAsync(7);
    assertThat(a).isNotDone();
    counters.close();
    assertThat(a.join()).isEqualTo(7);
    assertThat(store.values.get("n").get()).isEqualTo(7);
    assertThat(c.incrementAndGetAsync(1)).isCompletedExceptionally();
  }

  @Test
  void handle_closed_leavesOtherHandlesOfTheSameCounterWorking() {
    CounterOptions batched = CounterOptions.batched(Duration.ofMillis(5));
    ClusterCounter mine = counters.counter("n", batched);
    ClusterCounter theirs = counters.counter("n", batched);
    ClusterCounter unbatched = counters.counter("n", CounterOptions.UNBATCHED);
    assertThat(mine.incrementAndGet(1)).isEqualTo(1);
    mine.close();
    assertThat(mine.incrementAndGetAsync(1)).isCompletedExceptionally();
    assertThat(theirs.incrementAndGet(1)).isEqualTo(2);
    assertThat(counters.counter("n", batched).incrementAndGet(1)).isEqualTo(3);
    unbatched.close();
    assertThat(counters.counter("n", CounterOptions.UNBATCHED).incrementAndGet(1)).isEqualTo(4);
  }

  @Test
  void close_waitsForAFlushAlreadyInFlight() throws Exception {
    CompletableFuture<Long> answer = new CompletableFuture<>();
    CountDownLatch sent = new CountDownLatch(1);
    CounterStore slow =
        new CounterStore() {
          @Override
          public CompletableFuture<Long> incrementAndGet(String name, long delta) {
            sent.countDown();
            return answer;
          }

          @Override
          public CompletableFuture<Long> get(String name) {
            return CompletableFuture.completedFuture(0L);
          }
        };
    Counters c = new Counters(() -> slow, Duration.ofSeconds(5), scheduler);
    ClusterCounter counter = c.counter("n", CounterOptions.batched(Duration.ofMillis(1)));
    CompletableFuture<Long> inc = counter.incrementAndGetAsync(5);
    assertThat(sent.await(2, TimeUnit.SECONDS)).as("the window was sent").isTrue();
    var unused = scheduler.schedule(() -> answer.complete(5L), 300, TimeUnit.MILLISECONDS);
    assertThat(inc).isNotDone(); // its flush is in flight, unanswered
    counter.close();
    assertThat(inc).as("close returned before the flush in flight was answered").isDone();
    assertThat(inc.join()).isEqualTo(5);
  }

  @Test
  void batched_failedFlush_failsEveryIncrementInTheBatch_andCountsNothing() {
    store.available = false;
    ClusterCounter c = counters.counter("n", CounterOptions.batched(Duration.ofMillis(10)));
    CompletableFuture<Long> a = c.incrementAndGetAsync(1);
    CompletableFuture<Long> b = c.incrementAndGetAsync(1);
    assertThatThrownBy(a::join).hasCauseInstanceOf(BackendUnavailableException.class);
    assertThatThrownBy(b::join).hasCauseInstanceOf(BackendUnavailableException.class);
    store.available = true;
    assertThat(c.get()).isEqualTo(0);
  }

  @Test
  void timeout_becomesBackendUnavailable_mayHaveCommitted() {
    Counters slow =
        new Counters(
            () ->
                new CounterStore() {
                  @Override
                  public CompletableFuture<Long> incrementAndGet(String name, long delta) {
                    return new CompletableFuture<>();
                  }

                  @Override
                  public CompletableFuture<Long> get(String name) {
                    return new CompletableFuture<>();
                  }
                },
            Duration.ofMillis(50),
            scheduler);
    assertThatThrownBy(() -> slow.counter("n", CounterOptions.UNBATCHED).incrementAndGet(1))
        .isInstanceOfSatisfying(
            BackendUnavailableException.class, e -> assertThat(e.mayHaveCommitted()).isTrue());
  }

  @Test
  void timeout_storeThatNeverAnswers_hasItsFutureCompleted_soItKnowsTheCallerIsGone() {
    List<CompletableFuture<Long>> sent = java.util.Collections.synchronizedList(new ArrayList<>());
    Counters silent = new Counters(() -> silentStore(sent), Duration.ofMillis(50), scheduler);
    assertThatThrownBy(() -> silent.counter("n", CounterOptions.UNBATCHED).incrementAndGet(1))
        .isInstanceOf(BackendUnavailableException.class);
    assertThat(sent).singleElement().satisfies(f -> assertThat(f).isCompletedExceptionally());
  }

  /**
   * A store that answers by its own deadline, a little after the operation timeout (as a real
   * backend's timer may be a little late): its verdict, "withdrawn, nothing counted", reaches the
   * caller, instead of the engine's own "may have committed".
   */
  @Test
  void timeout_storeAnswersByItsOwnDeadline_itsNothingCountedReachesTheCaller() {
    Duration timeout = Duration.ofMillis(300);
    Counters withdrawing =
        new Counters(
            () ->
                new CounterStore() {
                  @Override
                  public CompletableFuture<Long> incrementAndGet(String name, long delta) {
                    CompletableFuture<Long> f = new CompletableFuture<>();
                    scheduler.schedule(
                        () ->
                            f.completeExceptionally(
                                new BackendUnavailableException(
                                    "withdrawn (test): never sent", null, false)),
                        timeout.toMillis() + 20,
                        TimeUnit.MILLISECONDS);
                    return f;
                  }

                  @Override
                  public CompletableFuture<Long> get(String name) {
                    return CompletableFuture.completedFuture(0L);
                  }
                },
            timeout,
            scheduler);
    for (CounterOptions options :
        List.of(CounterOptions.UNBATCHED, CounterOptions.batched(Duration.ofMillis(5)))) {
      assertThatThrownBy(() -> withdrawing.counter("n", options).incrementAndGet(1))
          .isInstanceOfSatisfying(
              BackendUnavailableException.class,
              e -> {
                assertThat(e.mayHaveCommitted()).isFalse();
                assertThat(e.getMessage()).contains("withdrawn (test)");
              });
    }
  }

  private static CounterStore silentStore(List<CompletableFuture<Long>> sent) {
    return new CounterStore() {
      @Override
      public CompletableFuture<Long> incrementAndGet(String name, long delta) {
        CompletableFuture<Long> f = new CompletableFuture<>();
        sent.add(f);
        return f;
      }

      @Override
      public CompletableFuture<Long> get(String name) {
        return new CompletableFuture<>();
      }
    };
  }

  @Test
  void names_areValidated_andUnsupportedBackendsSaySo() {
    for (String bad : new String[] {"", "a/b", "a b", "x".repeat(129), "é", null}) {
      assertThatThrownBy(() -> counters.counter(bad, CounterOptions.UNBATCHED))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> counters.local(bad)).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(counters.counter("a-b_c.1", CounterOptions.UNBATCHED).name()).isEqualTo("a-b_c.1");
    Counters none =
        new Counters(
            () -> {
              throw new UnsupportedOperationException("no counters");
            },
            Duration.ofSeconds(1),
            scheduler);
    assertThatThrownBy(() -> none.counter("n", CounterOptions.UNBATCHED))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> CounterOptions.batched(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void local_isInMemoryAndPerName() {
    assertThat(counters.local("req").incrementAndGet()).isEqualTo(1);
    assertThat(counters.local("req").incrementAndGet()).isEqualTo(2);
    assertThat(counters.local("other").get()).isZero();
  }

  /** Counters in a map; completes on a pool thread like a real client would. */
  private static final class FakeStore implements CounterStore {
    final Map<String, AtomicLong> values = new ConcurrentHashMap<>();
    final AtomicInteger increments = new AtomicInteger();
    volatile boolean available = true;

    @Override
    public CompletableFuture<Long> incrementAndGet(String name, long delta) {
      if (!available) {
        return CompletableFuture.failedFuture(new BackendUnavailableException("down (test)", null));
      }
      increments.incrementAndGet();
      return CompletableFuture.supplyAsync(
          () -> values.computeIfAbsent(name, k -> new AtomicLong()).addAndGet(delta));
    }

    @Override
    public CompletableFuture<Long> get(String name) {
      if (!available) {
        return CompletableFuture.failedFuture(new BackendUnavailableException("down (test)", null));
      }
      AtomicLong v = values.get(name);
      return CompletableFuture.completedFuture(v == null ? 0 : v.get());
    }
  }
}
