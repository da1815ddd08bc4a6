package io.lockstep.peer;

import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;

/**
 * Spreads committed map changes from the leader to every instance, voters and non-voters alike.
 *
 * <p>jgroups-raft tells followers about commits late (about a second) or floods them, so the leader
 * multicasts each change itself, with its revision, right after applying it. All sends of one voter
 * go through one thread in the order they were queued, and JGroups keeps one sender's multicasts in
 * order, so receivers see this leader's changes in revision order, then its progress marks.
 *
 * <p>A voter keeps its last {@value #RING} applied changes, whether it leads or not. When it
 * becomes leader it re-sends them first (the previous leader may have died between committing a
 * change and multicasting it to everyone), then carries on with what it commits. Receivers drop
 * what they already have. Thread safe.
 */
final class CommitPublisher {
  private static final System.Logger LOG = System.getLogger(CommitPublisher.class.getName());
  static final int RING = 256;

  private final ExecutorService sender;
  private final Consumer<byte[]> multicast;
  private final Object lock = new Object();
  private final ArrayDeque<Sent> ring = new ArrayDeque<>();
  private long lastApplied; // guarded by lock
  private boolean leading; // guarded by lock
  private long lastSent; // sender thread only
  private volatile boolean isLeading;

  private record Sent(long revision, byte[] message) {}

  CommitPublisher(ExecutorService sender, Consumer<byte[]> multicast) {
    this.sender = sender;
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
        send(
            () -> {
              multicast.accept(message);
              lastSent = Math.max(lastSent, revision);
            });
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
      List<Sent> again = List.copyOf(ring);
      long upTo = lastApplied;
      send(
          () -> {
            for (Sent s : again) {
              multicast.accept(s.message());
            }
            lastSent = Math.max(lastSent, upTo);
          });
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
    send(
        () -> {
          if (isLeading) {
            multicast.accept(Wire.out().message(Wire.PROGRESS).i64(lastSent).toBytes());
          }
        });
  }

  private void send(Runnable task) {
    try {
      sender.execute(
          () -> {
            try {
              task.run();
            } catch (RuntimeException e) {
              LOG.log(Level.WARNING, "multicast of committed changes failed", e);
            }
          });
    } catch (RejectedExecutionException e) {
      // closed
    }
  }
}
