package io.lockstep.peer;

import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * Spreads committed map changes from the leader to every instance, voters and non-voters alike.
 *
 * <p>jgroups-raft tells followers about commits late (about a second) or floods them, so the leader
 * multicasts each change itself, with its revision, right after applying it, on the thread that
 * applied it (Raft's). Sends are made under this object's lock, in the order of the calls, and
 * JGroups keeps one sender's multicasts in order, so receivers see this leader's changes in
 * revision order, then its progress marks. A send only hands the message to JGroups and never
 * blocks: no flow control on multicasts, and TCP_NIO2 queues what a connection cannot take yet
 * ({@link PeerStack}). (An executor of its own used to make the sends: one thread hand-off more on
 * every commit, on the path of every write, for no gain.)
 *
 * <p>A voter keeps its last {@value #RING} applied changes, whether it leads or not. When it
 * becomes leader it re-sends them first (the previous leader may have died between committing a
 * change and multicasting it to everyone), then carries on with what it commits. Receivers drop
 * what they already have. Thread safe.
 */
final class CommitPublisher {
  private static final System.Logger LOG = System.getLogger(CommitPublisher.class.getName());
  static final int RING = 256;

  private final Consumer<byte[]> multicast;
  private final Object lock = new Object();
  private final ArrayDeque<Sent> ring = new ArrayDeque<>();
  private long lastApplied; // guarded by lock
  private boolean leading; // guarded by lock
  private long lastSent; // guarded by lock
  private volatile boolean isLeading;

  private record Sent(long revision, byte[] message) {}

  CommitPublisher(Consumer<byte[]> multicast) {
    this.multicast = multicast;
  }

  /** A map change was applied at {@code revision}; multicast when leading. */
  void applied(long revision, byte[] message) {
    synchronized (lock) {
      lastApplied = revision;
      ring.addLast(new Sent(revision, message));
      if (ring.size() > RING) {
        ring.removeFirst();
      }
      if (leading) {
        send(message);
        lastSent = Math.max(lastSent, revision);
      }
    }
  }

  /**
   * The state machine was replaced by a snapshot at {@code revision}: history before it is gone.
   */
  void reset(long revision) {
    synchronized (lock) {
      ring.clear();
      lastApplied = revision;
    }
  }

  void becameLeader() {
    synchronized (lock) {
      if (leading) {
        return;
      }
      leading = true;
      isLeading = true;
      for (Sent s : ring) {
        send(s.message());
      }
      lastSent = Math.max(lastSent, lastApplied);
    }
  }

  void lostLeadership() {
    synchronized (lock) {
      leading = false;
      isLeading = false;
    }
  }

  boolean leading() {
    return isLeading;
  }

  /** Multicasts a progress mark, ordered after every change queued so far. */
  void progress() {
    synchronized (lock) {
      if (leading) {
        send(Wire.out().message(Wire.PROGRESS).i64(lastSent).toBytes());
      }
    }
  }

  /** Under the lock. */
  private void send(byte[] message) {
    try {
      multicast.accept(message);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "multicast of committed changes failed", e);
    }
  }
}
