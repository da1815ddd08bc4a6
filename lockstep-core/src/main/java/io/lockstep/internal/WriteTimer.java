package io.lockstep.internal;

import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The one timer of every write in flight, shared by the JVM's maps: one daemon thread, and a
 * cancelled timeout leaves its queue at once (almost every write completes long before its bound).
 * Real time on purpose: a write's bounds are wall-clock promises to its caller, not part of the
 * engine's schedule that tests move by hand.
 */
final class WriteTimer {
  private static final ScheduledThreadPoolExecutor TIMER = create();

  private WriteTimer() {}

  private static ScheduledThreadPoolExecutor create() {
    ScheduledThreadPoolExecutor t =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread th = new Thread(r, "lockstep-write-timer");
              th.setDaemon(true);
              return th;
            });
    t.setRemoveOnCancelPolicy(true);
    return t;
  }

  /**
   * Runs {@code task} after {@code delayNanos}; the task must be short.
   *
   * @throws RejectedExecutionException never in practice (the timer is never shut down)
   */
  static Future<?> schedule(Runnable task, long delayNanos) {
    return TIMER.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
  }
}
