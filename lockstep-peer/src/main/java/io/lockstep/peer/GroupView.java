package io.lockstep.peer;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.jgroups.Address;
import org.jgroups.MergeView;
import org.jgroups.View;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.protocols.raft.Role;

/**
 * The group as this instance sees it: the current full view and the voters in it, the Raft leader
 * (Raft's own on a voter; on a non-voter, the instance that last sent what only the leader sends)
 * and this instance's role. It follows Raft's role changes: a voter that becomes leader starts
 * publishing commits and says so to every instance, and later to each one that joins. Describes
 * itself for error messages ({@link #state()}). Thread safe.
 */
final class GroupView {
  // The backend's logger: the view and leadership lines are the backend's.
  private static final System.Logger LOG = System.getLogger(PeerBackend.class.getName());

  private final PeerSettings settings;
  private final String instanceId;
  private final RAFT raft; // null on a non-voter
  private final MapStateMachine machine; // null on a non-voter
  private final CommitPublisher publisher; // null on a non-voter
  private final GroupLink link;
  private final AtomicInteger nextVoter = new AtomicInteger();
  private volatile View view;
  private volatile Address announcedLeader;

  GroupView(
      PeerSettings settings,
      String instanceId,
      RAFT raft,
      MapStateMachine machine,
      CommitPublisher publisher,
      GroupLink link) {
    this.settings = settings;
    this.instanceId = instanceId;
    this.raft = raft;
    this.machine = machine;
    this.publisher = publisher;
    this.link = link;
  }

  /**
   * Every view, before Raft sees its voters-only form; returns the view before it (null for the
   * first). Runs on a JGroups thread: no I/O here.
   */
  View onView(View now) {
    View old = view;
    view = now;
    LOG.log(
        Level.INFO,
        "{0}: view {1}{2}: {3} member(s), {4} of {5} voters: {6}",
        instanceId,
        now.getViewId(),
        now instanceof MergeView ? " (merge)" : "",
        now.size(),
        votersInView(),
        settings.voters().size(),
        now.getMembers());
    if (machine != null) {
      machine
          .startAnswering(); // Raft replays its log before the first view: reads answer from here
      // on
    }
    Address l = announcedLeader;
    if (l != null && !now.containsMember(l)) {
      announcedLeader = null;
    }
    return old;
  }

  /** On the leader: tells the instances that joined between two views that it leads. */
  void greetNewcomers(View old, View now) {
    List<Address> joined = View.newMembers(old, now);
    if (publisher != null && publisher.leading() && !joined.isEmpty()) {
      byte[] hello = Wire.leader();
      for (Address a : joined) {
        link.send(a, hello);
      }
    }
  }

  /** Raft's role changes, on a voter. */
  void onRole(Role role) {
    if (role == Role.Leader) {
      publisher.becameLeader();
      machine.startAnswering();
      LOG.log(
          Level.INFO,
          "{0}: Raft leader of {1} (term {2})",
          instanceId,
          settings.cluster(),
          String.valueOf(raft.currentTerm()));
      link.send(null, Wire.leader());
    } else {
      if (publisher.leading()) {
        LOG.log(
            Level.INFO,
            "{0}: no longer the Raft leader of {1} (now {2})",
            instanceId,
            settings.cluster(),
            role);
      }
      publisher.lostLeadership();
    }
  }

  /** A non-voter learns the leader from what the leader sends. */
  void noteLeader(Address from) {
    if (raft == null && from != null && inView(from)) {
      announcedLeader = from;
    }
  }

  /**
   * A non-voter's request reached an instance that does not lead; {@code hint} is its leader, or
   * null.
   */
  void onRedirect(Address hint) {
    if (raft == null) {
      announcedLeader = hint != null && inView(hint) ? hint : null;
    }
  }

  /** The leader, when known and in this instance's view; else null. */
  Address leader() {
    Address l = raft != null ? raft.leader() : announcedLeader;
    return l != null && inView(l) ? l : null;
  }

  private boolean inView(Address a) {
    View v = view;
    return v != null && v.containsMember(a);
  }

  /** A voter of the view other than this instance, taken in turn; null when there is none. */
  Address anyVoter() {
    View v = view;
    if (v == null) {
      return null;
    }
    List<Address> voters = new ArrayList<>();
    Set<String> ids = new HashSet<>(settings.voters());
    for (Address a : v) {
      String id = VoterViewFilter.raftId(a);
      if (id != null && ids.contains(id) && !a.equals(link.self())) {
        voters.add(a);
      }
    }
    return voters.isEmpty()
        ? null
        : voters.get(Math.floorMod(nextVoter.getAndIncrement(), voters.size()));
  }

  /** How many distinct voters this instance's view holds (itself included). */
  int votersInView() {
    View v = view;
    if (v == null) {
      return 0;
    }
    Set<String> voters = new HashSet<>(settings.voters());
    Set<String> seen = new HashSet<>();
    for (Address a : v) {
      String id = VoterViewFilter.raftId(a);
      if (id != null && voters.contains(id)) {
        seen.add(id);
      }
    }
    return seen.size();
  }

  /** This instance's side of the group, for error messages. */
  String state() {
    View v = view;
    Address l = leader();
    return "cluster="
        + settings.cluster()
        + ", role="
        + role()
        + ", voters in view="
        + votersInView()
        + "/"
        + settings.voters().size()
        + ", leader="
        + (l == null ? "none" : l)
        + ", view="
        + (v == null ? "none" : v.getMembers());
  }

  String role() {
    if (raft == null) {
      return "non-voter";
    }
    return publisher.leading() ? "leader" : "voter";
  }

  boolean isLeader() {
    return publisher != null && publisher.leading();
  }

  /** The full view (every instance), as this instance sees it; null before the first. */
  View view() {
    return view;
  }
}
