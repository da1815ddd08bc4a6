package io.lockstep.peer;

import java.util.Arrays;
import java.util.List;
import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.PhysicalAddress;
import org.jgroups.View;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.raft.NO_DUPES;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.util.ExtendedUUID;
import org.jspecify.annotations.Nullable;

/**
 * jgroups-raft's NO_DUPES (on the coordinator, a join whose Raft id is already in the view is
 * refused), plus one inference: when the member holding that Raft id has the same physical address
 * (IP and port) as the refused joiner, it is a process that died and was started again in place
 * (kill -9, a container restarted in its pod). Two live processes cannot listen on one address, so
 * the old member is reported dead to GMS at once, and the joiner's next attempt ({@link
 * PeerBackend#create}) finds its place free, instead of waiting for failure detection (up to {@code
 * failure_timeout} when no member saw its connection close). The join itself is still refused: GMS
 * removes the old member in a view of its own first.
 */
final class RestartAwareNoDupes extends NO_DUPES {
  @Override
  protected boolean handleGmsHeader(GMS.GmsHeader hdr, Address sender) {
    boolean pass = super.handleGmsHeader(hdr, sender);
    byte type = hdr.getType();
    if (!pass
        && (type == GMS.GmsHeader.JOIN_REQ || type == GMS.GmsHeader.JOIN_REQ_WITH_STATE_TRANSFER)
        && hdr.getMember() instanceof ExtendedUUID joiner) {
      Address old = sameRaftId(view, joiner);
      if (old != null) {
        PhysicalAddress at = physical(joiner);
        if (at != null && at.equals(physical(old))) {
          log.warn(
              "%s: %s asks to join from %s, where member %s with the same raft-id was: that"
                  + " process is gone (restarted in place); suspecting it",
              local_addr, joiner, at, old);
          up_prot.up(new Event(Event.SUSPECT, List.of(old)));
        }
      }
    }
    return pass;
  }

  private static @Nullable Address sameRaftId(View v, ExtendedUUID joiner) {
    byte[] id = joiner.get(RAFT.raft_id_key);
    if (v == null || id == null) {
      return null;
    }
    for (Address a : v) {
      if (a instanceof ExtendedUUID u
          && !a.equals(joiner)
          && Arrays.equals(id, u.get(RAFT.raft_id_key))) {
        return a;
      }
    }
    return null;
  }

  private @Nullable PhysicalAddress physical(Address a) {
    return down_prot.down(new Event(Event.GET_PHYSICAL_ADDRESS, a)) instanceof PhysicalAddress p
        ? p
        : null;
  }
}
