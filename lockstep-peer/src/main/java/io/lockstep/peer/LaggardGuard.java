package io.lockstep.peer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.Message;
import org.jgroups.View;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.stack.Protocol;
import org.jgroups.util.MessageBatch;
import org.jgroups.util.Table;
import org.jspecify.annotations.Nullable;

/**
 * Suspects, early, a member that has gone silent while what this instance keeps for it grows.
 *
 * <p>There is no multicast flow control (see {@link PeerStack}): a member that stops reading
 * without closing its sockets (SIGSTOP, a long GC pause) delays no one, but until it leaves the
 * view every instance's NAKACK2 keeps all it multicast (stability needs every member), and failure
 * detection alone takes {@code failure_timeout} plus verification, 11.5 s by default. Under 20 KB
 * writes at full speed that held 85 MB on the leader, whose heap was 192 MB.
 *
 * <p>This protocol, just above the transport, notes when each member was last heard from (any
 * message; FD_ALL3 sends heartbeats every {@code failure_timeout / 5}). Every {@value
 * #CHECK_MILLIS} ms, when NAKACK2 holds more than {@code maxRetained} bytes, every member silent
 * for longer than {@code silence} is passed up as suspected: VERIFY_SUSPECT2 asks it whether it is
 * alive, and excludes it if it does not answer in time, exactly as with FD_ALL3's suspicions. A
 * live member answers and stays. Thread safe.
 */
final class LaggardGuard extends Protocol {
  static final long CHECK_MILLIS = 250;

  private final long maxRetained;
  private final long silenceNanos;
  private final Map<Address, Long> lastHeard = new ConcurrentHashMap<>();
  private volatile List<Address> members = List.of();
  private List<Address> lastSuspected = List.of(); // timer thread only
  private volatile @Nullable Future<?> task;
  private volatile @Nullable NAKACK2 nakack;

  LaggardGuard(long maxRetained, long silenceMillis) {
    this.maxRetained = maxRetained;
    this.silenceNanos = TimeUnit.MILLISECONDS.toNanos(silenceMillis);
  }

  @Override
  public void start() throws Exception {
    super.start();
    nakack = getProtocolStack().findProtocol(NAKACK2.class);
    task =
        getTransport()
            .getTimer()
            .scheduleWithFixedDelay(
                this::check, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS, false);
  }

  @Override
  public void stop() {
    Future<?> t = task;
    if (t != null) {
      t.cancel(false);
    }
    super.stop();
  }

  @Override
  public Object up(Message msg) {
    heard(msg.getSrc());
    return up_prot.up(msg);
  }

  @Override
  public void up(MessageBatch batch) {
    heard(batch.sender());
    up_prot.up(batch);
  }

  @Override
  public Object up(Event evt) {
    if (evt.getType() == Event.VIEW_CHANGE) {
      viewChanged(evt.arg());
    }
    return up_prot.up(evt);
  }

  @Override
  public Object down(Event evt) {
    if (evt.getType() == Event.VIEW_CHANGE) {
      viewChanged(evt.arg());
    }
    return down_prot.down(evt);
  }

  private void viewChanged(View v) {
    long now = System.nanoTime();
    members = List.copyOf(v.getMembers());
    lastHeard.keySet().retainAll(members);
    for (Address a : members) {
      lastHeard.putIfAbsent(a, now); // a new member counts as heard from when it joins
    }
  }

  private void heard(@Nullable Address from) {
    if (from != null) {
      lastHeard.put(from, System.nanoTime());
    }
  }

  /**
   * Bytes of this instance's own multicasts that NAKACK2 keeps for retransmission (until every
   * member has them: STABLE). NAKACK2's own figure (getSizeOfAllMessages) counts only messages not
   * yet delivered, and a receiver drops what it delivered, so the sender's window is where a silent
   * member's cost shows. An estimate: read without NAKACK2's lock.
   */
  private long retainedBytes(@Nullable NAKACK2 n) {
    Address self = local_addr;
    Table<Message> own = n == null || self == null ? null : n.getWindow(self);
    if (own == null) {
      return 0;
    }
    long[] bytes = {0};
    own.forEach(
        own.getLow() + 1,
        own.getHighestReceived(),
        (seqno, msg, row, column) -> {
          if (msg != null) {
            bytes[0] += msg.getLength();
          }
          return true;
        });
    return bytes[0];
  }

  private void check() {
    try {
      NAKACK2 n = nakack;
      long retained = retainedBytes(n);
      if (n == null || retained <= maxRetained) {
        return;
      }
      long now = System.nanoTime();
      List<Address> silent = new ArrayList<>();
      for (Address a : members) {
        Long t = lastHeard.get(a);
        if (!a.equals(local_addr) && t != null && now - t > silenceNanos) {
          silent.add(a);
        }
      }
      if (silent.isEmpty()) {
        lastSuspected = List.of();
      } else {
        if (!silent.equals(lastSuspected)) {
          log.warn(
              "%s: suspecting %s: silent for over %d ms while %d bytes are kept for the group",
              local_addr, silent, TimeUnit.NANOSECONDS.toMillis(silenceNanos), retained);
        }
        lastSuspected = silent;
        up_prot.up(new Event(Event.SUSPECT, silent));
      }
    } catch (RuntimeException e) {
      log.warn("%s: checking for silent members failed: %s", local_addr, e);
    }
  }
}
