package io.lockstep.server;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * One computation shared by concurrent callers, and its result reused for {@code ttl} after it
 * completed: callers that arrive while it runs wait for it, callers within {@code ttl} of its end
 * get its result, and the first caller after that starts the next one. With a zero {@code ttl} it
 * only merges concurrent calls (what {@code /admin/refresh} needs: callers that ask while a
 * re-listing runs share it). A failed computation is not reused. Thread safe.
 */
final class Recent<T> {
  private final Supplier<CompletableFuture<T>> compute;
  private final long ttlNanos;
  private final LongSupplier clock;
  private @Nullable CompletableFuture<T> current; // guarded by this
  private long doneAt; // guarded by this; when current completed, on clock

  Recent(Supplier<CompletableFuture<T>> compute, Duration ttl) {
    this(compute, ttl, System::nanoTime);
  }

  Recent(Supplier<CompletableFuture<T>> compute, Duration ttl, LongSupplier clock) {
    this.compute = compute;
    this.ttlNanos = ttl.toNanos();
    this.clock = clock;
  }

  /** The running computation, or the recent result, or a new computation. */
  CompletableFuture<T> get() {
    CompletableFuture<T> f;
    synchronized (this) {
      CompletableFuture<T> c = current;
      if (c != null
          && (!c.isDone()
              || (!c.isCompletedExceptionally() && clock.getAsLong() - doneAt < ttlNanos))) {
        return c;
      }
      f = new CompletableFuture<>();
      current = f;
    }
    CompletableFuture<T> started;
    try {
      started = compute.get();
    } catch (RuntimeException e) {
      started = CompletableFuture.failedFuture(e);
    }
    started.whenComplete(
        (v, e) -> {
          synchronized (this) {
            doneAt = clock.getAsLong();
          }
          if (e != null) {
            f.completeExceptionally(e);
          } else {
            f.complete(v);
          }
        });
    return f;
  }

  /**
   * Forgets the value held, so the next {@link #get()} computes anew; a computation in progress
   * completes for those already waiting on it, but is not handed to later callers (it may have
   * started before the change that caused this call).
   */
  synchronized void invalidate() {
    current = null;
  }
}
