package io.lockstep.testkit;

import io.lockstep.Lockstep;
import io.lockstep.spi.RevisionModel;
import java.util.HashMap;
import java.util.Map;

/**
 * The membership-watch contract on the in-memory source, whose membership has no events: it runs
 * the default watch, a poll of the member list. A node is "killed" by dropping its record, as a
 * lapsed lease or TTL would, without the node being told.
 */
class InMemoryMembershipWatchContractTest extends MembershipWatchContract {
  private final Map<String, InMemorySource> sources = new HashMap<>();

  @Override
  protected Lockstep newNode(String keyPrefix, String instanceId) {
    InMemorySource s =
        sources.computeIfAbsent(
            keyPrefix, p -> closeAfterTest(new InMemorySource(RevisionModel.CONTIGUOUS)));
    return Lockstep.builder()
        .backend(s.backend())
        .keyPrefix(keyPrefix)
        .instanceId(instanceId)
        .build();
  }

  @Override
  protected KillableNode newKillableNode(String keyPrefix, String instanceId) {
    Lockstep node = newNode(keyPrefix, instanceId);
    InMemorySource s = sources.get(keyPrefix);
    return new KillableNode(node, () -> s.dropMember(instanceId));
  }
}
