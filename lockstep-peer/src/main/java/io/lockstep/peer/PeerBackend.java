package io.lockstep.peer;

import io.lockstep.BackendUnavailableException;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.CounterStore;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.Membership;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jgroups.Address;
import org.jgroups.BytesMessage;
import org.jgroups.JChannel;
import org.jgroups.Message;
import org.jgroups.Receiver;
import org.jgroups.View;
import org.jgroups.protocols.raft.RAFT;

/**
 * The embedded peer backend: the instances themselves are the source of truth, with no server to
 * run. Instances that share a cluster name form a JGroups group; a small fixed set of them, the
 * <em>voters</em> (3 or 5), run Raft (jgroups-raft) and commit every write by majority; every other
 * instance is a plain member of the same group. Create it with a URI (the {@code peer} scheme is
 * found by {@link PeerBackendProvider}).
 *
 * <h2>URI</h2>
 *
 * <pre>
 *   peer:                                   a group of one: this instance is the only voter
 *   peer://host:port,host:port,host:port    static discovery; the listed endpoints are the voters
 *   peer:file:/shared/folder?voters=a,b,c   discovery through a folder every instance can write
 *   peer:dns:name?voters=a,b,c              discovery through the A records of a DNS name
 *                                           (a Kubernetes headless service)
 * </pre>
 *
 * <p>Parameters, all optional unless said; any other is refused:
 *
 * <ul>
 *   <li>{@code bind=host:port}: this instance's own JGroups endpoint. Falls back to the environment
 *       variable {@code LOCKSTEP_PEER_BIND}. With a static list, an instance whose bind is written
 *       exactly as one of the listed endpoints is that voter; any other instance joins as a
 *       non-voter. Port 0 is any free port. Default: {@code 127.0.0.1:0} for {@code peer:},
 *       {@code peer:file:} and a list of loopback voters; {@code site_local:0} (the first
 *       site-local address) for other lists; {@code site_local:7800} for {@code peer:dns:}, where
 *       every instance must use the same port because A records carry none.
 *   <li>{@code voters=a,b,c}: required with {@code peer:file:} and {@code peer:dns:}, refused
 *       otherwise: the instance ids of the voters; an instance whose id is listed is that voter.
 *   <li>{@code cluster=name}: the JGroups cluster name; default the node's key prefix.
 *   <li>{@code data=folder}: where a voter keeps its Raft log, vote and snapshots (a non-voter keeps
 *       nothing on disk). Default {@code <java.io.tmpdir>/lockstep-peer/<cluster>-<voter id>}. A
 *       voter that restarts must find its folder again: Raft is only safe when a voter remembers
 *       its log and its vote.
 *   <li>{@code failure_timeout}: how long a member that has gone silent stays in the view ({@code
 *       3s}, {@code 10s}, {@code 1m}, ...; 1 s to 10 min); default 10 s. A closed connection is noticed at
 *       once.
 * </ul>
 *
 * <p>The Raft id of a voter is its entry in the voter list: {@code host:port} for a static list,
 * the name in {@code voters=} otherwise (for {@code peer:}, the instance id). Every voter must be
 * given the same voter list. The node's instance id names the instance in membership.
 *
 * <h2>How it works</h2>
 *
 * <ul>
 *   <li><b>Writes</b> go to the Raft leader (from a follower or a non-voter, as a message to it) and
 *       are committed by a majority of voters, with the log on disk and fsync on. The leader
 *       applies each committed entry to {@link MapStateMachine}, which decides compare-and-set and
 *       not-found there, and numbers the map's changes 1, 2, 3, ... ({@link
 *       RevisionModel#CONTIGUOUS}).
 *   <li><b>The feed.</b> After applying a change the leader multicasts it, with its revision, to
 *       every instance ({@link CommitPublisher}); each instance hands what it receives to its feed
 *       ({@link ChangeStream}). A jump in revisions is a gap: the engine re-lists. A new leader
 *       first re-sends its recent changes. Progress: an instance asks the leader, which multicasts
 *       its last revision after every change before it.
 *   <li><b>Listings and strong reads</b> are Raft log entries too, answered by the leader's state
 *       machine after every earlier entry: linearizable, and never older than an acknowledged write.
 *       (jgroups-raft 1.1.0 has no read index; a read costs one log append.)
 *   <li><b>Partitions.</b> Raft commits only with a majority of voters. An instance whose view
 *       holds fewer than a majority of the voters refuses writes, strong reads and listings at once
 *       with {@link BackendUnavailableException}; local reads keep serving what it has. When the
 *       groups merge, its feed sees a jump (or a progress mark above what it applied) and the engine
 *       re-lists from the majority.
 *   <li><b>Membership</b> comes from the views ({@link PeerMembership}).
 * </ul>
 *
 * <p>Thread safe. {@link #close()} leaves the group and stops every feed; the Raft log stays.
 */
