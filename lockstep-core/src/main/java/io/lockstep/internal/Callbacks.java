package io.lockstep.internal;

import io.lockstep.LockstepException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * Hands the map's results to user code: each future the map returns is a {@link UserFuture},
 * completed by one hop to the callback executor (never on the replication thread or a backend
 * client's I/O thread), failing fast when waited for on the replication thread, and failed when the
 * map closes. Not on the read path.
 */
final class Callbacks {
  private final Executor executor;
  private final String instanceId;
  private final Set<UserFuture<?>> pending = ConcurrentHashMap.newKeySet();
  private volatile @Nullable Thread replicationThread;
  private volatile boolean closed;

  Callbacks(Executor executor, String instanceId) {
    this.executor = executor;
    this.instanceId = instanceId;
  }

  /** Remembers the replication (applier) thread; called by its thread factory. */
  void replicationThread(Thread t) {
    this.replicationThread = t;
  }

  boolean onReplicationThread() {
    return Thread.currentThread() == replicationThread;
  }

  /**
   * Fails at once when called on the replication thread: {@code what} would wait for that thread,
   * or stall it.
   */
  void checkMayBlock(String what) {
    if (onReplicationThread()) {
      throw new IllegalStateException(
          what
              + ": blocking call on the replication thread ("
              + Thread.currentThread().getName()
              + "), e.g. from a change listener; it would wait for the thread it blocks. Use the"
              + " asynchronous method (putAsync, deleteAsync, compareAndSetAsync,"
              + " awaitRevisionAsync, refresh) and continue in a callback chained on its future");
    }
  }

  /**
   * The future user code gets for {@code source}: completed on the callback executor with what
   * {@code source} completes with (at once, on this thread, when it is already done), or failed
   * when the map closes first. {@code what} names the call in the "closed" message; a write's
   * message says it may have committed.
   */
  <T> CompletableFuture<T> deliver(CompletableFuture<T> source, String what, boolean write) {
    return track(new UserFuture<>(this, source, what, write, false), source);
  }

  /**
   * As {@link #deliver}, for a caller that blocks on the result itself: completed on the thread
   * that completes {@code source} (no user code runs there, the waiting thread only wakes up).
   */
  <T> CompletableFuture<T> forBlockingCall(
      CompletableFuture<T> source, String what, boolean write) {
    return track(new UserFuture<>(this, source, what, write, true), source);
  }

  private <T> CompletableFuture<T> track(UserFuture<T> out, CompletableFuture<T> source) {
    if (source.isDone()) {
      source.whenComplete(out::finish);
      return out;
    }
    pending.add(out);
    if (closed) { // close() may have drained the set before the add: fail it ourselves
      out.finishLater(null, out.closedError());
      return out;
    }
    source.whenComplete(out::finishLater);
    return out;
  }

  /** A future failed at once because the map is closed. */
  <T> CompletableFuture<T> closedFuture(String what, boolean write) {
    UserFuture<T> out = new UserFuture<>(this, null, what, write, true);
    out.finish(null, out.closedError());
    return out;
  }

  /** Fails every pending future with a "closed" exception; later ones fail at once. */
  void close() {
    closed = true;
    for (UserFuture<?> f : pending) {
      f.finishLater(null, f.closedError());
    }
  }

  /** How many futures are pending (for tests). */
  int pending() {
    return pending.size();
  }

  /** The future handed to user code. */
  static final class UserFuture<T> extends CompletableFuture<T> {
    private final Callbacks callbacks;
    private final @Nullable CompletableFuture<?> source;
    private final @Nullable String what;
    private final boolean write;
    private final boolean inline;

    UserFuture(
        Callbacks callbacks,
        @Nullable CompletableFuture<?> source,
        @Nullable String what,
        boolean write,
        boolean inline) {
      this.callbacks = callbacks;
      this.source = source;
      this.what = what;
      this.write = write;
      this.inline = inline;
    }

    LockstepException closedError() {
      return new LockstepException(
          "replicated map "
              + callbacks.instanceId
              + " closed before the "
              + what
              + " completed"
              + (write ? "; the write may have committed" : ""));
    }

    /** Completes this future on the callback executor (one hop), unless done already. */
    void finishLater(@Nullable T value, @Nullable Throwable error) {
      if (isDone()) {
        return;
      }
      if (inline) {
        finish(value, error);
        return;
      }
      try {
        callbacks.executor.execute(() -> finish(value, error));
      } catch (RejectedExecutionException e) { // the user's executor is shut down
        finish(value, error);
      }
    }

    void finish(@Nullable T value, @Nullable Throwable error) {
      if (error == null) {
        complete(value);
      } else {
        completeExceptionally(error);
      }
    }

    @Override
    public boolean complete(T value) {
      boolean done = super.complete(value);
      if (done) {
        callbacks.pending.remove(this);
      }
      return done;
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
      boolean done = super.completeExceptionally(ex);
      if (done) {
        ended();
      }
      return done;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean done = super.cancel(mayInterruptIfRunning);
      if (done) {
        ended();
      }
      return done;
    }

    /** Failed, cancelled or timed out first: let the source forget this caller (a waiter). */
    private void ended() {
      callbacks.pending.remove(this);
      CompletableFuture<?> s = source;
      if (s != null && !s.isDone()) {
        s.cancel(false);
      }
    }

    private void checkWait() {
      if (!isDone() && callbacks.onReplicationThread()) {
        callbacks.checkMayBlock("waiting for a future of the map");
      }
    }

    @Override
    public T get() throws InterruptedException, java.util.concurrent.ExecutionException {
      checkWait();
      return super.get();
    }

    @Override
    public T get(long timeout, TimeUnit unit)
        throws InterruptedException, java.util.concurrent.ExecutionException, TimeoutException {
      checkWait();
      return super.get(timeout, unit);
    }

    @Override
    public T join() {
      checkWait();
      return super.join();
    }

    /** Dependents (thenApply, ...) fail fast too, and run their *Async steps on the executor. */
    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
      return new UserFuture<>(callbacks, null, what, write, false);
    }

    @Override
    public Executor defaultExecutor() {
      return callbacks.executor;
    }
  }
}
