package io.lockstep.peer;

import org.jgroups.Message;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.stack.Protocol;
import org.jgroups.util.MessageBatch;

/**
 * Test fault injection: while on, drops every message that arrives for this member's RAFT protocol
 * (AppendEntries and their answers, snapshots), from any sender; election traffic (vote requests,
 * votes, leader announcements), views and the backend's own messages pass.
 *
 * <p>JGroups' DISCARD cuts whole members, and the Figure 8 scenario needs members that vote but do
 * not receive the leader's log entries. It sits above the reliable-delivery protocols, so a dropped
 * message is lost for Raft only: no retransmission loop holds up the sender's later messages.
 */
final class RaftLogCut extends Protocol {
  private static final short RAFT_ID;

  static {
    PeerStack.registerRaftWireClasses();
    RAFT_ID = ClassConfigurator.getProtocolId(RAFT.class);
  }

  private volatile boolean on;

  void on() {
    on = true;
  }

  void off() {
    on = false;
  }

  private static boolean isRaft(Message msg) {
    return msg.getHeader(RAFT_ID) != null;
  }

  @Override
  public Object up(Message msg) {
    if (on && isRaft(msg)) {
      return null;
    }
    return up_prot.up(msg);
  }

  @Override
  public void up(MessageBatch batch) {
    if (on) {
      batch.removeIf(RaftLogCut::isRaft, true);
      if (batch.isEmpty()) {
        return;
      }
    }
    up_prot.up(batch);
  }
}
