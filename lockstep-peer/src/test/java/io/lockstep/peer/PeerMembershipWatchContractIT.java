package io.lockstep.peer;

import io.lockstep.Lockstep;
import io.lockstep.testkit.MembershipWatchContract;
import java.time.Duration;
import org.jgroups.protocols.DISCARD;
import org.jgroups.protocols.TCP_NIO2;
import org.jgroups.stack.ProtocolStack;

/**
 * The membership-watch contract on the peer backend, in this JVM: per namespace a group of three
 * voters, two plain backends started here (they register nobody) and the first node; further nodes
 * join as non-voters. A node is killed by dropping everything it sends and receives (JGroups'
 * DISCARD above the transport): its sockets stay open, so the others drop it from the view only
 * after {@code failure_timeout} (3 s here) of silence and the suspicion's verification.
 */
class PeerMembershipWatchContractIT extends MembershipWatchContract {
  private PeerGroup group;
  private int nodes;

  private PeerGroup group(String keyPrefix) {
    if (group == null || !group.cluster.equals(keyPrefix)) {
      group = closeAfterTest(new PeerGroup(keyPrefix, 3));
      group.backend(group.voterUri(0), "source-0");
      group.backend(group.voterUri(1), "source-1");
      nodes = 0;
    }
    return group;
  }

  @Override
  protected Lockstep newNode(String keyPrefix, String instanceId) {
    PeerGroup g = group(keyPrefix);
    return g.node(nodes++ == 0 ? g.voterUri(2) : g.nonVoterUri(), instanceId);
  }

  @Override
  protected KillableNode newKillableNode(String keyPrefix, String instanceId) {
    PeerGroup g = group(keyPrefix);
    nodes++;
    PeerBackend b = g.backend(g.nonVoterUri(), instanceId);
    DISCARD cut = new DISCARD();
    try {
      b.channel()
          .getProtocolStack()
          .insertProtocol(cut, ProtocolStack.Position.ABOVE, TCP_NIO2.class);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return new KillableNode(g.node(b, instanceId), () -> cut.discardAll(true));
  }

  /** A join takes the newcomer's discovery and its record's announcement. */
  @Override
  protected Duration joinBound() {
    return Duration.ofSeconds(5);
  }

  @Override
  protected Duration leaveBound() {
    return Duration.ofSeconds(2);
  }

  /** {@code failure_timeout}, the suspicion's verification, a new view, and slack. */
  @Override
  protected Duration crashBound() {
    return Duration.ofSeconds(10);
  }
}
