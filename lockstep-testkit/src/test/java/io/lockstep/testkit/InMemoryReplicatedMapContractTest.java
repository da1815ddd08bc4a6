package io.lockstep.testkit;

import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.spi.RevisionModel;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The contract against the in-memory source: proves the suite itself is backend-neutral and keeps
 * the engine honest without a server. One source per namespace, as one etcd prefix would be.
 */
class InMemoryReplicatedMapContractTest extends ReplicatedMapContract {
  private final Map<String, InMemorySource> sources = new HashMap<>();

  private InMemorySource source(String keyPrefix) {
    return sources.computeIfAbsent(
        keyPrefix, p -> closeAfterTest(new InMemorySource(RevisionModel.SPARSE)));
  }

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder()
        .backend(source(keyPrefix).backend())
        .keyPrefix(keyPrefix)
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .progressInterval(Duration.ofMillis(50))
        .build();
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    source(keyPrefix).writeAtomically(Map.of(key, value));
  }

  @Override
  protected long sourceDigest(String keyPrefix) {
    return Digests.of(source(keyPrefix).entries());
  }
}
