package io.lockstep.peer;

import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.spi.Snapshot;
import io.lockstep.testkit.ReplicatedMapContract;
import java.util.concurrent.TimeUnit;

/**
 * The replicated-map contract on the peer backend, in this JVM. Each test's namespace is a group of
 * its own: three voters on free loopback ports, two of them plain backends started here (the
 * "source", which also writes behind the nodes' backs and lists for the digest), the third the
 * first node the test asks for; every further node joins as a non-voter. So the suite runs nodes of
 * both kinds: a voter (often the leader) and non-voters that forward to it.
 */
class PeerReplicatedMapContractIT extends ReplicatedMapContract {
  private PeerGroup group;
  private PeerBackend source;
  private int nodes;

  @Override
  protected Lockstep newNode(String keyPrefix) {
    if (group == null || !group.cluster.equals(keyPrefix)) {
      group = closeAfterTest(new PeerGroup(keyPrefix, 3));
      source = group.backend(group.voterUri(0), "source-0");
      group.backend(group.voterUri(1), "source-1");
      nodes = 0;
    }
    int n = nodes++;
    return group.node(n == 0 ? group.voterUri(2) : group.nonVoterUri(), "node-" + n);
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    source
        .put(key, value, "application/octet-stream", PeerBackend.ANY_REVISION)
        .orTimeout(patience().toMillis(), TimeUnit.MILLISECONDS)
        .join();
  }

  @Override
  protected long sourceDigest(String keyPrefix) {
    Snapshot s = source.snapshot().orTimeout(patience().toMillis(), TimeUnit.MILLISECONDS).join();
    return Digests.of(s.entries());
  }
}
