package io.lockstep.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.testkit.ClusterCounterContract;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The cluster-counter contract on the peer backend, in this JVM: per namespace a group of three
 * voters, two plain backends started here and the first node; further nodes join as non-voters.
 * Plus: every voter restarted on its data folder keeps the totals.
 */
class PeerClusterCounterContractIT extends ClusterCounterContract {
  private PeerGroup group;
  private int nodes;

  @Override
  protected Lockstep newNode(String keyPrefix) {
    if (group == null || !group.cluster.equals(keyPrefix)) {
      group = closeAfterTest(new PeerGroup(keyPrefix, 3));
      group.backend(group.voterUri(0), "source-0");
      group.backend(group.voterUri(1), "source-1");
      nodes = 0;
    }
    int n = nodes++;
    return group.node(n == 0 ? group.voterUri(2) : group.nonVoterUri(), "node-" + n);
  }

  @Override
  protected int incrementsPerThread() {
    return 20;
  }

  @Test
  void counters_survive_everyVoterRestartedOnItsDataFolder() {
    try (PeerGroup g = new PeerGroup(prefix, 3)) {
      Lockstep[] voters = new Lockstep[3];
      for (int i = 0; i < 3; i++) {
        voters[i] = g.node(g.voterUri(i), "voter-" + i);
      }
      await()
          .atMost(patience())
          .until(() -> Arrays.stream(voters).allMatch(v -> v.map().replica().isReady()));
      for (int i = 0; i < 150; i++) {
        voters[i % 3].counter("total").incrementAndGet(1);
      }
      long revision = voters[0].map().replica().appliedRevision();
      for (Lockstep v : voters) {
        v.close();
      }
      for (int i = 0; i < 3; i++) {
        voters[i] = g.node(g.voterUri(i), "voter-" + i + "-again");
      }
      await()
          .atMost(patience())
          .until(() -> Arrays.stream(voters).allMatch(v -> v.map().replica().isReady()));
      await()
          .atMost(patience())
          .ignoreExceptions()
          .until(() -> voters[1].counter("total").get() == 150);
      assertThat(voters[2].counter("total").incrementAndGet(1)).isEqualTo(151);
      assertThat(voters[0].map().replica().appliedRevision())
          .as("counters are not map revisions")
          .isEqualTo(revision);
    }
  }
}
