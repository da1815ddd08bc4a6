package io.lockstep.peer;

import io.lockstep.BackendUnavailableException;
import io.lockstep.Member;
import io.lockstep.spi.MemberWatchers;
import io.lockstep.spi.Membership;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.jgroups.Address;
import org.jgroups.View;

/**
 * Membership from the group's views. A registration is a multicast of the member's record (id, URL,
 * start time); each registered instance sends its record again to every instance that joins its
 * view, so a newcomer learns everyone. A record lives while its sender is in the view: an instance
 * that dies or is cut off leaves the view, and its record goes with it. {@link #members()} lists
 * the registered instances of the current view, as this instance sees it (during a partition, its
 * side). A record pushed to an instance that had not finished joining can be lost, so on every view
 * an instance also asks each member it has no record of; a registered member answers with its
 * record. Thread safe.
 *
 * <p>{@link #watch} is told the same list after every change of it: a record that arrives or is
 * withdrawn, and every view. So a join is seen once the newcomer is in the view and its record has
 * arrived (its announcement, or the answer to a query: milliseconds after its join completes); a
 * clean leave at once (its withdrawal, then the view without it); a crashed instance when failure
 * detection drops it from the view: at once when its process ended (its sockets close, FD_SOCK2),
 * within {@code failure_timeout} when it hangs or is cut off (FD_ALL3).
 */
final class PeerMembership implements Membership {
  /** What the membership needs from the backend. */
  interface Group {
    Address self();

    View view();

    void send(Address to, byte[] message);

    boolean closed();
  }

  private final Group group;
  private final Map<Address, Member> records = new ConcurrentHashMap<>();
  private final Set<MemberWatchers.Sink> sinks = ConcurrentHashMap.newKeySet();
  private final MemberWatchers watchers;
  private volatile Member self;

  PeerMembership(Group group, String name) {
    this.group = group;
    this.watchers =
        new MemberWatchers(
            "peer " + name,
            sink -> {
              sinks.add(sink);
              changed();
              return () -> sinks.remove(sink);
            });
  }

  @Override
  public io.lockstep.Registration watch(Consumer<List<Member>> listener) {
    return watchers.watch(listener);
  }

  /** Stops every watch (backend shutdown). */
  void closeWatches() {
    watchers.close();
  }

  /**
   * Tells the watches the list as it is now. Under one lock, so the last list told is the newest:
   * no I/O and no user code here (the sinks only hand the list over).
   */
  private synchronized void changed() {
    if (sinks.isEmpty()) {
      return;
    }
    List<Member> now = current();
    for (MemberWatchers.Sink s : sinks) {
      s.members(now);
    }
  }

  @Override
  public CompletableFuture<Registration> register(Member member) {
    if (group.closed()) {
      return CompletableFuture.failedFuture(
          new BackendUnavailableException("peer backend closed", null));
    }
    self = member;
    Address me = group.self();
    if (me != null) {
      records.put(me, member);
    }
    changed();
    group.send(null, announce(member));
    return CompletableFuture.completedFuture(
        () -> {
          if (self == member) {
            self = null;
            Address a = group.self();
            if (a != null) {
              records.remove(a);
            }
            changed();
            if (!group.closed()) {
              group.send(null, Wire.out().message(Wire.WITHDRAW).str(member.id()).toBytes());
            }
          }
        });
  }

  @Override
  public CompletableFuture<List<Member>> members() {
    if (group.closed()) {
      return CompletableFuture.failedFuture(
          new BackendUnavailableException("peer backend closed", null));
    }
    return CompletableFuture.completedFuture(current());
  }

  /** The registered instances of the current view. */
  private List<Member> current() {
    View v = group.view();
    List<Member> out = new ArrayList<>();
    if (v != null) {
      for (Address a : v) {
        Member m = records.get(a);
        if (m != null) {
          out.add(m);
        }
      }
    }
    return out;
  }

  void onAnnounce(Address from, Wire.In in) throws java.io.IOException {
    String id = in.str();
    String url = in.str();
    long seconds = in.i64();
    int nanos = in.i32();
    records.put(from, new Member(id, url, Instant.ofEpochSecond(seconds, nanos)));
    changed();
  }

  void onWithdraw(Address from) {
    records.remove(from);
    changed();
  }

  /** Someone has no record of this instance. */
  void onQuery(Address from) {
    Member me = self;
    if (me != null) {
      group.send(from, announce(me));
    }
  }

  /** A new view: forget who left; tell newcomers who we are; ask those we know nothing of. */
  void onView(View old, View now) {
    records
        .keySet()
        .removeIf(a -> !now.containsMember(a) && (old == null || old.containsMember(a)));
    changed();
    Address mine = group.self();
    Member me = self;
    if (me != null) {
      for (Address a : View.newMembers(old, now)) {
        if (!a.equals(mine)) {
          group.send(a, announce(me));
        }
      }
    }
    byte[] query = Wire.out().message(Wire.WHO_ARE_YOU).toBytes();
    for (Address a : now) {
      if (!a.equals(mine) && !records.containsKey(a)) {
        group.send(a, query);
      }
    }
  }

  private static byte[] announce(Member m) {
    return Wire.out()
        .message(Wire.ANNOUNCE)
        .str(m.id())
        .str(m.url())
        .i64(m.startedAt().getEpochSecond())
        .i32(m.startedAt().getNano())
        .toBytes();
  }
}
