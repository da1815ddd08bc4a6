package io.lockstep.spi;

import io.lockstep.Member;
import io.lockstep.Registration;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The listeners of one membership's {@link Membership#watch watch}, written once for every backend:
 * a backend feeds it what it learns (full lists, or single joins and leaves) from any thread, and
 * this class keeps the current list, calls each listener with the full list, sorted by member id,
 * once at the start and then only when the list changed, one call at a time per listener, on a
 * thread of its own (never on the thread that fed it, which is usually a client's I/O thread).
 * While several changes arrive during one call, the listener is next called with the newest list
 * only: it always sees the current membership, not every step to it.
 *
 * <p>The backend's event {@link Source} runs only while someone watches: it is started with the
 * first listener and stopped when the last one is closed (or {@link #close()}); each start gets a
 * {@link Sink} of its own, and what a stopped source's sink is told afterwards is ignored. Nothing
 * is delivered before the source's first full list ({@link Sink#members}), so a listener never sees
 * a list built from events alone.
 *
 * <p>A listener that throws is logged and called again on the next change. Thread safe.
 */
public final class MemberWatchers implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(MemberWatchers.class.getName());

  /** How often {@link #polling} asks a membership that has no events of its own. */
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(500);

  /** How long one poll may take before the poller gives up on it and asks again. */
  static final Duration POLL_TIMEOUT = Duration.ofSeconds(10);

  /** A backend's events, running while anyone watches. */
  @FunctionalInterface
  public interface Source {
    /**
     * Starts feeding {@code sink}: a first full list as soon as it can, then every change. Must not
     * block for I/O; failures are the source's to retry (keep the last list meanwhile, never report
     * an empty one for an outage).
     *
     * @return what stops it; closed once, from a thread that may be a listener's
     */
    AutoCloseable start(Sink sink);
  }

  /** Where a running {@link Source} reports. Every method is cheap and may be called anywhere. */
  public interface Sink {
    /** The whole membership now; replaces everything known before. */
    void members(Collection<Member> all);

    /** One member registered or replaced its record (matched by id). */
    void joined(Member member);

    /** The member {@code id} is gone. */
    void left(String id);

    /** False once this source was stopped: its loops may end. */
    boolean active();
  }

  private final String name;
  private final Source source;
  private final Executor delivery;
  private final Object lock = new Object();

  // Guarded by lock.
  private final List<Watcher> watchers = new ArrayList<>();
  private @Nullable Feed feed;
  private boolean closed;

  /**
   * Listeners over {@code source}, called on the shared daemon threads {@code
   * lockstep-membership-watch-N}.
   *
   * @param name names this membership in log lines
   */
  public MemberWatchers(String name, Source source) {
    this(name, source, Shared.DELIVERY);
  }

  /** As {@link #MemberWatchers(String, Source)}, calling listeners on {@code delivery}. */
  public MemberWatchers(String name, Source source, Executor delivery) {
    this.name = Objects.requireNonNull(name, "name");
    this.source = Objects.requireNonNull(source, "source");
    this.delivery = Objects.requireNonNull(delivery, "delivery");
  }

  /**
   * Listeners over a poll of {@code members} every {@code interval} (after each answer), on one
   * shared daemon thread ({@code lockstep-membership-poll}); a failed or slow poll keeps the last
   * list and asks again. What {@link Membership#watch}'s default uses.
   */
  public static MemberWatchers polling(
      String name, Supplier<CompletableFuture<List<Member>>> members, Duration interval) {
    return new MemberWatchers(name, pollingSource(name, members, interval, Shared.POLL));
  }

  /** A source that polls {@code members} every {@code interval} on {@code timer}. */
  static Source pollingSource(
      String name,
      Supplier<CompletableFuture<List<Member>>> members,
      Duration interval,
      ScheduledExecutorService timer) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval: must be positive, was " + interval);
    }
    return sink -> {
      Poller p = new Poller(name, members, interval.toMillis(), timer, sink);
      p.schedule(0);
      return p;
    };
  }

  /**
   * Adds a listener: called with the full member list once the first list is known, then on every
   * change. Closing the result removes it: no call starts after {@link Registration#close()}
   * returns (one already under way may finish).
   *
   * @throws IllegalStateException when closed
   */
  public Registration watch(Consumer<List<Member>> listener) {
    Objects.requireNonNull(listener, "listener");
    Watcher w = new Watcher(listener);
    Feed start = null;
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException(name + ": membership watch closed");
      }
      watchers.add(w);
      if (feed == null) {
        feed = start = new Feed();
      } else if (feed.current != null) {
        w.offer(feed.current);
      }
    }
    if (start != null) {
      AutoCloseable handle;
      try {
        handle = source.start(start);
      } catch (RuntimeException e) {
        w.close();
        throw e;
      }
      boolean stopNow;
      synchronized (lock) {
        stopNow = start.stopped;
        start.handle = handle;
      }
      if (stopNow) {
        stop(handle);
      }
    }
    return w;
  }

  /** Removes every listener and stops the source; later {@link #watch} calls fail. Idempotent. */
  @Override
  public void close() {
    AutoCloseable handle;
    synchronized (lock) {
      closed = true;
      for (Watcher w : watchers) {
        w.closed = true;
      }
      watchers.clear();
      handle = stopFeed();
    }
    stop(handle);
  }

  /** How many listeners are registered (for tests). */
  int size() {
    synchronized (lock) {
      return watchers.size();
    }
  }

  /** Whether the source runs (for tests). */
  boolean running() {
    synchronized (lock) {
      return feed != null;
    }
  }

  /** Ends the current feed; returns its handle to close outside the lock. Caller holds lock. */
  private @Nullable AutoCloseable stopFeed() {
    Feed f = feed;
    feed = null;
    if (f == null) {
      return null;
    }
    f.stopped = true;
    return f.handle; // null while the source is still starting: watch() closes it then
  }

  private void stop(@Nullable AutoCloseable handle) {
    if (handle == null) {
      return;
    }
    try {
      handle.close();
    } catch (Exception e) {
      LOG.log(Level.DEBUG, "{0}: stopping the membership watch failed: {1}", name, e.toString());
    }
  }

  private void remove(Watcher w) {
    AutoCloseable handle = null;
    synchronized (lock) {
      if (watchers.remove(w) && watchers.isEmpty()) {
        handle = stopFeed();
      }
    }
    stop(handle);
  }

  /** One run of the source: the members it reported. Its sink. */
  private final class Feed implements Sink {
    // Guarded by lock.
    private final Map<String, Member> state = new TreeMap<>();
    private @Nullable List<Member> current; // null until the first full list
    private @Nullable AutoCloseable handle;
    private boolean stopped;

    @Override
    public void members(Collection<Member> all) {
      synchronized (lock) {
        if (stopped) {
          return;
        }
        state.clear();
        for (Member m : all) {
          state.put(m.id(), m);
        }
        publish();
      }
    }

    @Override
    public void joined(Member member) {
      synchronized (lock) {
        if (stopped) {
          return;
        }
        state.put(member.id(), member);
        if (current != null) {
          publish();
        }
      }
    }

    @Override
    public void left(String id) {
      synchronized (lock) {
        if (stopped) {
          return;
        }
        state.remove(id);
        if (current != null) {
          publish();
        }
      }
    }

    @Override
    public boolean active() {
      synchronized (lock) {
        return !stopped;
      }
    }

    /** Hands the list to every listener when it changed. Caller holds lock. */
    private void publish() {
      List<Member> now = List.copyOf(state.values());
      if (now.equals(current)) {
        return;
      }
      current = now;
      for (Watcher w : watchers) {
        w.offer(now);
      }
    }
  }

  /** One listener: the newest list not yet given to it, and whether a call is queued. */
  private final class Watcher implements Registration {
    private final Consumer<List<Member>> listener;

    // Guarded by this.
    private @Nullable List<Member> pending;
    private boolean scheduled;
    private @Nullable List<Member> last; // only the delivering thread touches it
    private volatile boolean closed;

    Watcher(Consumer<List<Member>> listener) {
      this.listener = listener;
    }

    void offer(List<Member> members) {
      synchronized (this) {
        if (closed) {
          return;
        }
        pending = members;
        if (scheduled) {
          return;
        }
        scheduled = true;
      }
      try {
        delivery.execute(this::drain);
      } catch (RejectedExecutionException e) {
        synchronized (this) {
          scheduled = false;
        }
        LOG.log(Level.DEBUG, "{0}: membership listener not called: executor shut down", name);
      }
    }

    private void drain() {
      while (true) {
        List<Member> next;
        synchronized (this) {
          next = pending;
          pending = null;
          if (next == null || closed) {
            scheduled = false;
            return;
          }
        }
        if (next.equals(last)) {
          continue;
        }
        last = next;
        try {
          listener.accept(next);
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, name + ": a membership listener failed", e);
        }
      }
    }

    @Override
    public void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        pending = null;
      }
      remove(this);
    }
  }

  /** Polls a membership: one call in flight at a time, the next one {@code interval} after. */
  private static final class Poller implements AutoCloseable {
    private final String name;
    private final Supplier<CompletableFuture<List<Member>>> members;
    private final long intervalMillis;
    private final ScheduledExecutorService timer;
    private final Sink sink;
    private volatile @Nullable ScheduledFuture<?> next;
    private volatile boolean closed;

    Poller(
        String name,
        Supplier<CompletableFuture<List<Member>>> members,
        long intervalMillis,
        ScheduledExecutorService timer,
        Sink sink) {
      this.name = name;
      this.members = members;
      this.intervalMillis = intervalMillis;
      this.timer = timer;
      this.sink = sink;
    }

    void schedule(long delayMillis) {
      if (closed) {
        return;
      }
      try {
        next = timer.schedule(this::poll, delayMillis, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        // the timer is shut down: nothing more to poll
      }
    }

    private void poll() {
      if (closed || !sink.active()) {
        return;
      }
      CompletableFuture<List<Member>> f;
      try {
        f = members.get();
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      f.orTimeout(POLL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .whenComplete(
              (list, err) -> {
                if (err == null) {
                  sink.members(list);
                } else {
                  LOG.log(
                      Level.DEBUG,
                      "{0}: membership poll failed, keeping the last list: {1}",
                      name,
                      BackendSupport.unwrap(err).toString());
                }
                schedule(intervalMillis);
              });
    }

    @Override
    public void close() {
      closed = true;
      ScheduledFuture<?> n = next;
      if (n != null) {
        n.cancel(false);
      }
    }
  }

  /** The threads every membership watch shares, made on first use. */
  private static final class Shared {
    static final ExecutorService DELIVERY =
        Executors.newCachedThreadPool(BackendSupport.daemonThreads("lockstep-membership-watch"));
    static final ScheduledExecutorService POLL =
        BackendSupport.housekeeping("lockstep-membership-poll");
  }
}
