package io.lockstep.testkit;

import io.lockstep.Lockstep;
import io.lockstep.spi.RevisionModel;
import java.util.HashMap;
import java.util.Map;

/**
 * The membership-watch contract on the in-memory source, whose membership has no events: it runs
 * the default watch, a poll of the member list. No node can be killed there.
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
}
