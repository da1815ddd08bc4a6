package io.lockstep.internal;

import io.lockstep.Member;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Reads the membership every {@code interval}, each read bounded by {@code deadline}; a failed or
 * late read keeps the last list. This instance is always in the list (it may not be registered yet,
 * or may have left while still serving).
 */
public final class PollingMemberSource implements MemberSource {
  private static final System.Logger LOG = System.getLogger(PollingMemberSource.class.getName());

  private final Supplier<CompletableFuture<List<Member>>> read;
  private final Member self;
  private final Duration deadline;
  private final List<Consumer<List<Member>>> listeners = new CopyOnWriteArrayList<>();
  private final AtomicBoolean polling = new AtomicBoolean();
  private final ScheduledFuture<?> task;
  private final io.lockstep.@org.jspecify.annotations.Nullable Registration watch;
  private volatile List<Member> current;

  /**
   * @param watch where the backend tells of joins and leaves ({@code Lockstep::watchMembers}): each
   *     change reads the list at once, so the group learns of it within the backend's watch
   *     latency; the poll every {@code interval} stays as the fallback; null: polling only
   */
  public PollingMemberSource(
      Supplier<CompletableFuture<List<Member>>> read,
      java.util.function.@org.jspecify.annotations.Nullable Function<
              Consumer<List<Member>>, io.lockstep.Registration>
          watch,
      Member self,
      Duration interval,
      Duration deadline,
      ScheduledExecutorService timer) {
    this.read = read;
    this.self = self;
    this.deadline = deadline;
    this.current = List.of(self);
    poll().join(); // the first list, before the group serves (bounded by the deadline)
    this.task =
        timer.scheduleWithFixedDelay(
            () -> poll(), interval.toNanos(), interval.toNanos(), TimeUnit.NANOSECONDS);
    this.watch = watch == null ? null : watch.apply(members -> poll());
  }

  private CompletableFuture<Void> poll() {
    if (!polling.compareAndSet(false, true)) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<List<Member>> f;
    try {
      f = read.get();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    return f.orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS)
        .handle(
            (list, err) -> {
              polling.set(false);
              if (err != null) {
                LOG.log(Level.DEBUG, "membership read failed, keeping the last list: {0}", err);
                return null;
              }
              List<Member> next = withSelf(list);
              if (!sameIds(next, current)) {
                current = next;
                for (Consumer<List<Member>> l : listeners) {
                  try {
                    l.accept(next);
                  } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "membership listener failed", e);
                  }
                }
              }
              return null;
            });
  }

  private List<Member> withSelf(List<Member> list) {
    for (Member m : list) {
      if (m.id().equals(self.id())) {
        return List.copyOf(list);
      }
    }
    java.util.ArrayList<Member> l = new java.util.ArrayList<>(list);
    l.add(self);
    return List.copyOf(l);
  }

  private static boolean sameIds(List<Member> a, List<Member> b) {
    if (a.size() != b.size()) {
      return false;
    }
    java.util.Map<String, String> m = new java.util.HashMap<>();
    for (Member x : a) {
      m.put(x.id(), x.url());
    }
    for (Member y : b) {
      if (!y.url().equals(m.get(y.id()))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public List<Member> current() {
    return current;
  }

  @Override
  public void onChange(Consumer<List<Member>> listener) {
    listeners.add(listener);
  }

  @Override
  public void close() {
    task.cancel(false);
    if (watch != null) {
      watch.close();
    }
  }
}