public final class PeerBackend implements Backend {
  private static final System.Logger LOG = System.getLogger(PeerBackend.class.getName());
  private static final long RETRY_MILLIS = 20;
  private static final long STREAM_CHECK_RETRY_MILLIS = 200;
  private static final long STREAM_CHECK_MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private static final byte[] EMPTY = new byte[0];

  private final PeerSettings settings;
  private final String instanceId;
  private final JChannel channel;
  private final RAFT raft;
  private final MapStateMachine machine;
  private final CommitPublisher publisher;
  private final ChangeStream stream = new ChangeStream();
  private final PeerMembership membership;
  private final GroupLink link = new Link();
  private final GroupView group;
  private final ExecutorService sender;
  private final ExecutorService events;
  private final ExecutorService callbacks;
  private final ScheduledThreadPoolExecutor timer;
  private final Map<Long, Attempt> pending = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicBoolean progressQueued = new AtomicBoolean();
  private volatile boolean closed;

  private PeerBackend(PeerSettings settings, BackendContext context) {
    this.settings = settings;
    this.instanceId = context.instanceId();
    String name = "lockstep-peer-" + instanceId;
    this.sender = Executors.newSingleThreadExecutor(daemon(name + "-send"));
    this.events = Executors.newSingleThreadExecutor(daemon(name + "-events"));
    this.callbacks = Executors.newCachedThreadPool(daemon(name + "-callback"));
    this.timer = new ScheduledThreadPoolExecutor(1, daemon(name + "-timer"));
    timer.setRemoveOnCancelPolicy(true);
    this.membership = new PeerMembership(new Group());
    JChannel ch = null;
    try {
      if (settings.isVoter()) {
        Files.createDirectories(settings.dataDir());
        this.publisher = new CommitPublisher(sender, this::multicast);
        this.machine = new MapStateMachine(publisher);
      } else {
        this.publisher = null;
        this.machine = null;
      }
      ch = new JChannel(PeerStack.build(settings, this::onFullView));
      ch.setName(instanceId);
      this.channel = ch;
      if (settings.isVoter()) {
        this.raft = ch.getProtocolStack().findProtocol(RAFT.class);
      } else {
        this.raft = null;
      }
      this.group = new GroupView(settings, instanceId, raft, machine, publisher, link);
      if (raft != null) {
        raft.stateMachine(machine);
        raft.addRoleListener(group::onRole);
      }
      ch.setReceiver(new Inbox());
      ch.connect(settings.cluster());
    } catch (Exception e) {
      if (ch != null) {
        ch.close();
      }
      shutdownExecutors();
      throw new IllegalStateException("peer backend: could not join cluster '" + settings.cluster() + "' at "
          + settings.bind() + " as " + (settings.isVoter() ? "voter " + settings.selfVoter() : "a non-voter")
          + ": " + e, e);
    }
    LOG.log(Level.DEBUG, "{0}: joined {1} as {2}", instanceId, settings.cluster(),
        settings.isVoter() ? "voter " + settings.selfVoter() : "non-voter");
  }

  /**
   * Creates a backend and joins the group (this blocks for discovery, about a second and a half
   * when no other member answers).
   *
   * @throws IllegalArgumentException when the URI is not a valid peer URI (message names the part)
   * @throws IllegalStateException when the group cannot be joined (e.g. the bind port is taken)
   */
  public static PeerBackend create(BackendUri uri, BackendContext context) {
    return new PeerBackend(PeerSettings.parse(uri, context), context);
  }

  @Override
  public RevisionModel revisionModel() {
    return RevisionModel.CONTIGUOUS;
  }

  // ---------------------------------------------------------------------------------------------
  // The SPI
  // ---------------------------------------------------------------------------------------------

