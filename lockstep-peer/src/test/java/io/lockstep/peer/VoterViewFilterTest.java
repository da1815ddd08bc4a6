package io.lockstep.peer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jgroups.Address;
import org.jgroups.BytesMessage;
import org.jgroups.EmptyMessage;
import org.jgroups.Event;
import org.jgroups.Message;
import org.jgroups.View;
import org.jgroups.ViewId;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.raft.ELECTION;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.protocols.raft.election.LeaderElected;
import org.jgroups.stack.Protocol;
import org.jgroups.util.ExtendedUUID;
import org.jgroups.util.MessageBatch;
import org.jgroups.util.UUID;
import org.jgroups.util.Util;
import org.junit.jupiter.api.Test;

/**
 * What the filter passes up: voters-only views, views in order only, and no Raft traffic to a
 * non-voter.
 */
class VoterViewFilterTest {
  private static final Set<String> VOTERS = Set.of("a:1", "b:1", "c:1");

  /** Records what reaches the protocol above the filter. */
  private static final class Above extends Protocol {
    final List<View> views = new ArrayList<>();
    final List<Message> messages = new ArrayList<>();

    @Override
    public Object up(Event evt) {
      if (evt.getType() == Event.VIEW_CHANGE) {
        views.add(evt.getArg());
      }
      return null;
    }

    @Override
    public Object up(Message msg) {
      messages.add(msg);
      return null;
    }

    @Override
    public void up(MessageBatch batch) {
      batch.forEach(messages::add);
    }
  }

  private static Address voter(String raftId) {
    ExtendedUUID a = ExtendedUUID.randomUUID(raftId);
    a.put(RAFT.raft_id_key, Util.stringToBytes(raftId));
    return a;
  }

  private static View view(long id, Address... members) {
    return new View(new ViewId(members[0], id), List.of(members));
  }

  @Test
  void voter_seesVotersOnly_listenerSeesAll_andOlderViewsAreDropped() {
    List<View> full = new ArrayList<>();
    VoterViewFilter f = new VoterViewFilter(VOTERS, full::add);
    Above above = new Above();
    f.setUpProtocol(above);
    Address a = voter("a:1");
    Address b = voter("b:1");
    Address n = UUID.randomUUID();

    View v3 = view(3, a, n, b);
    View v2 = view(2, a, n);
    f.up(new Event(Event.VIEW_CHANGE, v3));
    f.up(new Event(Event.VIEW_CHANGE, v2)); // installed earlier, held up below: arrives late
    f.up(new Event(Event.VIEW_CHANGE, view(3, n, a, b))); // same id again

    assertThat(full).containsExactly(v3);
    assertThat(above.views).hasSize(1);
    assertThat(above.views.get(0).getMembers()).containsExactly(a, b);
    assertThat(above.views.get(0).getViewId()).isEqualTo(v3.getViewId());

    View v4 = view(4, n, b);
    f.up(new Event(Event.VIEW_CHANGE, v4));
    assertThat(full).containsExactly(v3, v4);
    assertThat(above.views.get(1).getMembers()).containsExactly(b);
  }

  @Test
  void nonVoter_dropsRaftAndElectionTraffic_passesTheRest() {
    PeerStack.registerRaftWireClasses();
    short electionId = ClassConfigurator.getProtocolId(ELECTION.class);
    short raftId = ClassConfigurator.getProtocolId(RAFT.class);
    VoterViewFilter f = new VoterViewFilter(null, v -> {});
    Above above = new Above();
    f.setUpProtocol(above);
    Message ours = new BytesMessage(null, new byte[] {1, 2, 3});
    Message vote = new EmptyMessage(null).putHeader(electionId, new LeaderElected(voter("a:1")));
    Message append = new EmptyMessage(null).putHeader(raftId, new LeaderElected(voter("a:1")));

    f.up(vote);
    f.up(ours);
    f.up(new MessageBatch(2).add(append).add(ours));

    assertThat(above.messages).containsExactly(ours, ours);
  }

  @Test
  void raftWireClasses_areKnownToEveryProcess() throws Exception {
    PeerStack.registerRaftWireClasses();
    // The header of ELECTION's vote requests and leader announcements, multicast to every member.
    assertThat(
            (Object)
                ClassConfigurator.create(ClassConfigurator.getMagicNumber(LeaderElected.class)))
        .isInstanceOf(LeaderElected.class);
  }
}
