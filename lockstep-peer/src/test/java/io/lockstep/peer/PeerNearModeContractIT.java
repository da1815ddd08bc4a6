package io.lockstep.peer;

import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.testkit.NearModeContract;
import java.util.concurrent.TimeUnit;

/**
 * The near-mode contract on the peer backend, in this JVM: per namespace a group of three voters on
 * free loopback ports, two of them plain backends started here (the "source"), the third the first
 * node the test asks for (the full-mode writer); the near node joins as a non-voter.
 */
class PeerNearModeContractIT extends NearModeContract {
  private PeerGroup group;
  private PeerBackend source;
  private int nodes;

  @Override
  protected LockstepBuilder builder(String keyPrefix) {
    if (group == null || !group.cluster.equals(keyPrefix)) {
      group = closeAfterTest(new PeerGroup(keyPrefix, 3));
      source = group.backend(group.voterUri(0), "source-0");
      group.backend(group.voterUri(1), "source-1");
      nodes = 0;
    }
    int n = nodes++;
    String id = "node-" + n;
    return Lockstep.builder()
        .backend(n == 0 ? group.voterUri(2) : group.nonVoterUri())
        .keyPrefix(keyPrefix)
        .instanceId(id)
        .advertiseUrl("http://" + id + ".test");
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    source
        .put(key, value, "application/octet-stream", PeerBackend.ANY_REVISION)
        .orTimeout(patience().toMillis(), TimeUnit.MILLISECONDS)
        .join();
  }
}