  /**
   * A listing through the Raft log, handed over only once the leader's multicasts are seen to reach
   * this instance: a listing is the start of following the map, and worth nothing to an instance
   * that the changes after it do not reach (the engine would call it ready and then wait for them
   * for ever). After the leader's answer, this instance asks the leader for a progress mark and
   * waits for it to arrive through the group; until it does, the listing fails as unavailable and
   * the engine tries again.
   */
  @Override
  public CompletableFuture<Snapshot> snapshot() {
    long deadline = System.nanoTime() + settings.operationTimeout().toNanos() - STREAM_CHECK_MARGIN_NANOS;
    return submit(Wire.listCommand(), false, "listing").thenApply(Wire::listing)
        .thenCompose(s -> afterStreamConfirmed(s, deadline));
  }

  /** Completes with {@code s} once a progress mark at or above its revision arrived through the group. */
  private CompletableFuture<Snapshot> afterStreamConfirmed(Snapshot s, long deadline) {
    CompletableFuture<Snapshot> done = new CompletableFuture<>();
    CompletableFuture<Long> mark = stream.nextProgress(s.revision());
    mark.whenCompleteAsync((rev, e) -> {
      if (e == null) {
        done.complete(s);
      } else {
        done.completeExceptionally(e);
      }
    }, callbacks);
    Runnable ask = new Runnable() {
      @Override
      public void run() {
        if (done.isDone()) {
          return;
        }
        if (closed || System.nanoTime() - deadline >= 0) {
          done.completeExceptionally(new BackendUnavailableException(closed ? "listing: peer backend closed"
              : "listing at revision " + s.revision() + " answered, but the leader's multicasts do not reach this "
              + "instance (no progress mark arrived; " + group.state() + ")", null));
          mark.cancel(false);
          return;
        }
        requestProgress();
        try {
          timer.schedule(this, STREAM_CHECK_RETRY_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
          done.completeExceptionally(new BackendUnavailableException("listing: peer backend closed", null));
          mark.cancel(false);
        }
      }
    };
    ask.run();
    return done;
  }

  @Override
  public Feed watch(long fromRevision, FeedListener listener) {
    if (fromRevision < 1) {
      throw new IllegalArgumentException("fromRevision: must be >= 1, was " + fromRevision);
    }
    PeerFeed feed = stream.open(fromRevision, listener, this::requestProgress);
    if (closed) {
      feed.fail(new BackendUnavailableException("peer backend closed", null));
    }
    return feed;
  }

  @Override
  public CompletableFuture<WriteResult> put(String key, byte[] value, String contentType, long expectedRevision) {
    checkExpected(expectedRevision);
    byte[] cmd = Wire.putCommand(key, expectedRevision, contentType, value);
    return submit(cmd, true, "put of '" + key + "'").thenApply(Wire::writeResult);
  }

  @Override
  public CompletableFuture<WriteResult> delete(String key, long expectedRevision) {
    checkExpected(expectedRevision);
    byte[] cmd = Wire.deleteCommand(key, expectedRevision);
    return submit(cmd, true, "delete of '" + key + "'").thenApply(Wire::writeResult);
  }

  /**
   * Cluster counters in the Raft state machine ({@link MapStateMachine}): an increment is one log
   * entry, applied in the log's total order on every voter; a read is a log entry too.
   */
  @Override
  public CounterStore counters() {
    return counters;
  }

  private final CounterStore counters = new CounterStore() {
    @Override
    public CompletableFuture<Long> incrementAndGet(String name, long delta) {
      byte[] cmd = Wire.counterAddCommand(name, delta);
      return submit(cmd, true, "increment of counter '" + name + "'").thenApply(Wire::counterValue);
    }

    @Override
    public CompletableFuture<Long> get(String name) {
      byte[] cmd = Wire.counterGetCommand(name);
      return submit(cmd, false, "read of counter '" + name + "'").thenApply(Wire::counterValue);
    }
  };

  @Override
  public CompletableFuture<StrongRead> get(String key) {
    byte[] cmd = Wire.getCommand(key);
    return submit(cmd, false, "strong read of '" + key + "'").thenApply(Wire::strongRead);
  }

  @Override
  public Membership membership() {
    return membership;
  }

  /** Leaves the group, fails what is in flight and stops every feed. The Raft log stays. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    BackendUnavailableException gone = new BackendUnavailableException("peer backend closed", null);
    stream.failAll(gone);
    for (Attempt a : List.copyOf(pending.values())) {
      a.fail(new BackendUnavailableException(a.what + ": peer backend closed", null, a.write && a.sent));
    }
    try {
      channel.close();
    } catch (RuntimeException e) {
      LOG.log(Level.DEBUG, "closing the channel failed", e);
    }
    shutdownExecutors();
  }

  @Override
  public String toString() {
    return "PeerBackend[" + settings.cluster() + ", " + group.role() + ", bind=" + settings.bind() + "]";
  }

  private static void checkExpected(long expected) {
    if (expected < ANY_REVISION) {
      throw new IllegalArgumentException("expectedRevision: must be >= 0 or ANY_REVISION, was " + expected);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Routing requests to the leader
  // ---------------------------------------------------------------------------------------------

  /**
   * Runs a command through Raft on the leader and returns the state machine's answer. Fails at once
   * when this instance's view lacks a majority of voters; waits (up to the operation timeout) for a
   * leader while one is being elected; retries where the leader moved before taking the command.
   */
  private CompletableFuture<byte[]> submit(byte[] cmd, boolean write, String what) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    if (closed) {
      result.completeExceptionally(new BackendUnavailableException(what + ": peer backend closed", null));
      return result;
    }
    Attempt a = new Attempt(cmd, write, what, result, System.nanoTime() + settings.operationTimeout().toNanos());
    try {
      ScheduledFuture<?> timeout = timer.schedule(() -> a.fail(new BackendUnavailableException(what
          + ": no answer within " + settings.operationTimeout().toMillis() + " ms (" + group.state() + ")", null,
          a.write && a.sent)), settings.operationTimeout().toNanos(), TimeUnit.NANOSECONDS);
      result.whenComplete((r, e) -> timeout.cancel(false));
    } catch (RejectedExecutionException e) {
      a.fail(new BackendUnavailableException(what + ": peer backend closed", null));
    }
    a.run();
    // Callers' stages run on our threads, never on JGroups' or Raft's.
    return result.whenCompleteAsync((r, e) -> { }, callbacks);
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

    Attempt(byte[] cmd, boolean write, String what, CompletableFuture<byte[]> result, long deadline) {
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
      if (closed) {
        fail(new BackendUnavailableException(what + ": peer backend closed", null, write && sent));
        return;
      }
      int have = group.votersInView();
      if (have < settings.majority()) {
        fail(new BackendUnavailableException(what + " refused: this instance sees " + have + " of "
            + settings.voters().size() + " voters, " + settings.majority() + " needed for a majority ("
            + group.state() + "); writes and strong reads fail on this side of a partition, local reads keep serving",
            null, false));
        return;
      }
      Address leader = group.leader();
      Address me = channel.getAddress();
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
      if (!send(to, Wire.request(reqId, cmd))) {
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
      f.whenComplete((r, e) -> {
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
            fail(new BackendUnavailableException(what + " failed on the leader: " + error, null, mayHaveCommitted));
          } else {
            retryLater();
          }
        }
      }
    }

    /** The instance this attempt was sent to left the view. */
    void onTargetGone() {
      if (write) {
        fail(new BackendUnavailableException(what + ": the leader left the view before answering ("
            + group.state() + ")", null, true));
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
        fail(new BackendUnavailableException(what + ": no leader within "
            + settings.operationTimeout().toMillis() + " ms (" + group.state() + ")", null, false));
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

  /** On the leader: a command from another instance. */
  private void onRequest(Address from, long reqId, byte[] cmd) {
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
    f.whenComplete((r, e) -> {
      if (e == null) {
        reply(from, Wire.replyOk(reqId, r == null ? EMPTY : r));
      } else {
        reply(from, Wire.replyFailed(reqId, String.valueOf(e), true));
      }
    });
  }

  private void reply(Address to, byte[] message) {
    send(to, message);
  }

  // ---------------------------------------------------------------------------------------------
  // Progress
  // ---------------------------------------------------------------------------------------------

  /** Asks the leader for a progress mark; false when no leader is known. */
  boolean requestProgress() {
    if (closed) {
      return false;
    }
    Address l = group.leader();
    if (l == null) {
      return false;
    }
    if (l.equals(channel.getAddress())) {
      queueProgress();
      return true;
    }
    return send(l, Wire.progressRequest());
  }

  /** On the leader: one progress multicast serves every request that arrives within a few ms. */
  private void queueProgress() {
    if (publisher != null && publisher.leading() && progressQueued.compareAndSet(false, true)) {
      try {
        timer.schedule(() -> {
          progressQueued.set(false);
          publisher.progress();
        }, 2, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        progressQueued.set(false);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Group events
  // ---------------------------------------------------------------------------------------------

  /** Every view, before Raft sees its voters-only form. Runs on a JGroups thread: no I/O here. */
  private void onFullView(View now) {
    View old = group.onView(now);
    for (Attempt a : List.copyOf(pending.values())) {
      if (a.target != null && !now.containsMember(a.target)) {
        a.onTargetGone();
      }
    }
    execute(events, () -> {
      membership.onView(old, now);
      group.greetNewcomers(old, now);
    });
  }

  private void onMessage(Message msg) {
    if (!(msg instanceof BytesMessage) || msg.getArray() == null) {
      return; // Raft traffic that reaches a non-voter, or something else that is not ours
    }
    byte[] b = msg.getArray();
    int off = msg.getOffset();
    int len = msg.getLength();
    byte type = Wire.messageType(b, off, len);
    if (type < 0) {
      return;
    }
    Address from = msg.getSrc();
    Wire.In in = Wire.body(b, off, len);
    try {
      switch (type) {
        case Wire.COMMIT -> {
          long rev = in.i64();
          stream.onCommit(rev, in.change(rev), len);
          group.noteLeader(from);
        }
        case Wire.PROGRESS -> {
          stream.onProgress(in.i64());
          group.noteLeader(from);
        }
        case Wire.PROGRESS_REQUEST -> queueProgress();
        case Wire.REQUEST -> {
          long reqId = in.i64();
          onRequest(from, reqId, in.bytes());
        }
        case Wire.REPLY -> {
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
        case Wire.ANNOUNCE -> membership.onAnnounce(from, in);
        case Wire.WITHDRAW -> membership.onWithdraw(from);
        case Wire.WHO_ARE_YOU -> membership.onQuery(from);
        case Wire.LEADER -> group.noteLeader(from);
        default -> LOG.log(Level.DEBUG, "{0}: unknown message type {1} from {2}", instanceId, type, from);
      }
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, instanceId + ": unreadable message from " + from, e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing
  // ---------------------------------------------------------------------------------------------

  private void multicast(byte[] message) {
    send(null, message);
  }

  /** Sends a message; false when it could not be handed to JGroups. */
  private boolean send(Address to, byte[] message) {
    if (closed) {
      return false;
    }
    try {
      channel.send(new BytesMessage(to, message));
      return true;
    } catch (Exception e) {
      if (!closed) {
        LOG.log(Level.DEBUG, "{0}: send to {1} failed: {2}", instanceId, to == null ? "all" : to, e.toString());
      }
      return false;
    }
  }

  private static void execute(ExecutorService ex, Runnable r) {
    try {
      ex.execute(r);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private void shutdownExecutors() {
    timer.shutdownNow();
    sender.shutdown();
    events.shutdown();
    callbacks.shutdown();
    try {
      sender.awaitTermination(1, TimeUnit.SECONDS);
      events.awaitTermination(1, TimeUnit.SECONDS);
      callbacks.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sender.shutdownNow();
    events.shutdownNow();
    callbacks.shutdownNow();
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  // For tests in this package.

  JChannel channel() {
    return channel;
  }

  PeerSettings settings() {
    return settings;
  }

  /** The full view (every instance), as this instance sees it. */
  View view() {
    return group.view();
  }

  boolean isLeader() {
    return group.isLeader();
  }

  /** The JGroups receiver: every message and view of the channel. */
  private final class Inbox implements Receiver {
    @Override
    public void receive(Message msg) {
      onMessage(msg);
    }
  }

  /** What the parts see of the channel. */
  private final class Link implements GroupLink {
    @Override
    public Address self() {
      return channel == null ? null : channel.getAddress();
    }

    @Override
    public boolean send(Address to, byte[] message) {
      return PeerBackend.this.send(to, message);
    }

    @Override
    public boolean closed() {
      return closed;
    }
  }

  /** What the membership sees of the group. */
  private final class Group implements PeerMembership.Group {
    @Override
    public Address self() {
      return channel == null ? null : channel.getAddress();
    }

    @Override
    public View view() {
      return group.view();
    }

    @Override
    public void send(Address to, byte[] message) {
      PeerBackend.this.send(to, message);
    }

    @Override
    public boolean closed() {
      return closed;
    }
  }
}
