package io.lockstep.peer;

import io.lockstep.BackendUnavailableException;
import io.lockstep.spi.BackendSupport;
import io.lockstep.spi.Snapshot;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jgroups.Address;
import org.jgroups.View;
import org.jgroups.protocols.raft.RAFT;

/**
 * This instance's client of the Raft leader: owns the commands on their way to it. A command runs
 * through Raft here when this instance leads, else goes as a {@link Wire#REQUEST} to the leader (to
 * any voter while none is known), and is tried again while a leader is elected or moves, up to the
 * operation timeout; attempts waiting for a reply are kept by request id, and redirects are
 * followed. On the leader it answers other instances' requests and sends progress marks; elsewhere
 * it asks the leader for them, and a listing waits for one. Owns two executors: the timer
 * (timeouts, retries, progress) and the callback threads that callers' stages run on. Thread safe.
 */
final class LeaderClient {
  private static final long RETRY_MILLIS = 20;
  private static final long STREAM_CHECK_RETRY_MILLIS = 200;
  private static final byte[] EMPTY = new byte[0];

  private final PeerSettings settings;
  private final RAFT raft; // null on a non-voter
  private final CommitPublisher publisher; // null on a non-voter
  private final ChangeStream stream;
  private final GroupView group;
  private final GroupLink link;
  private final ExecutorService callbacks;
  private final ScheduledThreadPoolExecutor timer;
  private final Map<Long, Attempt> pending = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicBoolean progressQueued = new AtomicBoolean();

  /** {@code name} starts the names of its threads. */
  LeaderClient(
      String name,
      PeerSettings settings,
      RAFT raft,
      CommitPublisher publisher,
      ChangeStream stream,
      GroupView group,
      GroupLink link) {
    this.settings = settings;
    this.raft = raft;
    this.publisher = publisher;
    this.stream = stream;
    this.group = group;
    this.link = link;
    this.callbacks =
        Executors.newCachedThreadPool(BackendSupport.daemonThreads(name + "-callback"));
    this.timer = BackendSupport.housekeeping(name + "-timer");
  }

  // ---------------------------------------------------------------------------------------------
  // Commands
  // ---------------------------------------------------------------------------------------------

