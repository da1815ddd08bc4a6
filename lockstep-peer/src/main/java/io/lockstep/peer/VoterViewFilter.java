package io.lockstep.peer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.View;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.stack.Protocol;
import org.jgroups.util.ExtendedUUID;
import org.jgroups.util.Util;

/**
 * Sits below jgroups-raft's ELECTION and RAFT and shows them only the voters of a view.
 *
 * <p>jgroups-raft counts a majority by view size and builds the leader's commit table from the view,
 * so a non-voter in the view would count towards the majority (a minority of voters plus a few
 * non-voters would keep a deposed leader) and get AppendEntries resent to it for ever. Above this
 * protocol a view holds only the members whose address carries a Raft id of a voter; the full view
 * goes to the listener, which is how the backend sees every instance. With {@code voters} null
 * (a non-voter's stack, which has no Raft protocols) views pass unchanged.
 */
final class VoterViewFilter extends Protocol {
  private final Set<String> voters;
  private final Consumer<View> fullViews;

  VoterViewFilter(Set<String> voters, Consumer<View> fullViews) {
    this.voters = voters;
    this.fullViews = fullViews;
  }

  @Override
  public Object up(Event evt) {
    if (evt.getType() == Event.VIEW_CHANGE) {
      View full = evt.getArg();
      fullViews.accept(full);
      if (voters != null) {
        return up_prot.up(new Event(Event.VIEW_CHANGE, votersOnly(full, voters)));
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
