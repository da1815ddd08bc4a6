package io.lockstep.peer;

import io.lockstep.BackendUnavailableException;
import io.lockstep.IncrementResult;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendSupport;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.CounterStore;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.Membership;
import io.lockstep.spi.RequestIds;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.jgroups.Address;
import org.jgroups.BytesMessage;
import org.jgroups.JChannel;
import org.jgroups.Message;
import org.jgroups.Receiver;
import org.jgroups.View;
import org.jgroups.protocols.raft.RAFT;
import org.jspecify.annotations.Nullable;

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
 *       non-voter. Port 0 is any free port. Default: {@code 127.0.0.1:0} for {@code peer:}, {@code
 *       peer:file:} and a list of loopback voters; {@code site_local:0} (the first site-local
 *       address) for other lists; {@code site_local:7800} for {@code peer:dns:}, where every
 *       instance must use the same port because A records carry none.
 *   <li>{@code voters=a,b,c}: required with {@code peer:file:} and {@code peer:dns:}, refused
 *       otherwise: the instance ids of the voters; an instance whose id is listed is that voter.
 *   <li>{@code cluster=name}: the JGroups cluster name; default the node's key prefix.
 *   <li>{@code data=folder}: where a voter keeps its Raft log, vote and snapshots (a non-voter
 *       keeps nothing on disk). Default {@code lockstep-peer-data/<cluster>-<voter id>} under the
 *       working directory (like etcd's {@code <name>.etcd}), resolved when the URI is parsed. A
 *       voter that restarts must find its folder again: Raft is only safe when a voter remembers
 *       its log and its vote. Nothing goes under {@code java.io.tmpdir} unless given here (tests
 *       and {@code lockstep demo} pass a throwaway folder). A voter that started with an empty
 *       folder and is then sent entries it has no record of logs a WARNING (it joined a group that
 *       ran without it, or lost its folder).
 *   <li>{@code failure_timeout}: how long a member that has gone silent stays in the view ({@code
 *       3s}, {@code 10s}, {@code 1m}, ...; 1 s to 10 min); default 10 s. A closed connection is
 *       noticed at once.
 *   <li>{@code secret_file}: a file whose first line is the group's shared secret (16 characters or
 *       more); the group's traffic is then encrypted with a key derived from it ({@link
 *       PeerSecret}, {@link PeerStack}), and an instance without it never joins. Default: none, the
 *       traffic is plain.
 * </ul>
 *
 * <p>The Raft id of a voter is its entry in the voter list: {@code host:port} for a static list,
 * the name in {@code voters=} otherwise (for {@code peer:}, the instance id). Every voter must be
 * given the same voter list. The node's instance id names the instance in membership.
 *
 * <h2>How it works</h2>
 *
 * <ul>
 *   <li><b>Writes</b> go to the Raft leader (from a follower or a non-voter, as a message to it)
 *       and are committed by a majority of voters, with the log on disk and fsync on. The leader
 *       applies each committed entry to {@link MapStateMachine}, which decides compare-and-set and
 *       not-found there, and numbers the map's changes 1, 2, 3, ... ({@link
 *       RevisionModel#CONTIGUOUS}).
 *   <li><b>The feed.</b> After applying a change the leader multicasts it, with its revision, to
 *       every instance ({@link CommitPublisher}); each instance hands what it receives to its feed
 *       ({@link ChangeStream}). A jump in revisions is a gap: the engine re-lists. A new leader
 *       first re-sends its recent changes. Progress: an instance asks the leader, which multicasts
 *       its last revision after every change before it.
 *   <li><b>Listings and strong reads</b> are Raft log entries too, answered by the leader's state
 *       machine after every earlier entry: linearizable, and never older than an acknowledged
 *       write. (jgroups-raft 1.1.0 has no read index; a read costs one log append.)
 *   <li><b>Partitions.</b> Raft commits only with a majority of voters. An instance whose view
 *       holds fewer than a majority of the voters refuses writes, strong reads and listings at once
 *       with {@link BackendUnavailableException}; local reads keep serving what it has. When the
 *       groups merge, its feed sees a jump (or a progress mark above what it applied) and the
 *       engine re-lists from the majority.
 *   <li><b>Membership</b> comes from the views ({@link PeerMembership}).
 * </ul>
 *
 * <p>This class is the facade and owns the channel's lifecycle; {@link LeaderClient} takes commands
 * to the leader, {@link GroupView} follows the views and the leadership, and {@link Wire} holds the
 * byte forms.
 *
 * <p>Thread safe. {@link #close()} leaves the group and stops every feed; the Raft log stays.
 */
public final class PeerBackend implements Backend {
  private static final System.Logger LOG = System.getLogger(PeerBackend.class.getName());
  private static final long STREAM_CHECK_MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final PeerSettings settings;
  private final String instanceId;
  private final JChannel channel;
  private final ChangeStream stream = new ChangeStream();
  private final PeerMembership membership;
  private final GroupLink link = new Link();
  private final GroupView group;
  private final LeaderClient leaderClient;
  private final ExecutorService events;
  private volatile boolean closed;

  private PeerBackend(PeerSettings settings, BackendContext context) {
    this.settings = settings;
    this.instanceId = context.instanceId();
    String name = "lockstep-peer-" + instanceId;
    this.events = Executors.newSingleThreadExecutor(BackendSupport.daemonThreads(name + "-events"));
    this.membership =
        new PeerMembership(new MembershipGroup(), settings.cluster() + "/" + instanceId);
    JChannel ch = null;
    LeaderClient client = null;
    try {
      CommitPublisher publisher = null;
      MapStateMachine machine = null;
      if (settings.isVoter()) {
        Files.createDirectories(settings.dataDir());
        publisher = new CommitPublisher(this::multicast);
        machine = new MapStateMachine(publisher);
      }
      ch = new JChannel(PeerStack.build(settings, this::onFullView));
      ch.setName(instanceId);
      this.channel = ch;
      RAFT raft = settings.isVoter() ? ch.getProtocolStack().findProtocol(RAFT.class) : null;
      this.group = new GroupView(settings, instanceId, raft, machine, publisher, link);
      client = new LeaderClient(name, settings, raft, publisher, stream, group, link);
      this.leaderClient = client;
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
      shutdownExecutors(client);
      String message =
          "peer backend: could not join cluster '"
              + settings.cluster()
              + "' at "
              + settings.bind()
              + " as "
              + (settings.isVoter() ? "voter " + settings.selfVoter() : "a non-voter")
              + ": "
              + e;
      throw isDuplicateRefusal(e)
          ? new RefusedAsDuplicate(message, e)
          : new IllegalStateException(message, e);
    }
    LOG.log(
        Level.DEBUG,
        "{0}: joined {1} as {2}",
        instanceId,
        settings.cluster(),
        settings.isVoter() ? "voter " + settings.selfVoter() : "non-voter");
  }

  /**
   * Creates a backend and joins the group (this blocks for discovery, about a second and a half
   * when no other member answers).
   *
   * <p>A voter that the group refuses as a duplicate waits and tries again, for as long as it
   * takes: the group still lists this voter's previous incarnation, a process that ended without
   * leaving (killed, or its host lost) and was started again at once, e.g. a restarted Kubernetes
   * pod. jgroups-raft's NO_DUPES on the coordinator refuses a second member with the same Raft id,
   * and JGroups ends the join with a {@link SecurityException}. The group drops the dead
   * incarnation by itself: at once when a member notices its closed connection (FD_SOCK2), or when
   * the refused joiner has the old incarnation's physical address ({@link RestartAwareNoDupes}), at
   * the latest after {@code failure_timeout} of silence (FD_ALL3). So the refused attempt is closed
   * (its channel, its Raft log, its state machine) and a new one made after {@link #REJOIN_PAUSE},
   * logging a WARNING that names what it waits for. Meanwhile this method does not return, so the
   * node is not ready. Any other failure to join is thrown at once.
   *
   * @throws IllegalArgumentException when the URI is not a valid peer URI (message names the part)
   * @throws IllegalStateException when the group cannot be joined (e.g. the bind port is taken), or
   *     the thread was interrupted while waiting to join again
   */
  public static PeerBackend create(BackendUri uri, BackendContext context) {
    PeerSettings settings = PeerSettings.parse(uri, context);
    long start = System.nanoTime();
    for (int attempt = 1; ; attempt++) {
      try {
        return new PeerBackend(settings, context);
      } catch (RefusedAsDuplicate e) {
        long waited = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
        boolean longWait = waited > 3 * settings.failureTimeout().toSeconds();
        LOG.log(
            Level.WARNING,
            "{0}: the group of {1} refused voter {2} as a duplicate: it still lists this voter''s"
                + " previous incarnation (a process that ended without leaving, e.g. killed and"
                + " restarted at once); waiting for the group to drop it (within failure_timeout, {3} s)"
                + " and joining again in {4} ms (attempt {5}, waited {6} s){7}",
            context.instanceId(),
            settings.cluster(),
            settings.selfVoter(),
            settings.failureTimeout().toSeconds(),
            REJOIN_PAUSE.toMillis(),
            attempt,
            waited,
            longWait
                ? "; if this goes on, another running process may be this voter (same voter list"
                    + " entry)"
                : "");
        try {
          Thread.sleep(REJOIN_PAUSE);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(
              "peer backend: interrupted while waiting to join cluster '"
                  + settings.cluster()
                  + "' again",
              e);
        }
      }
    }
  }

  /** The pause between two joins of a voter that the group refused as a duplicate. */
  static final Duration REJOIN_PAUSE = Duration.ofSeconds(1);

  /**
   * Whether a join failed because the coordinator refused this voter as a duplicate Raft member
   * (jgroups-raft's NO_DUPES; JGroups' join throws its reason as a {@link SecurityException}).
   */
  static boolean isDuplicateRefusal(Throwable e) {
    return e instanceof SecurityException
        && e.getMessage() != null
        && e.getMessage().contains("duplicate members");
  }

  /** A join refused because the group still lists this voter's previous incarnation. */
  private static final class RefusedAsDuplicate extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    RefusedAsDuplicate(String message, Throwable cause) {
      super(message, cause);
    }
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
    long deadline =
        System.nanoTime() + settings.operationTimeout().toNanos() - STREAM_CHECK_MARGIN_NANOS;
    return leaderClient
        .submit(Wire.listCommand(UUID.randomUUID().toString()), false, "listing")
        .thenApply(Wire::listing)
        .thenApply(
            s -> {
              stream.onListing(s.epoch(), s.revision());
              return s;
            })
        .thenCompose(s -> leaderClient.afterStreamConfirmed(s, deadline));
  }

  @Override
  public Feed watch(long fromRevision, FeedListener listener) {
    BackendSupport.checkFromRevision(fromRevision);
    PeerFeed feed = stream.open(fromRevision, listener, leaderClient::requestProgress);
    if (closed) {
      feed.fail(new BackendUnavailableException("peer backend closed", null));
    }
    return feed;
  }

  @Override
  public CompletableFuture<WriteResult> put(
      String key, byte[] value, String contentType, long expectedRevision) {
    BackendSupport.checkExpectedRevision(expectedRevision);
    byte[] cmd = Wire.putCommand(key, expectedRevision, contentType, value);
    return leaderClient.submit(cmd, true, "put of '" + key + "'").thenApply(Wire::writeResult);
  }

  @Override
  public CompletableFuture<WriteResult> delete(String key, long expectedRevision) {
    BackendSupport.checkExpectedRevision(expectedRevision);
    byte[] cmd = Wire.deleteCommand(key, expectedRevision);
    return leaderClient.submit(cmd, true, "delete of '" + key + "'").thenApply(Wire::writeResult);
  }

  @Override
  public CompletableFuture<WriteResult> put(
      String key,
      byte[] value,
      String contentType,
      long expectedRevision,
      @Nullable String requestId) {
    if (requestId == null) {
      return put(key, value, contentType, expectedRevision);
    }
    BackendSupport.checkExpectedRevision(expectedRevision);
    byte[] cmd =
        Wire.onceCommand(
            requestId,
            RequestIds.put(key, value, contentType, expectedRevision),
            Wire.putCommand(key, expectedRevision, contentType, value));
    String what = "put of '" + key + "'";
    return leaderClient.submit(cmd, true, what).thenApply(b -> onceWrite(b, what));
  }

  @Override
  public CompletableFuture<WriteResult> delete(
      String key, long expectedRevision, @Nullable String requestId) {
    if (requestId == null) {
      return delete(key, expectedRevision);
    }
    BackendSupport.checkExpectedRevision(expectedRevision);
    byte[] cmd =
        Wire.onceCommand(
            requestId,
            RequestIds.delete(key, expectedRevision),
            Wire.deleteCommand(key, expectedRevision));
    String what = "delete of '" + key + "'";
    return leaderClient.submit(cmd, true, what).thenApply(b -> onceWrite(b, what));
  }

  private static WriteResult onceWrite(byte[] b, String what) {
    Wire.Once once = Wire.once(b);
    if (once.answer() == null) {
      throw RequestIds.reused(what);
    }
    WriteResult r = Wire.writeResult(once.answer());
    return once.how() == Wire.REPLAYED ? r.asReplay() : r;
  }

  /**
   * Cluster counters in the Raft state machine ({@link MapStateMachine}): an increment is one log
   * entry, applied in the log's total order on every voter; a read is a log entry too.
   */
  @Override
  public CounterStore counters() {
    return counters;
  }

  private final CounterStore counters =
      new CounterStore() {
        @Override
        public CompletableFuture<Long> incrementAndGet(String name, long delta) {
          byte[] cmd = Wire.counterAddCommand(name, delta);
          return leaderClient
              .submit(cmd, true, "increment of counter '" + name + "'")
              .thenApply(Wire::counterValue);
        }

        @Override
        public CompletableFuture<IncrementResult> incrementAndGet(
            String name, long delta, @Nullable String requestId) {
          if (requestId == null) {
            return incrementAndGet(name, delta).thenApply(v -> new IncrementResult(v, false));
          }
          byte[] cmd =
              Wire.onceCommand(
                  requestId,
                  RequestIds.increment(name, delta),
                  Wire.counterAddCommand(name, delta));
          String what = "increment of counter '" + name + "'";
          return leaderClient
              .submit(cmd, true, what)
              .thenApply(
                  b -> {
                    Wire.Once once = Wire.once(b);
                    if (once.answer() == null) {
                      throw RequestIds.reused(what);
                    }
                    return new IncrementResult(
                        Wire.counterValue(once.answer()), once.how() == Wire.REPLAYED);
                  });
        }

        @Override
        public CompletableFuture<Long> get(String name) {
          byte[] cmd = Wire.counterGetCommand(name);
          return leaderClient
              .submit(cmd, false, "read of counter '" + name + "'")
              .thenApply(Wire::counterValue);
        }
      };

  @Override
  public CompletableFuture<StrongRead> get(String key) {
    byte[] cmd = Wire.getCommand(key);
    return leaderClient
        .submit(cmd, false, "strong read of '" + key + "'")
        .thenApply(Wire::strongRead);
  }

  @Override
  public Membership membership() {
    return membership;
  }

  /**
   * Leaves the group, fails what is in flight and stops every feed. The Raft log stays. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    membership.closeWatches();
    BackendUnavailableException gone = new BackendUnavailableException("peer backend closed", null);
    stream.failAll(gone);
    leaderClient.close();
    if (channel.getProtocolStack().findProtocol(RAFT.class) instanceof CurrentTermRaft raft) {
      raft.quiesce(1000); // no log write in progress when the channel's close interrupts Raft
    }
    try {
      channel.close();
    } catch (RuntimeException e) {
      LOG.log(Level.DEBUG, "closing the channel failed", e);
    }
    shutdownExecutors(leaderClient);
  }

  @Override
  public String toString() {
    return "PeerBackend["
        + settings.cluster()
        + ", "
        + group.role()
        + ", bind="
        + settings.bind()
        + "]";
  }

  // ---------------------------------------------------------------------------------------------
  // Group events
  // ---------------------------------------------------------------------------------------------

  /** Every view, before Raft sees its voters-only form. Runs on a JGroups thread: no I/O here. */
  private void onFullView(View now) {
    View old = group.onView(now);
    leaderClient.onView(now);
    execute(
        events,
        () -> {
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
        case Wire.PROGRESS_REQUEST -> leaderClient.queueProgress();
        case Wire.REQUEST -> leaderClient.onRequest(from, in);
        case Wire.REPLY -> leaderClient.onReply(from, in);
        case Wire.ANNOUNCE -> membership.onAnnounce(from, in);
        case Wire.WITHDRAW -> membership.onWithdraw(from);
        case Wire.WHO_ARE_YOU -> membership.onQuery(from);
        case Wire.LEADER -> group.noteLeader(from);
        default ->
            LOG.log(Level.DEBUG, "{0}: unknown message type {1} from {2}", instanceId, type, from);
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
        LOG.log(
            Level.DEBUG,
            "{0}: send to {1} failed: {2}",
            instanceId,
            to == null ? "all" : to,
            e.toString());
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

  /**
   * Stops this backend's executors and the leader client's ({@code client}, null when not made
   * yet).
   */
  private void shutdownExecutors(LeaderClient client) {
    ExecutorService callbacks =
        client == null ? null : client.shutdown(); // its timer stops at once
    events.shutdown();
    try {
      events.awaitTermination(1, TimeUnit.SECONDS);
      if (callbacks != null) {
        callbacks.awaitTermination(1, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    events.shutdownNow();
    if (callbacks != null) {
      callbacks.shutdownNow();
    }
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
  private final class MembershipGroup implements PeerMembership.Group {
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
