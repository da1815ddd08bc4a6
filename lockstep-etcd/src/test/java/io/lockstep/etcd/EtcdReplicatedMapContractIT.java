package io.lockstep.etcd;

import io.lockstep.Lockstep;
import io.lockstep.testkit.ReplicatedMapContract;
import io.lockstep.testkit.TestResource;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The replicated-map contract on a real etcd: one server for the class, a namespace per test. */
class EtcdReplicatedMapContractIT extends ReplicatedMapContract {
  @RegisterExtension
  static final TestResource<EtcdSource> etcd = TestResource.of(EtcdSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder()
        .backend(etcd.get().server().backendUri())
        .keyPrefix(keyPrefix)
        .build();
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    etcd.get().put(keyPrefix, key, value);
  }

  @Override
  protected long sourceDigest(String keyPrefix) {
    return etcd.get().digest(keyPrefix);
  }
}
