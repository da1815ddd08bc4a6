package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RevisionWaitersTest {
  private final AtomicLong applied = new AtomicLong();
  private final RevisionWaiters waiters = new RevisionWaiters(applied::get);

  @Test
  void await_completesWhenAppliedReachesRevision_andOneCallersTimeoutDoesNotFailAnother() {
    CompletableFuture<Long> a = waiters.await(5);
    CompletableFuture<Long> b = waiters.await(5);
    a.orTimeout(1, TimeUnit.MILLISECONDS);
    assertThat(a).failsWithin(1, TimeUnit.SECONDS);
    applied.set(6);
    waiters.advance(6);
    assertThat(b).isCompletedWithValue(6L);
  }

  @Test
  void abandonedWaiters_areForgotten() {
    for (int i = 0; i < 1000; i++) {
      waiters.await(1_000_000 + i).cancel(false);
    }
    CompletableFuture<Long> timedOut = waiters.await(42).orTimeout(1, TimeUnit.MILLISECONDS);
    assertThat(timedOut).failsWithin(1, TimeUnit.SECONDS);
    // The waiter is removed by the timed-out future's own completion, which may still be running on
    // the timer's thread when this one sees the future done.
    await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(waiters.size()).isZero());
  }

  @Test
  void await_ofAnAppliedRevision_isCompleteAtOnce() {
    applied.set(10);
    assertThat(waiters.await(3)).isCompletedWithValue(10L);
    assertThat(waiters.size()).isZero();
  }
}
