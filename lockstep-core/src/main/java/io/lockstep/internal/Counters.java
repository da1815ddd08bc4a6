package io.lockstep.internal;

import io.lockstep.BackendCallObserver;
import io.lockstep.BackendUnavailableException;
import io.lockstep.ClusterCounter;
import io.lockstep.CounterOptions;
import io.lockstep.IncrementResult;
import io.lockstep.spi.CounterStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The node's counters: cluster counters over the backend's {@link CounterStore} (one object per
 * name and options), and this instance's in-memory counters.
 *
 * <p>{@link #counter} hands each caller a handle of its own over the one shared counter per name
 * and options: closing a handle sends what is waiting and ends that handle only, never another
 * caller's; the shared counters close with the node ({@link #close()}).
 *
 * <p>A batching counter keeps the increments of the current window in a list; the first increment
 * of a window schedules the flush. A flush sends the window's sum as one backend increment, which
 * answers with the value {@code R} after it; the window's increments are then numbered in arrival
 * order inside {@code (R - sum, R]}, so each gets the value it would have had if they had been sent
 * one by one back to back. Flushes may overlap; each is one atomic increment, so they never clash.
 *
 * <p><b>Who answers a late increment.</b> Only the backend knows whether an increment left for the
 * source before its caller's deadline (the operation timeout): one still waiting in the backend's
 * client can be withdrawn and answered "nothing counted", one on the wire can only be answered "may
 * have committed". So the backend's {@link CounterStore} answers an increment by its own deadline,
 * and the engine waits a short grace past the timeout ({@link #grace}) for that answer. Only when
 * none came does the engine answer by itself, "may have committed", and completes the store's
 * future with a {@link TimeoutException}, which tells the store that the caller is gone: it must
 * not send (or send again) that increment afterwards. Reads are bounded by the timeout alone.
 * Thread safe.
 */
public final class Counters implements AutoCloseable {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  private static final Duration MIN_GRACE = Duration.ofMillis(50);
  private static final Duration MAX_GRACE = Duration.ofSeconds(1);

  private final Supplier<CounterStore> store;
  private final Duration timeout;
  private final Duration backstop;
  private final ScheduledExecutorService scheduler;
  private final BackendCallObserver observer;
  private final Map<String, Cluster> cluster = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> local = new ConcurrentHashMap<>();

  /**
   * @param store the backend's counters, asked for on first use (it may throw {@link
   *     UnsupportedOperationException})
   * @param timeout bounds every backend operation (an increment: plus {@link #grace})
   * @param scheduler runs batch flushes and the engine's own deadline of increments
   */
  public Counters(
      Supplier<CounterStore> store, Duration timeout, ScheduledExecutorService scheduler) {
    this(store, timeout, scheduler, BackendCallObserver.NONE);
  }

  /** As above, telling {@code observer} about every backend call and batch flush. */
  public Counters(
      Supplier<CounterStore> store,
      Duration timeout,
      ScheduledExecutorService scheduler,
      BackendCallObserver observer) {
    this.observer = observer;
    this.store = store;
    this.timeout = timeout;
    this.backstop = timeout.plus(grace(timeout));
    this.scheduler = scheduler;
  }

  /**
   * How long past the operation timeout the engine waits for the backend's own answer to an
   * increment: a tenth of the timeout, at least 50 ms and at most 1 s.
   */
  static Duration grace(Duration timeout) {
    Duration tenth = timeout.dividedBy(10);
    if (tenth.compareTo(MIN_GRACE) < 0) {
      return MIN_GRACE;
    }
    return tenth.compareTo(MAX_GRACE) > 0 ? MAX_GRACE : tenth;
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
    if (!options.batching()) {
      // An unbatched counter holds no state: nothing is kept per name, so any number of names
      // costs nothing once their calls are done.
      return new Handle(new Cluster(name, s, options, ""));
    }
    return new Handle(shared(name, s, options));
  }

  /**
   * The shared batching counter of {@code name} and {@code options}. It leaves the map once idle
   * (nothing waiting, nothing in flight), so names used once are not kept; a handle whose counter
   * left finds the one now in the map.
   */
  private Cluster shared(String name, CounterStore s, CounterOptions options) {
    String key = name + "|" + options.batchWindow().toNanos();
    return cluster.computeIfAbsent(key, k -> new Cluster(name, s, options, k));
  }

  /** Shared batching counters held now (for tests: idle ones leave). */
  int sharedCount() {
    return cluster.size();
  }

  public AtomicLong local(String name) {
    return local.computeIfAbsent(validName(name), k -> new AtomicLong());
  }

  /**
   * Flushes every batching counter and waits for that flush and for any already in flight (each
   * bounded by the timeout); afterwards every counter handle refuses increments.
   */
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
    private boolean retired; // guarded by this: left the map; increments go to its successor
    private final Set<CompletableFuture<Void>> inFlight = ConcurrentHashMap.newKeySet();
    private final String key;

    Cluster(String name, CounterStore store, CounterOptions options, String key) {
      this.name = name;
      this.store = store;
      this.options = options;
      this.key = key;
    }

    /** Leaves the map when nothing waits and nothing is in flight. */
    private void retireIfIdle() {
      synchronized (this) {
        if (closed || retired || !pending.isEmpty() || !inFlight.isEmpty()) {
          return;
        }
        retired = true;
      }
      cluster.remove(key, this);
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public CompletableFuture<Long> incrementAndGetAsync(long delta) {
      if (!options.batching()) {
        return increment(
            () -> store.incrementAndGet(name, delta), "increment of counter '" + name + "'");
      }
      CompletableFuture<Long> f = new CompletableFuture<>();
      boolean flushNow = false;
      synchronized (this) {
        if (retired) {
          return shared(name, store, options).incrementAndGetAsync(delta);
        }
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
    public CompletableFuture<IncrementResult> incrementAsync(
        long delta, @Nullable String requestId) {
      if (requestId == null) {
        return incrementAndGetAsync(delta).thenApply(v -> new IncrementResult(v, false));
      }
      return increment(
          () -> store.incrementAndGet(name, delta, requestId),
          "increment of counter '" + name + "'");
    }

    @Override
    public long incrementAndGet(long delta) {
      return join(incrementAndGetAsync(delta));
    }

    @Override
    public CompletableFuture<Long> getAsync() {
      return read(() -> store.get(name), "read of counter '" + name + "'");
    }

    @Override
    public long get() {
      return join(getAsync());
    }

    /** Sends the current window, if any; completes when its increments are settled. */
    CompletableFuture<Void> flush() {
      List<Pending> batch;
      long sum;
      CompletableFuture<Void> settled = new CompletableFuture<>();
      synchronized (this) {
        if (pending.isEmpty()) {
          return CompletableFuture.completedFuture(null);
        }
        batch = pending;
        sum = pendingSum;
        pending = new ArrayList<>();
        pendingSum = 0;
        inFlight.add(settled); // with the batch taken, so a later flushAndWait sees it
      }
      send(batch, sum)
          .whenComplete(
              (v, e) -> {
                inFlight.remove(settled);
                settled.complete(null);
                retireIfIdle();
              });
      return settled;
    }

    /**
     * Sends the current window and waits until it and every flush already in flight are settled, at
     * most past the engine's own deadline of an increment.
     */
    void flushAndWait() {
      flush();
      CompletableFuture<?>[] all = inFlight.toArray(CompletableFuture<?>[]::new);
      try {
        CompletableFuture.allOf(all)
            .get(backstop.toNanos() + timeout.toNanos(), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException e) {
        // each waiting increment's future reports its own failure
      }
    }

    private CompletableFuture<Void> send(List<Pending> batch, long sum) {
      long start = System.nanoTime();
      return increment(
              () -> store.incrementAndGet(name, sum),
              "batched increment of counter '" + name + "' by " + sum)
          .handle(
              (value, err) -> {
                observer.counterFlushed(batch.size(), System.nanoTime() - start, err != null);
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

    /** Closes the shared counter for every handle (the node closes). */
    @Override
    public void close() {
      synchronized (this) {
        closed = true;
      }
      flushAndWait();
    }

    @Override
    public String toString() {
      return "ClusterCounter[" + name + ", batchWindow=" + options.batchWindow() + "]";
    }
  }

  /**
   * One caller's counter: the shared counter's operations until this handle is closed. Closing it
   * sends what is waiting in the shared window and waits for that and for flushes in flight, then
   * refuses this handle's further use; other handles of the same counter carry on.
   */
  private final class Handle implements ClusterCounter {
    private final Cluster shared;
    private volatile boolean closed;

    Handle(Cluster shared) {
      this.shared = shared;
    }

    private <T> @Nullable CompletableFuture<T> refusedIfClosed() {
      return closed
          ? CompletableFuture.failedFuture(
              new IllegalStateException("counter '" + shared.name + "': this handle is closed"))
          : null;
    }

    @Override
    public String name() {
      return shared.name();
    }

    @Override
    public CompletableFuture<Long> incrementAndGetAsync(long delta) {
      CompletableFuture<Long> refused = refusedIfClosed();
      return refused != null ? refused : shared.incrementAndGetAsync(delta);
    }

    @Override
    public long incrementAndGet(long delta) {
      return join(incrementAndGetAsync(delta));
    }

    @Override
    public CompletableFuture<IncrementResult> incrementAsync(
        long delta, @Nullable String requestId) {
      CompletableFuture<IncrementResult> refused = refusedIfClosed();
      return refused != null ? refused : shared.incrementAsync(delta, requestId);
    }

    @Override
    public CompletableFuture<Long> getAsync() {
      CompletableFuture<Long> refused = refusedIfClosed();
      return refused != null ? refused : shared.getAsync();
    }

    @Override
    public long get() {
      return join(getAsync());
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      shared.flushAndWait();
      if (shared.options.batching()) { // increments may have gone to a successor of shared
        Cluster now = cluster.get(shared.key);
        if (now != null && now != shared) {
          now.flushAndWait();
        }
      }
    }

    @Override
    public String toString() {
      return shared + (closed ? " (closed handle)" : "");
    }
  }

  /**
   * A read, bounded by the timeout; every backend failure becomes {@link
   * BackendUnavailableException}.
   */
  private <T> CompletableFuture<T> read(Supplier<CompletableFuture<T>> op, String what) {
    long start = System.nanoTime();
    CompletableFuture<T> f = BackendCalls.guard(call(op), timeout, what, false);
    if (observer != BackendCallObserver.NONE) {
      f.whenComplete(
          (v, e) ->
              observer.called(
                  BackendCallObserver.Call.COUNTER_READ, System.nanoTime() - start, e != null));
    }
    return f;
  }

  /**
   * An increment: the store's answer, which it gives by its own deadline; failing that, the
   * engine's at {@link #backstop}, which completes the store's future (the caller is gone) and may
   * have committed. Every backend failure becomes {@link BackendUnavailableException}.
   */
  private <T> CompletableFuture<T> increment(Supplier<CompletableFuture<T>> op, String what) {
    long start = System.nanoTime();
    CompletableFuture<T> f = call(op);
    if (!f.isDone()) {
      try {
        ScheduledFuture<?> deadline =
            scheduler.schedule(
                () -> f.completeExceptionally(new TimeoutException()),
                backstop.toNanos(),
                TimeUnit.NANOSECONDS);
        f.whenComplete((v, e) -> deadline.cancel(false));
      } catch (RejectedExecutionException e) {
        f.orTimeout(backstop.toNanos(), TimeUnit.NANOSECONDS); // the node is closing
      }
    }
    return f.handle(
        (v, err) -> {
          observer.called(
              BackendCallObserver.Call.COUNTER_INCREMENT, System.nanoTime() - start, err != null);
          if (err == null) {
            return v;
          }
          Throwable cause = BackendCalls.unwrap(err);
          if (cause instanceof BackendUnavailableException
              || cause instanceof IllegalArgumentException) {
            throw (RuntimeException) cause;
          }
          if (cause instanceof TimeoutException) {
            throw new BackendUnavailableException(
                what
                    + ": the backend did not answer within "
                    + backstop.toMillis()
                    + " ms; it may have been committed",
                cause,
                true);
          }
          throw new BackendUnavailableException(what + " failed: " + cause, cause, true);
        });
  }

  private static <T> CompletableFuture<T> call(Supplier<CompletableFuture<T>> op) {
    try {
      return op.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private static <T> T join(CompletableFuture<T> f) {
    return BackendCalls.join(f);
  }
}
