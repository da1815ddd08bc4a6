package io.lockstep.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Ticker} that moves only when told to, and a {@link Scheduler} whose tasks run when
 * {@link #advance} moves the ticker past their time, on the caller's thread, in time order. Records
 * every delay asked for. Thread safe.
 */
final class FakeTime implements Ticker, Scheduler {
  private record Due(long at, long seq, FutureTask<?> task) {}

  private final PriorityQueue<Due> due =
      new PriorityQueue<>(
          (a, b) ->
              a.at() != b.at() ? Long.compare(a.at(), b.at()) : Long.compare(a.seq(), b.seq()));
  private final List<Long> delays = new ArrayList<>();
  private long now; // guarded by this
  private long seq; // guarded by this

  @Override
  public synchronized long nanos() {
    return now;
  }

  @Override
  public synchronized Future<?> schedule(Runnable task, long delay, TimeUnit unit) {
    long nanos = unit.toNanos(delay);
    delays.add(nanos);
    FutureTask<Void> f = new FutureTask<>(task, null);
    due.add(new Due(now + Math.max(0, nanos), seq++, f));
    return f;
  }

  /** Moves time forward by {@code d}, running each task that falls due on the way at its time. */
  void advance(Duration d) {
    long target;
    synchronized (this) {
      target = now + d.toNanos();
    }
    while (true) {
      Due next;
      synchronized (this) {
        next = due.peek();
        if (next == null || next.at() > target) {
          now = target;
          return;
        }
        due.poll();
        now = next.at();
      }
      next.task().run();
    }
  }

  /** Every delay asked for so far, in nanoseconds, in order. */
  synchronized List<Long> delays() {
    return List.copyOf(delays);
  }

  /** The last delay asked for, in nanoseconds. */
  synchronized long lastDelay() {
    return delays.get(delays.size() - 1);
  }
}
