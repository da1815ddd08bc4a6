package io.lockstep.internal;

import io.lockstep.BackendUnavailableException;
import io.lockstep.ClusterCounter;
import io.lockstep.CounterOptions;
import io.lockstep.spi.CounterStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The node's counters: cluster counters over the backend's {@link CounterStore} (one object per
 * name and options), and this instance's in-memory counters.
 *
 * <p>A batching counter keeps the increments of the current window in a list; the first increment
 * of a window schedules the flush. A flush sends the window's sum as one backend increment, which
 * answers with the value {@code R} after it; the window's increments are then numbered in arrival
 * order inside {@code (R - sum, R]}, so each gets the value it would have had if they had been sent
 * one by one back to back. Flushes may overlap; each is one atomic increment, so they never clash.
 * Thread safe.
 */
public final class Counters implements AutoCloseable {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  private final Supplier<CounterStore> store;
  private final Duration timeout;
  private final ScheduledExecutorService scheduler;
  private final Map<String, Cluster> cluster = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> local = new ConcurrentHashMap<>();

  /**
   * @param store the backend's counters, asked for on first use (it may throw {@link
   *     UnsupportedOperationException})
   * @param timeout bounds every backend operation
   * @param scheduler runs batch flushes
   */
  public Counters(
      Supplier<CounterStore> store, Duration timeout, ScheduledExecutorService scheduler) {
    this.store = store;
    this.timeout = timeout;
    this.scheduler = scheduler;
  }

  /**
   * Throws {@link IllegalArgumentException} unless {@code name} is 1 to 128 of {@code
   * [A-Za-z0-9._-]}.
   */
  public static String validName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "counter name: 1 to 128 letters, digits or ._- expected, was '" + name + "'");
    }
    return name;
  }

  public ClusterCounter counter(String name, CounterOptions options) {
    validName(name);
    if (options == null) {
      throw new IllegalArgumentException("options: null");
    }
    CounterStore s = store.get();
    return cluster.computeIfAbsent(
        name + "|" + options.batchWindow().toNanos(), k -> new Cluster(name, s, options));
  }

  public AtomicLong local(String name) {
    return local.computeIfAbsent(validName(name), k -> new AtomicLong());
  }

  /** Flushes every batching counter and waits for it (each bounded by the timeout). */
  @Override
  public void close() {
    for (Cluster c : cluster.values()) {
      c.close();
    }
  }

  // ---------------------------------------------------------------------------------------------

  private record Pending(long delta, CompletableFuture<Long> result) {}

  private final class Cluster implements ClusterCounter {
    private final String name;
    private final CounterStore store;
    private final CounterOptions options;
    private List<Pending> pending = new ArrayList<>(); // guarded by this
    private long pendingSum; // guarded by this
    private boolean closed; // guarded by this

    Cluster(String name, CounterStore store, CounterOptions options) {
      this.name = name;
      this.store = store;
      this.options = options;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public CompletableFuture<Long> incrementAndGetAsync(long delta) {
      if (!options.batching()) {
        return guard(
            () -> store.incrementAndGet(name, delta), "increment of counter '" + name + "'", true);
      }
      CompletableFuture<Long> f = new CompletableFuture<>();
      boolean flushNow = false;
      synchronized (this) {
        if (closed) {
          return CompletableFuture.failedFuture(
              new IllegalStateException("counter '" + name + "' is closed"));
        }
        long sum;
        try {
          sum = Math.addExact(pendingSum, delta);
        } catch (ArithmeticException overflow) {
          flushNow = true;
          sum = Long.MAX_VALUE; // unused
        }
        if (flushNow) {
          // The window's sum would overflow: send it now and start a new window with this one.
          flush();
          sum = delta;
        }
        boolean first = pending.isEmpty();
        pending.add(new Pending(delta, f));
        pendingSum = sum;
        if (first) {
          try {
            scheduler.schedule(this::flush, options.batchWindow().toNanos(), TimeUnit.NANOSECONDS);
          } catch (RejectedExecutionException e) {
            flush();
          }
        }
      }
      return f;
    }

    @Override
    public long incrementAndGet(long delta) {
      return join(incrementAndGetAsync(delta));
    }

    @Override
    public CompletableFuture<Long> getAsync() {
      return guard(() -> store.get(name), "read of counter '" + name + "'", false);
    }

    @Override
    public long get() {
      return join(getAsync());
    }

    /** Sends the current window, if any; completes when its increments are settled. */
    CompletableFuture<Void> flush() {
      List<Pending> batch;
      long sum;
      synchronized (this) {
        if (pending.isEmpty()) {
          return CompletableFuture.completedFuture(null);
        }
        batch = pending;
        sum = pendingSum;
        pending = new ArrayList<>();
        pendingSum = 0;
      }
      return guard(
              () -> store.incrementAndGet(name, sum),
              "batched increment of counter '" + name + "' by " + sum,
              true)
          .handle(
              (value, err) -> {
                if (err != null) {
                  Throwable cause = BackendCalls.unwrap(err);
                  for (Pending p : batch) {
                    p.result().completeExceptionally(cause);
                  }
                  return null;
                }
                long running = value - sum;
                for (Pending p : batch) {
                  running += p.delta();
                  p.result().complete(running);
                }
                return null;
              });
    }

    @Override
    public void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      try {
        flush().get(timeout.toNanos() * 2, TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException e) {
        // each waiting increment's future reports its own failure
      }
    }

    @Override
    public String toString() {
      return "ClusterCounter[" + name + ", batchWindow=" + options.batchWindow() + "]";
    }
  }

  /**
   * Applies the timeout and turns every backend failure into {@link BackendUnavailableException}.
   */
  private <T> CompletableFuture<T> guard(
      Supplier<CompletableFuture<T>> op, String what, boolean write) {
    CompletableFuture<T> f;
    try {
      f = op.get();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    return BackendCalls.guard(f, timeout, what, write);
  }

  private static <T> T join(CompletableFuture<T> f) {
    return BackendCalls.join(f);
  }
}
