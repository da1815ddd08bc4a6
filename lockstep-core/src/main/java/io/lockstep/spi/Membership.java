package io.lockstep.spi;

import io.lockstep.Member;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Registration of live instances. A registration lives while its owner does (a lease, a TTL, a
 * view) and disappears on its own after the owner dies.
 *
 * <p>Besides listing the members ({@link #members()}), a membership can be watched ({@link
 * #watch}): a listener is told the full member list at the start and after every join, leave and
 * expiry. How soon depends on the backend; the bundled ones state their bounds in their
 * documentation (etcd watches its records, Redis hears a message on every registration and
 * deregistration and checks for expired records twice a second, the peer backend follows the
 * group's views; a crashed instance is seen gone when its lease, TTL or failure detection runs
 * out).
 */
public interface Membership {

  /** Registers {@code self} and keeps it alive until the registration is closed. */
  CompletableFuture<Registration> register(Member self);

  /** The members registered now. */
  CompletableFuture<List<Member>> members();

  /**
   * Watches the membership: {@code listener} is called with the full list of members, sorted by id,
   * as soon as it is known, then again each time it changes (a join, a leave, an expiry, a record
   * replaced), never twice in a row with the same list. Calls come one at a time, on a thread of
   * the membership's own (never a backend client's I/O thread); changes that arrive during a call
   * are folded into the next one, so a listener always gets the current list but may not see every
   * step. A failure of the backend keeps the last list until the backend answers again (an outage
   * is not reported as an empty membership).
   *
   * <p>Closing the result stops the calls: none starts after its {@code close()} returns.
   *
   * <p>The default polls {@link #members()} every {@link MemberWatchers#DEFAULT_POLL_INTERVAL} on
   * one shared daemon thread, so changes are seen within that interval plus one listing. A backend
   * with events of its own overrides it, feeding a {@link MemberWatchers}.
   */
  default io.lockstep.Registration watch(Consumer<List<Member>> listener) {
    return MemberWatchers.polling(
            getClass().getName(), this::members, MemberWatchers.DEFAULT_POLL_INTERVAL)
        .watch(listener);
  }

  /** A live registration. Closing removes it. */
  interface Registration extends AutoCloseable {
    @Override
    void close();
  }
}
