package io.lockstep.testkit;

import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.spi.RevisionModel;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** The near-mode contract against the in-memory source (one source per namespace). */
class InMemoryNearModeContractTest extends NearModeContract {
  private final Map<String, InMemorySource> sources = new HashMap<>();

  private InMemorySource source(String keyPrefix) {
    return sources.computeIfAbsent(
        keyPrefix, p -> closeAfterTest(new InMemorySource(RevisionModel.CONTIGUOUS)));
  }

  @Override
  protected LockstepBuilder builder(String keyPrefix) {
    return Lockstep.builder()
        .backend(source(keyPrefix).backend())
        .keyPrefix(keyPrefix)
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .progressInterval(Duration.ofMillis(50));
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    source(keyPrefix).writeAtomically(Map.of(key, value));
  }
}
