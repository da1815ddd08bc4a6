package io.lockstep.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.BackendUnavailableException;
import io.lockstep.ClusterCounter;
import io.lockstep.Lockstep;
import io.lockstep.testkit.ClusterCounterContract;
import io.lockstep.testkit.TcpProxy;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The cluster-counter contract on a real etcd, plus what only etcd shows: the key under {@code
 * _counters/}, that a restarted etcd keeps the total, and that increments whose callers were
 * answered during a stall are never counted afterwards unless the answer said they may have been.
 * Increments contend on one key (compare-and-swap with retry), so the 64-thread test does fewer per
 * thread and the nodes get a longer operation timeout.
 */
class EtcdClusterCounterContractIT extends ClusterCounterContract {
  @RegisterExtension
  static final TestResource<EtcdSource> etcd = TestResource.of(EtcdSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder()
        .backend(etcd.get().server().backendUri())
        .keyPrefix(keyPrefix)
        .operationTimeout(Duration.ofSeconds(20))
        .build();
  }

  @Override
  protected int incrementsPerThread() {
    return 10;
  }

  @Test
  void counter_survivesAnEtcdRestart_andFailsWhileEtcdIsDown() {
    Lockstep a =
        closeAfterTest(
            Lockstep.builder()
                .backend(etcd.get().server().backendUri())
                .keyPrefix(prefix)
                .operationTimeout(Duration.ofSeconds(2))
                .build());
    for (int i = 0; i < 200; i++) {
      a.counter("total").incrementAndGet(1);
    }
    assertThat(etcd.get().raw(prefix, "_counters/total")).isEqualTo("200");
    etcd.get().server().stop();
    assertThatThrownBy(() -> a.counter("total").incrementAndGet(1))
        .isInstanceOf(BackendUnavailableException.class);
    etcd.get().server().start();
    Lockstep b = closeAfterTest(newNode(prefix));
    assertThat(b.counter("total").get()).isEqualTo(200);
    Awaitility.await()
        .atMost(patience())
        .ignoreExceptions()
        .until(() -> a.counter("total").incrementAndGet(1) == 201);
    assertThat(b.counter("total").get()).isEqualTo(201);
  }

  // ---------------------------------------------------------------------------------------------
  // A stalled route to etcd (issue 12): answered callers stay answered
  // ---------------------------------------------------------------------------------------------

  private static final Duration STALL_TIMEOUT = Duration.ofMillis(1500);

  /** A node whose only route to etcd is {@code proxy}, with a short operation timeout. */
  private Lockstep nodeThrough(TcpProxy proxy) {
    return closeAfterTest(
        Lockstep.builder()
            .backend(etcd.get().server().backendUri(proxy.endpoint()))
            .keyPrefix(prefix)
            .operationTimeout(STALL_TIMEOUT)
            .build());
  }

  private TcpProxy proxy() {
    return closeAfterTest(new TcpProxy("127.0.0.1", etcd.get().server().clientPort()));
  }

  /**
   * A barrier: an increment by 0 through the same counter of the same node, which this instance
   * sends only after everything queued before it was sent or withdrawn; returns the value it saw,
   * after checking etcd holds exactly that.
   */
  private long settled(ClusterCounter c) {
    long v =
        Awaitility.await()
            .atMost(patience())
            .ignoreExceptions()
            .until(() -> c.incrementAndGet(0), x -> true);
    assertThat(etcd.get().raw(prefix, "_counters/" + c.name())).isEqualTo(Long.toString(v));
    return v;
  }

  private BackendUnavailableException failureOf(CompletableFuture<Long> call)
      throws InterruptedException, TimeoutException {
    try {
      long v = call.get(patience().toMillis(), TimeUnit.MILLISECONDS);
      throw new AssertionError("an increment succeeded while etcd was unreachable: " + v);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(BackendUnavailableException.class);
      return (BackendUnavailableException) e.getCause();
    }
  }

  /**
   * Increments made while the route to etcd is frozen: the first batch waits on its read, the
   * others queue behind it. At the deadline none has reached a transaction, so each is withdrawn
   * and answered "nothing counted"; after the route thaws, none of them is counted. Each increment
   * adds its own power of two, so the final value tells exactly which were applied.
   */
  @Test
  void counter_stalledEtcd_incrementsAnsweredNotCommitted_areNeverAppliedLater() throws Exception {
    TcpProxy proxy = proxy();
    ClusterCounter c = nodeThrough(proxy).counter("stalled");
    assertThat(c.incrementAndGet(1)).isEqualTo(1);
    proxy.pause();
    List<CompletableFuture<Long>> calls = new ArrayList<>();
    for (int i = 1; i <= 20; i++) {
      calls.add(c.incrementAndGetAsync(1L << i));
    }
    long notCommitted = 0;
    long mayHaveCommitted = 0;
    for (int i = 1; i <= 20; i++) {
      BackendUnavailableException e = failureOf(calls.get(i - 1));
      if (e.mayHaveCommitted()) {
        mayHaveCommitted |= 1L << i;
      } else {
        notCommitted |= 1L << i;
      }
    }
    proxy.resume();
    long applied = settled(c) - 1;
    assertThat(applied & notCommitted)
        .as("increments answered 'nothing counted' that were counted afterwards (bits)")
        .isZero();
    assertThat(applied & ~mayHaveCommitted).as("increments counted but never sent").isZero();
    assertThat(Long.bitCount(notCommitted))
        .as("increments withdrawn before they were sent (none reached a transaction)")
        .isEqualTo(20);
  }

  /**
   * A client that retries every increment answered "nothing counted" (and only those) counts each
   * of its increments exactly once across a stall of the route to etcd.
   */
  @Test
  void counter_stalledEtcd_clientRetryingWhatWasNotCommitted_countsEachIncrementOnce()
      throws Exception {
    TcpProxy proxy = proxy();
    ClusterCounter c = nodeThrough(proxy).counter("retried");
    assertThat(c.incrementAndGet(0)).isZero();
    proxy.pause();
    int logical = 8;
    AtomicInteger retries = new AtomicInteger();
    List<BackendUnavailableException> ambiguous = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<Void>> clients = new ArrayList<>();
    for (int i = 0; i < logical; i++) {
      clients.add(
          CompletableFuture.runAsync(
              () -> {
                while (true) {
                  try {
                    c.incrementAndGet(1);
                    return;
                  } catch (BackendUnavailableException e) {
                    if (e.mayHaveCommitted()) {
                      ambiguous.add(e); // a careful client cannot tell; it stops here
                      return;
                    }
                    retries.incrementAndGet();
                  }
                }
              },
              command -> Thread.ofPlatform().start(command)));
    }
    Awaitility.await()
        .atMost(patience())
        .until(() -> retries.get() >= logical || !ambiguous.isEmpty());
    proxy.resume();
    CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new))
        .get(patience().toMillis(), TimeUnit.MILLISECONDS);
    assertThat(ambiguous).as("answers that could not say whether they counted").isEmpty();
    assertThat(settled(c)).isEqualTo(logical);
  }
}
