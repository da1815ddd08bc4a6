package io.lockstep.testkit;

import io.lockstep.Lockstep;
import io.lockstep.spi.RevisionModel;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;

/** The cluster-counter contract on the in-memory source: one source per namespace. */
class InMemoryClusterCounterContractTest extends ClusterCounterContract {
  private final Map<String, InMemorySource> sources = new HashMap<>();

  @Override
  protected Lockstep newNode(String keyPrefix) {
    InMemorySource s =
        sources.computeIfAbsent(keyPrefix, k -> new InMemorySource(RevisionModel.CONTIGUOUS));
    return Lockstep.builder().backend(s.backend()).keyPrefix(keyPrefix).build();
  }

  @AfterEach
  void closeSources() {
    sources.values().forEach(InMemorySource::close);
  }
}
