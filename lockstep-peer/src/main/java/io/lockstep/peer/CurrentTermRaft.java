package io.lockstep.peer;

import java.io.File;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicLong;
import org.jgroups.Message;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.raft.AppendEntriesRequest;
import org.jgroups.protocols.raft.InstallSnapshotRequest;
import org.jgroups.protocols.raft.LogEntry;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.protocols.raft.RaftHeader;
import org.jgroups.protocols.raft.Role;

/**
 * jgroups-raft's RAFT with Raft's commit rule for a new leader (Raft paper, section 5.4.2): a
 * leader commits an entry only once an entry of its <em>own</em> term is on a majority; entries of
 * earlier terms are committed with it, never by counting their own replicas.
 *
 * <p>jgroups-raft 1.1.0 counts replicas of earlier-term entries: a new leader puts every entry
 * after its commit index into its request table, and an acknowledgement from a majority commits it.
 * That is the unsafe rule of the paper's Figure 8: an entry of term 2 committed this way by the
 * leader of term 4 can still be replaced by a candidate whose log ends in term 3 once that leader
 * crashes (the voters that hold it lose the election to the longer term), and the leader's state
 * machine has applied it and Lockstep has told every instance about it. {@code PeerFigure8IT}
 * drives exactly this sequence; without this class the leader of term 4 applied the entry at
 * revision 2, then a second leader committed a different entry at the same index.
 *
 * <p>Two parts, both ours, on top of the library:
 *
 * <ul>
 *   <li>On becoming leader this voter appends a {@link Wire#NOOP} entry: its first entry of the new
 *       term, so earlier entries commit as soon as it reaches a majority, without waiting for a
 *       client's write.
 *   <li>{@link #commitLogTo} on the leader refuses to move the commit index to an entry of an
 *       earlier term. The library calls it when an entry reaches a majority; a refused call is
 *       simply not acted on, and the entries are applied, and acknowledged, when an entry of the
 *       current term reaches a majority (the library then commits everything up to it).
 * </ul>
 *
 * <p><b>A voter that forgot.</b> A voter whose data folder was empty when it started, and whose
 * leader then sends it entries after some it has no record of (or a snapshot), says so once in its
 * log, at WARNING: either it joins a group that already ran without it, or it lost its folder, and
 * Raft is only safe while a voter remembers its log and its vote.
 *
 * <p>Followers are unaffected: they commit up to the index their leader tells them, and every
 * leader now tells only indexes committed under this rule. It has the protocol id of RAFT, so its
 * messages are RAFT's and {@code findProtocol(RAFT.class)} finds it.
 */
final class CurrentTermRaft extends RAFT {
  private static final System.Logger LOG = System.getLogger(CurrentTermRaft.class.getName());

  private final AtomicLong held = new AtomicLong();
  private boolean startedEmpty; // set in init, before the log opens
  private volatile boolean warnedEmpty;
  private final Object quiet = new Object();
  private boolean quiescing; // guarded by quiet
  private boolean processing; // guarded by quiet

  CurrentTermRaft() {
    setId(ClassConfigurator.getProtocolId(RAFT.class));
    addRoleListener(this::onRole);
  }

  /** How many times a commit of an earlier term's entry was refused (for tests and diagnostics). */
  long heldCommits() {
    return held.get();
  }

  @Override
  public void init() throws Exception {
    String[] files = log_dir == null ? null : new File(log_dir).list();
    startedEmpty = files == null || files.length == 0;
    super.init();
  }

  /**
   * Stops processing Raft's queue (requests, responses, appends), then waits up to {@code
   * timeoutMillis} for the batch in progress to end, so that closing the channel next does not
   * interrupt a write to the log file (jgroups-raft prints the stack trace of the {@code
   * ClosedByInterruptException} to stderr). For a voter that is leaving: what it drops from here on
   * counts as messages lost, which Raft tolerates. Returns whether the queue is idle.
   */
  boolean quiesce(long timeoutMillis) {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    synchronized (quiet) {
      quiescing = true;
      while (processing) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          quiet.wait(Math.max(1, left / 1_000_000L));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return true;
    }
  }

  @Override
  protected void process(java.util.List<Request> batch) {
    synchronized (quiet) {
      if (quiescing) {
        return;
      }
      processing = true;
    }
    try {
      super.process(batch);
    } finally {
      synchronized (quiet) {
        processing = false;
        quiet.notifyAll();
      }
    }
  }

  /** Whether the data folder held nothing when this voter started. */
  boolean startedEmpty() {
    return startedEmpty;
  }

  @Override
  public void handleUpRequest(Message msg, RaftHeader hdr) {
    if (!startedEmpty || warnedEmpty) {
      super.handleUpRequest(msg, hdr);
      return;
    }
    int notFound = num_failed_append_requests_not_found;
    super.handleUpRequest(msg, hdr);
    boolean unknownHistory =
        hdr instanceof InstallSnapshotRequest
            || (hdr instanceof AppendEntriesRequest
                && num_failed_append_requests_not_found > notFound);
    if (unknownHistory) {
      warnedEmpty = true;
      LOG.log(
          Level.WARNING,
          "{0}: this voter started with an empty data folder ({1}), but its leader {2} (term {3})"
              + " holds log entries it has no record of: it is joining a group that ran without it,"
              + " or it lost its folder. Raft is safe only while a voter keeps its log and its"
              + " vote; give every voter a folder that survives restarts (the data parameter).",
          raftId(),
          log_dir,
          msg.getSrc(),
          String.valueOf(hdr.currTerm()));
    }
  }

  private void onRole(Role role) {
    if (role != Role.Leader) {
      return;
    }
    byte[] noop = Wire.noopCommand();
    try {
      setAsync(noop, 0, noop.length, null);
    } catch (RuntimeException notLeaderAnyMore) {
      LOG.log(
          Level.DEBUG, "{0}: no-op of a new term not appended: {1}", raftId(), notLeaderAnyMore);
    }
  }

  @Override
  protected RAFT commitLogTo(long indexInclusive, boolean serializeResponse) {
    if (isLeader()) {
      long to = Math.min(lastAppended(), indexInclusive);
      if (to > commitIndex()) {
        LogEntry e = log().get(to);
        long term = currentTerm();
        if (e != null && e.term() < term) {
          held.incrementAndGet();
          LOG.log(
              Level.DEBUG,
              "{0}: not committing index {1} of term {2} before an entry of term {3} is on a"
                  + " majority",
              raftId(),
              to,
              e.term(),
              term);
          return this;
        }
      }
    }
    return super.commitLogTo(indexInclusive, serializeResponse);
  }
}
