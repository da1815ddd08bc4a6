package io.lockstep.testkit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.ClusterCounter;
import io.lockstep.CounterOptions;
import io.lockstep.IncrementResult;
import io.lockstep.InvalidKeyException;
import io.lockstep.Lockstep;
import io.lockstep.RequestIdReusedException;
import io.lockstep.Versioned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every backend's cluster counters must show, written once; each backend runs it by
 * subclassing. Every test runs in a namespace of its own (a random key prefix); nodes are closed
 * after each test. Durability across a server restart depends on how each harness restarts its
 * servers and is tested in each backend's own suite.
 */
public abstract class ClusterCounterContract extends NamespacedSuite {
  protected ClusterCounterContract() {
    super("counters");
  }

  /** A started node on {@code keyPrefix}, with a backend connection of its own. */
  protected abstract Lockstep newNode(String keyPrefix);

  /**
   * Increments per thread in the 64-thread test (a backend whose increments contend may lower it).
   */
  protected int incrementsPerThread() {
    return 40;
  }

  private Lockstep node() {
    return closeAfterTest(newNode(prefix));
  }

  @Test
  void counter_neverIncremented_readsZero_andDeltasMayBeNegative() {
    ClusterCounter c = node().counter("fresh");
    assertThat(c.get()).isZero();
    assertThat(c.incrementAndGet(5)).isEqualTo(5);
    assertThat(c.incrementAndGet(-7)).isEqualTo(-2);
    assertThat(c.incrementAndGet(0)).isEqualTo(-2);
    assertThat(c.get()).isEqualTo(-2);
  }

  @Test
  void counter_64ThreadsOnTwoNodes_exactTotal_everyValueUnique() throws Exception {
    Lockstep a = node();
    Lockstep b = node();
    int threads = 64;
    int each = incrementsPerThread();
    Set<Long> seen = ConcurrentHashMap.newKeySet();
    List<Long> duplicates = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch go = new CountDownLatch(1);
    List<CompletableFuture<Void>> done = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      ClusterCounter c = (t % 2 == 0 ? a : b).counter("hits");
      done.add(
          CompletableFuture.runAsync(
              () -> {
                try {
                  go.await();
                } catch (InterruptedException e) {
                  throw new IllegalStateException(e);
                }
                for (int i = 0; i < each; i++) {
                  long v = c.incrementAndGet(1);
                  if (!seen.add(v)) {
                    duplicates.add(v);
                  }
                }
              },
              command -> Thread.ofPlatform().start(command)));
    }
    long started = System.nanoTime();
    go.countDown();
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new))
        .get(patience().toMillis() * 4, TimeUnit.MILLISECONDS);
    long millis = (System.nanoTime() - started) / 1_000_000;
    long total = (long) threads * each;
    System.out.printf(
        "%s: %d increments from %d threads in %d ms (%.0f/s)%n",
        getClass().getSimpleName(), total, threads, millis, total * 1000.0 / Math.max(1, millis));
    assertThat(duplicates).isEmpty();
    assertThat(seen).hasSize((int) total);
    assertThat(Collections.min(seen)).isEqualTo(1);
    assertThat(Collections.max(seen)).isEqualTo(total);
    assertThat(a.counter("hits").get()).isEqualTo(total);
    assertThat(b.counter("hits").get()).isEqualTo(total);
  }

  @Test
  void counter_batched_exactTotalAcrossNodes_fewerRoundTrips() throws Exception {
    Lockstep a = node();
    Lockstep b = node();
    ClusterCounter ca = a.counter("batched", CounterOptions.batched(Duration.ofMillis(20)));
    ClusterCounter cb = b.counter("batched", CounterOptions.batched(Duration.ofMillis(20)));
    List<CompletableFuture<Long>> all = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      all.add((i % 2 == 0 ? ca : cb).incrementAndGetAsync(1));
    }
    Set<Long> values = ConcurrentHashMap.newKeySet();
    for (CompletableFuture<Long> f : all) {
      values.add(f.get(patience().toMillis(), TimeUnit.MILLISECONDS));
    }
    assertThat(values).hasSize(500);
    assertThat(a.counter("batched").get()).isEqualTo(500);
  }

  @Test
  void counters_stayOutOfTheMap_andTheMapKeepsReplicating() {
    Lockstep a = node();
    Lockstep b = node();
    await()
        .atMost(patience())
        .until(() -> a.map().replica().isReady() && b.map().replica().isReady());
    a.map().put("before", "1".getBytes(UTF_8), "text/plain");
    for (int i = 0; i < 20; i++) {
      a.counter("c").incrementAndGet(1);
    }
    long after = a.map().put("after", "2".getBytes(UTF_8), "text/plain").revision();
    // The map's feed is not disturbed by counter changes: the other node applies the later write.
    assertThat(
            b.map()
                .replica()
                .awaitRevisionAsync(after)
                .orTimeout(patience().toMillis(), TimeUnit.MILLISECONDS)
                .join())
        .isGreaterThanOrEqualTo(after);
    assertThat(keys(b)).containsExactly("after", "before");
    // A fresh listing of the source holds no counter either.
    assertThat(
            a.map()
                .replica()
                .refresh()
                .orTimeout(patience().toMillis(), TimeUnit.MILLISECONDS)
                .join())
        .isGreaterThanOrEqualTo(after);
    assertThat(keys(a)).containsExactly("after", "before");
    assertThatThrownBy(() -> a.map().put("_counters/c", new byte[] {1}, null))
        .isInstanceOf(InvalidKeyException.class);
    Versioned v = b.map().get("after");
    assertThat(v).isNotNull();
    assertThat(b.counter("c").get()).isEqualTo(20);
  }

  private static List<String> keys(Lockstep node) {
    return node.map().list("", 0).stream().map(Versioned::key).toList();
  }

  @Test
  void localCounter_isPerInstance() {
    Lockstep a = node();
    Lockstep b = node();
    a.localCounter("requests").incrementAndGet();
    a.localCounter("requests").incrementAndGet();
    assertThat(a.localCounter("requests").get()).isEqualTo(2);
    assertThat(b.localCounter("requests").get()).isZero();
  }

  @Test
  void counter_sameRequestIdTwice_countsOnce_answersTheFirstValue_onAnyNode() {
    Lockstep a = node();
    Lockstep b = node();
    String id = prefix + "/inc";
    IncrementResult first = a.counter("idem").incrementAsync(5, id).join();
    assertThat(first).isEqualTo(new IncrementResult(5, false));
    assertThat(a.counter("idem").incrementAndGet(2)).isEqualTo(7);
    assertThat(b.counter("idem").incrementAsync(5, id).join())
        .isEqualTo(new IncrementResult(5, true));
    assertThat(
            b.counter("idem", CounterOptions.batched(Duration.ofMillis(20)))
                .incrementAsync(5, id)
                .join())
        .isEqualTo(new IncrementResult(5, true));
    assertThatThrownBy(() -> b.counter("idem").incrementAsync(6, id).join())
        .hasRootCauseInstanceOf(RequestIdReusedException.class);
    assertThatThrownBy(() -> b.counter("other").incrementAsync(5, id).join())
        .hasRootCauseInstanceOf(RequestIdReusedException.class);
    assertThat(b.counter("idem").get()).isEqualTo(7);
    assertThat(b.counter("other").get()).isZero();
    assertThat(a.map().size()).isZero();
  }
}
