package io.lockstep.internal;

import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs a task once after a delay, as Caffeine's {@code Scheduler}: the engine's timers (progress
 * requests, reconnect backoff) go through one, so tests can fire them by hand together with a fake
 * {@link Ticker}. A scheduled task must be short; the engine's tasks only hand work to its applier.
 * Implementations must be thread safe.
 */
@FunctionalInterface
interface Scheduler {

  /**
   * Runs {@code task} once after {@code delay}.
   *
   * @return a future that cancels the task
   * @throws RejectedExecutionException when the scheduler is shut down
   */
  Future<?> schedule(Runnable task, long delay, TimeUnit unit);

  /** A scheduler over {@code executor}; shutting the executor down is its owner's business. */
  static Scheduler of(ScheduledExecutorService executor) {
    return executor::schedule;
  }
}
