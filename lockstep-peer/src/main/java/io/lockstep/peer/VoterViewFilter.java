package io.lockstep.peer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.Message;
import org.jgroups.View;
import org.jgroups.ViewId;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.raft.ELECTION;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.stack.Protocol;
import org.jgroups.util.ExtendedUUID;
import org.jgroups.util.MessageBatch;
import org.jgroups.util.Util;

/**
 * Sits below jgroups-raft's ELECTION and RAFT and shows them only the voters of a view.
 *
 * <p>jgroups-raft counts a majority by view size and builds the leader's commit table from the
 * view, so a non-voter in the view would count towards the majority (a minority of voters plus a
 * few non-voters would keep a deposed leader) and get AppendEntries resent to it for ever. Above
 * this protocol a view holds only the members whose address carries a Raft id of a voter; the full
 * view goes to the listener, which is how the backend sees every instance. With {@code voters} null
 * (a non-voter's stack, which has no Raft protocols) views pass unchanged, and the voters' Raft and
 * election traffic, which JGroups multicasts to the whole group, is dropped here instead of
 * travelling up to the receiver.
 */
final class VoterViewFilter extends Protocol {
  private static final short RAFT_ID;
  private static final short ELECTION_ID;

  static {
    PeerStack.registerRaftWireClasses();
    RAFT_ID = ClassConfigurator.getProtocolId(RAFT.class);
    ELECTION_ID = ClassConfigurator.getProtocolId(ELECTION.class);
  }

  private final Set<String> voters;
  private final Consumer<View> fullViews;
  private ViewId last; // guarded by this

  VoterViewFilter(Set<String> voters, Consumer<View> fullViews) {
    this.voters = voters;
    this.fullViews = fullViews;
  }

  @Override
  public Object up(Message msg) {
    if (voters == null && isRaftTraffic(msg)) {
      return null;
    }
    return up_prot.up(msg);
  }

  @Override
  public void up(MessageBatch batch) {
    if (voters == null) {
      batch.removeIf(VoterViewFilter::isRaftTraffic, true);
      if (batch.isEmpty()) {
        return;
      }
    }
    up_prot.up(batch);
  }

  /** A message sent by a voter's RAFT or ELECTION protocol (meaningless to a non-voter). */
  static boolean isRaftTraffic(Message msg) {
    return msg.getHeader(RAFT_ID) != null || msg.getHeader(ELECTION_ID) != null;
  }

  /**
   * Views pass one at a time and never backwards. GMS installs a view under its lock but hands it
   * down and up the stack after releasing it, so two views installed by two threads (a JOIN answer
   * and a merge, say) can come up in the wrong order when the first thread is held up below
   * (FD_SOCK2 connects to its new neighbour on the installing thread). A view older than one
   * already passed up is dropped here, so the backend, ELECTION, RAFT and the channel never go back
   * to it.
   */
  @Override
  public Object up(Event evt) {
    if (evt.getType() == Event.VIEW_CHANGE) {
      View full = evt.getArg();
      synchronized (this) {
        if (last != null && full.getViewId().compareToIDs(last) <= 0) {
          log.debug("dropped view %s: older than %s", full.getViewId(), last);
          return null;
        }
        last = full.getViewId();
        fullViews.accept(full);
        return up_prot.up(
            voters == null ? evt : new Event(Event.VIEW_CHANGE, votersOnly(full, voters)));
      }
    }
    return up_prot.up(evt);
  }

  /** The view with only the members that are voters, in view order, under the same view id. */
  static View votersOnly(View full, Set<String> voters) {
    List<Address> keep = new ArrayList<>();
    for (Address a : full) {
      String id = raftId(a);
      if (id != null && voters.contains(id)) {
        keep.add(a);
      }
    }
    return new View(full.getViewId(), keep);
  }

  /** The Raft id an address carries, or null (a non-voter's address carries none). */
  static String raftId(Address a) {
    if (a instanceof ExtendedUUID u) {
      byte[] id = u.get(RAFT.raft_id_key);
      return id == null ? null : Util.bytesToString(id);
    }
    return null;
  }
}
