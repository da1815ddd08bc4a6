package io.lockstep.peer;

import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicLong;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.raft.LogEntry;
import org.jgroups.protocols.raft.RAFT;
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
 * <p>Followers are unaffected: they commit up to the index their leader tells them, and every
 * leader now tells only indexes committed under this rule. It has the protocol id of RAFT, so its
 * messages are RAFT's and {@code findProtocol(RAFT.class)} finds it.
 */
final class CurrentTermRaft extends RAFT {
  private static final System.Logger LOG = System.getLogger(CurrentTermRaft.class.getName());

  private final AtomicLong held = new AtomicLong();

  CurrentTermRaft() {
    setId(ClassConfigurator.getProtocolId(RAFT.class));
    addRoleListener(this::onRole);
  }

  /** How many times a commit of an earlier term's entry was refused (for tests and diagnostics). */
  long heldCommits() {
    return held.get();
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
