package io.lockstep.redis;

import io.lockstep.Member;
import io.lockstep.spi.MemberWatchers;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The membership's event source for {@link MemberWatchers}. Redis tells nobody when a key expires
 * unless the server is configured to (keyspace notifications), so this does not rely on it:
 *
 * <ul>
 *   <li>a registration and a deregistration each publish the member's id on {@code
 *       <ns>:membership}; the message makes this watch list the records at once ({@code SCAN},
 *       {@code MGET}), so joins and clean leaves are seen within a round trip or two;
 *   <li>every {@link #TICK_MILLIS} ms it reads the records it knows ({@code MGET}, one command
 *       whatever the size of the database), so an expired record (a crashed instance) is seen gone
 *       at most that long after it expired, {@code member_ttl} after the instance's last refresh;
 *   <li>every {@link #FULL_EVERY} ticks, and after the subscription was lost, it lists the records
 *       again, which finds a join whose message was lost (and a record that expired and was set
 *       again by its refresh).
 * </ul>
 *
 * <p>One command at a time; a message during one makes the next a full listing. A failed command
 * keeps the last list and tries again on the next tick. Thread safe.
 */
final class RedisMembersWatch implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(RedisMembership.class.getName());

  static final long TICK_MILLIS = 500;
  static final int FULL_EVERY = 10;

  private final RedisBackend backend;
  private final RedisMembership membership;
  private final MemberWatchers.Sink sink;
  private final AtomicBoolean fullDue = new AtomicBoolean(true);
  private final AtomicBoolean busy = new AtomicBoolean();
  private final AtomicInteger ticks = new AtomicInteger();
  private volatile boolean subscribed;
  private volatile boolean closed;
  private volatile List<Member> known = List.of();
  private volatile ScheduledFuture<?> task;

  RedisMembersWatch(RedisBackend backend, RedisMembership membership, MemberWatchers.Sink sink) {
    this.backend = backend;
    this.membership = membership;
    this.sink = sink;
  }

  void start() {
    subscribe();
    task = backend.scheduleAtFixedRate(this::tick, TICK_MILLIS);
    tick();
  }

  private void subscribe() {
    backend
        .subscribeMembership()
        .whenComplete(
            (ok, err) -> {
              if (err != null) {
                LOG.log(Level.DEBUG, "membership subscription failed: {0}", err.toString());
                return; // the next full listing tries again
              }
              subscribed = true;
              fullDue.set(true); // whatever was announced before the subscription
              tick();
            });
  }

  /** Someone registered or left. */
  void onMessage() {
    fullDue.set(true);
    tick();
  }

  /** The subscription's connection went away: messages may be lost until it is back. */
  void onDisconnected() {
    subscribed = false;
    fullDue.set(true);
  }

  /** One step: a full listing when due, otherwise a check of the records known. */
  private void tick() {
    if (closed || !busy.compareAndSet(false, true)) {
      return;
    }
    boolean full = fullDue.getAndSet(false) || ticks.incrementAndGet() % FULL_EVERY == 0;
    if (full && !subscribed) {
      subscribe(); // Lettuce resubscribes after a reconnect, but a new connection needs it
    }
    List<Member> last = known;
    CompletableFuture<List<Member>> f;
    try {
      f = full ? membership.members() : membership.present(last);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (list, err) -> {
          if (err != null) {
            if (full) {
              fullDue.set(true);
            }
            LOG.log(
                Level.DEBUG,
                "membership watch: {0} failed, keeping the last list: {1}",
                full ? "listing" : "check",
                err.toString());
          } else if (!closed) {
            known = list;
            sink.members(list);
          }
          busy.set(false);
          if (err == null && fullDue.get()) {
            tick(); // a message came during this command
          }
        });
  }

  @Override
  public void close() {
    closed = true;
    membership.forget(this);
    ScheduledFuture<?> t = task;
    if (t != null) {
      t.cancel(false);
    }
  }
}
