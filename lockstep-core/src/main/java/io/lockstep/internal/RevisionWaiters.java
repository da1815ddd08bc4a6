package io.lockstep.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Callers waiting for the applied revision to reach a value. Each caller is its own {@link Waiter}
 * (a future of its own from {@link #await}, or an engine object such as a write in flight), so one
 * caller's timeout cannot fail another's and nothing is copied or chained per wait. A caller that
 * gives up (its future times out or is cancelled, or it calls {@link #remove}) is forgotten, so
 * revisions that are never reached do not pile up. Not on the read path: a short lock guards the
 * waiting set. {@link #advance} runs on the applier: a waiter's {@link Waiter#reached} must only
 * complete internal state or hand off (no user code, no blocking).
 */
final class RevisionWaiters {
  /** One caller waiting for a revision. */
  interface Waiter {
    /** The revision waited for. */
    long revision();

    /** The applied revision reached {@link #revision()}; runs on the thread that advanced it. */
    void reached(long applied);

    /** The wait failed (history reset, map closed). */
    void failed(Throwable cause);
  }

  private static final Comparator<Waiter> BY_REVISION = Comparator.comparingLong(Waiter::revision);

  private final PriorityQueue<Waiter> waiting = new PriorityQueue<>(BY_REVISION);
  private final LongSupplier applied;
  private @Nullable Throwable closed; // guarded by this: once set, every await fails with it

  /** The future {@link #await} returns: forgotten when it fails, times out or is cancelled. */
  private final class Pending extends CompletableFuture<Long> implements Waiter {
    private final long revision;

    Pending(long revision) {
      this.revision = revision;
    }

    @Override
    public long revision() {
      return revision;
    }

    @Override
    public void reached(long applied) {
      super.complete(applied);
    }

    @Override
    public void failed(Throwable cause) {
      super.completeExceptionally(cause);
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
      boolean done = super.completeExceptionally(ex);
      if (done) {
        remove(this);
      }
      return done;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean done = super.cancel(mayInterruptIfRunning);
      if (done) {
        remove(this);
      }
      return done;
    }
  }

  RevisionWaiters(LongSupplier applied) {
    this.applied = applied;
  }

  /** A future of the applied revision once it is at or past {@code revision}. */
  CompletableFuture<Long> await(long revision) {
    long now = applied.getAsLong();
    if (now >= revision) {
      return CompletableFuture.completedFuture(now);
    }
    Pending p = new Pending(revision);
    add(p);
    return p;
  }

  /**
   * Registers {@code w}; {@link Waiter#reached} or {@link Waiter#failed} runs once, possibly at
   * once on this thread.
   */
  void add(Waiter w) {
    Throwable fail;
    synchronized (this) {
      fail = closed;
      if (fail == null) {
        waiting.add(w);
      }
    }
    if (fail != null) {
      w.failed(fail);
      return;
    }
    // The applier may have advanced between the caller's check and the insert: look again.
    long now = applied.getAsLong();
    if (now >= w.revision()) {
      advance(now);
    }
  }

  /** Forgets {@code w} (it gave up). */
  synchronized void remove(Waiter w) {
    waiting.remove(w);
  }

  /**
   * Completes every waiter at or below {@code revision}. Called after the applied revision moves.
   */
  void advance(long revision) {
    Waiter first;
    List<Waiter> more = null;
    synchronized (this) {
      Waiter w = waiting.peek();
      if (w == null || w.revision() > revision) {
        return;
      }
      first = w;
      waiting.poll();
      while ((w = waiting.peek()) != null && w.revision() <= revision) {
        if (more == null) {
          more = new ArrayList<>(4);
        }
        more.add(waiting.poll());
      }
    }
    first.reached(revision);
    if (more != null) {
      for (Waiter w : more) {
        w.reached(revision);
      }
    }
  }

  /** Fails every waiter, e.g. when the map closes. */
  void failAll(Throwable cause) {
    List<Waiter> all;
    synchronized (this) {
      all = new ArrayList<>(waiting);
      waiting.clear();
    }
    for (Waiter w : all) {
      w.failed(cause);
    }
  }

  /** Fails every waiter with {@code cause}, and every later one: the map closed. */
  void close(Throwable cause) {
    synchronized (this) {
      if (closed == null) {
        closed = cause;
      }
    }
    failAll(cause);
  }

  synchronized int size() {
    return waiting.size();
  }
}