  /**
   * Runs a command through Raft on the leader and returns the state machine's answer. Fails at once
   * when this instance's view lacks a majority of voters; waits (up to the operation timeout) for a
   * leader while one is being elected; retries where the leader moved before taking the command.
   */
  CompletableFuture<byte[]> submit(byte[] cmd, boolean write, String what) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    if (link.closed()) {
      result.completeExceptionally(
          new BackendUnavailableException(what + ": peer backend closed", null));
      return result;
    }
    Attempt a =
        new Attempt(
            cmd, write, what, result, System.nanoTime() + settings.operationTimeout().toNanos());
    try {
      ScheduledFuture<?> timeout =
          timer.schedule(
              () ->
                  a.fail(
                      new BackendUnavailableException(
                          what
                              + ": no answer within "
                              + settings.operationTimeout().toMillis()
                              + " ms ("
                              + group.state()
                              + ")",
                          null,
                          a.write && a.sent)),
              settings.operationTimeout().toNanos(),
              TimeUnit.NANOSECONDS);
      result.whenComplete((r, e) -> timeout.cancel(false));
    } catch (RejectedExecutionException e) {
      a.fail(new BackendUnavailableException(what + ": peer backend closed", null));
    }
    a.run();
    // Callers' stages run on our threads, never on JGroups' or Raft's.
    return result.whenCompleteAsync((r, e) -> {}, callbacks);
  }

  /** One command on its way to the leader. */
  private final class Attempt {
    final byte[] cmd;
    final boolean write;
    final String what;
    final CompletableFuture<byte[]> result;
    final long deadline;
    volatile boolean sent;
    volatile long id;
    volatile Address target;

    Attempt(
        byte[] cmd, boolean write, String what, CompletableFuture<byte[]> result, long deadline) {
      this.cmd = cmd;
      this.write = write;
      this.what = what;
      this.result = result;
      this.deadline = deadline;
    }

    void run() {
      if (result.isDone()) {
        return;
      }
      if (link.closed()) {
        fail(new BackendUnavailableException(what + ": peer backend closed", null, write && sent));
        return;
      }
      int have = group.votersInView();
      if (have < settings.majority()) {
        fail(
            new BackendUnavailableException(
                what
                    + " refused: this instance sees "
                    + have
                    + " of "
                    + settings.voters().size()
                    + " voters, "
                    + settings.majority()
                    + " needed for a majority ("
                    + group.state()
                    + "); writes and strong reads fail on this side of a partition, local reads keep serving",
                null,
                false));
        return;
      }
      Address leader = group.leader();
      Address me = link.self();
      if (leader != null && leader.equals(me)) {
        runHere();
        return;
      }
      Address to = leader != null ? leader : group.anyVoter();
      if (to == null || to.equals(me)) {
        retryLater();
        return;
      }
      long reqId = ids.incrementAndGet();
      id = reqId;
      target = to;
      pending.put(reqId, this);
      sent = true;
      if (!link.send(to, Wire.request(reqId, cmd))) {
        pending.remove(reqId);
        retryLater();
      }
    }

    private void runHere() {
      CompletableFuture<byte[]> f;
      try {
        f = raft.setAsync(cmd, 0, cmd.length, null);
      } catch (Exception notLeader) {
        retryLater(); // not appended: safe to send again
        return;
      }
      sent = true;
      f.whenComplete(
          (r, e) -> {
            if (e == null) {
              complete(r);
            } else if (!write) {
              retryLater();
            } else {
              fail(new BackendUnavailableException(what + " failed on the leader: " + e, e, true));
            }
          });
    }

    void onReply(byte outcome, Wire.In in) throws IOException {
      switch (outcome) {
        case Wire.OK -> complete(in.bytes());
        case Wire.NOT_LEADER -> {
          group.onRedirect(in.address());
          retryLater();
        }
        default -> {
          String error = in.str();
          boolean mayHaveCommitted = in.bool();
          if (write) {
            fail(
                new BackendUnavailableException(
                    what + " failed on the leader: " + error, null, mayHaveCommitted));
          } else {
            retryLater();
          }
        }
      }
    }

    /** The instance this attempt was sent to left the view. */
    void onTargetGone() {
      if (write) {
        fail(
            new BackendUnavailableException(
                what + ": the leader left the view before answering (" + group.state() + ")",
                null,
                true));
      } else {
        retryLater();
      }
    }

    void retryLater() {
      forget();
      if (result.isDone()) {
        return;
      }
      if (System.nanoTime() - deadline >= 0) {
        fail(
            new BackendUnavailableException(
                what
                    + ": no leader within "
                    + settings.operationTimeout().toMillis()
                    + " ms ("
                    + group.state()
                    + ")",
                null,
                false));
        return;
      }
      try {
        timer.schedule(this::run, RETRY_MILLIS, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        fail(new BackendUnavailableException(what + ": peer backend closed", null, false));
      }
    }

    void complete(byte[] r) {
      forget();
      result.complete(r == null ? EMPTY : r);
    }

    void fail(Throwable t) {
      forget();
      result.completeExceptionally(t);
    }

    private void forget() {
      long i = id;
      if (i != 0) {
        pending.remove(i, this);
      }
    }
  }

  /** On the leader: a command from another instance (a {@link Wire#REQUEST}'s body). */
  void onRequest(Address from, Wire.In in) throws IOException {
    long reqId = in.i64();
    byte[] cmd = in.bytes();
    if (raft == null) {
      reply(from, Wire.replyNotLeader(reqId, null));
      return;
    }
    CompletableFuture<byte[]> f;
    try {
      f = raft.setAsync(cmd, 0, cmd.length, null);
    } catch (Exception notLeader) {
      Address l = raft.leader();
      reply(from, Wire.replyNotLeader(reqId, l));
      return;
    }
    f.whenComplete(
        (r, e) -> {
          if (e == null) {
            reply(from, Wire.replyOk(reqId, r == null ? EMPTY : r));
          } else {
            reply(from, Wire.replyFailed(reqId, String.valueOf(e), true));
          }
        });
  }

  private void reply(Address to, byte[] message) {
    link.send(to, message);
  }

  /** The answer to one of this instance's requests (a {@link Wire#REPLY}'s body). */
  void onReply(Address from, Wire.In in) throws IOException {
    long reqId = in.i64();
    byte outcome = in.tag();
    Attempt a = pending.get(reqId);
    if (outcome == Wire.OK) {
      group.noteLeader(from); // only the leader answers a command
    }
    if (a != null) {
      a.onReply(outcome, in);
    }
  }

  /** A new view: the attempts sent to an instance that left it will get no answer. */
  void onView(View now) {
    for (Attempt a : List.copyOf(pending.values())) {
      if (a.target != null && !now.containsMember(a.target)) {
        a.onTargetGone();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Progress
  // ---------------------------------------------------------------------------------------------

  /** Asks the leader for a progress mark; false when no leader is known. */
  boolean requestProgress() {
    if (link.closed()) {
      return false;
    }
    Address l = group.leader();
    if (l == null) {
      return false;
    }
    if (l.equals(link.self())) {
      queueProgress();
      return true;
    }
    return link.send(l, Wire.progressRequest());
  }

  /** On the leader: one progress multicast serves every request that arrives within a few ms. */
  void queueProgress() {
    if (publisher != null && publisher.leading() && progressQueued.compareAndSet(false, true)) {
      try {
        timer.schedule(
            () -> {
              progressQueued.set(false);
              publisher.progress();
            },
            2,
            TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        progressQueued.set(false);
      }
    }
  }

  /**
   * Completes with {@code s} once a progress mark at or above its revision arrived through the
   * group.
   */
  CompletableFuture<Snapshot> afterStreamConfirmed(Snapshot s, long deadline) {
    CompletableFuture<Snapshot> done = new CompletableFuture<>();
    CompletableFuture<Long> mark = stream.nextProgress(s.revision());
    mark.whenCompleteAsync(
        (rev, e) -> {
          if (e == null) {
            done.complete(s);
          } else {
            done.completeExceptionally(e);
          }
        },
        callbacks);
    Runnable ask =
        new Runnable() {
          @Override
          public void run() {
            if (done.isDone()) {
              return;
            }
            if (link.closed() || System.nanoTime() - deadline >= 0) {
              done.completeExceptionally(
                  new BackendUnavailableException(
                      link.closed()
                          ? "listing: peer backend closed"
                          : "listing at revision "
                              + s.revision()
                              + " answered, but the leader's multicasts do not reach this "
                              + "instance (no progress mark arrived; "
                              + group.state()
                              + ")",
                      null));
              mark.cancel(false);
              return;
            }
            requestProgress();
            try {
              timer.schedule(this, STREAM_CHECK_RETRY_MILLIS, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
              done.completeExceptionally(
                  new BackendUnavailableException("listing: peer backend closed", null));
              mark.cancel(false);
            }
          }
        };
    ask.run();
    return done;
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle
  // ---------------------------------------------------------------------------------------------

  /** The backend closed: fails every command in flight. */
  void close() {
    for (Attempt a : List.copyOf(pending.values())) {
      a.fail(
          new BackendUnavailableException(
              a.what + ": peer backend closed", null, a.write && a.sent));
    }
  }

  /**
   * Stops the timer at once and takes no more callbacks; returns the callback executor, shut down
   * but maybe still finishing what it has, for the backend to wait for.
   */
  ExecutorService shutdown() {
    timer.shutdownNow();
    callbacks.shutdown();
    return callbacks;
  }
}
