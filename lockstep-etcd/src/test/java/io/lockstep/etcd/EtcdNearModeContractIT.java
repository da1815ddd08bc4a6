package io.lockstep.etcd;

import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.testkit.NearModeContract;
import io.lockstep.testkit.TestResource;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The near-mode contract on a real etcd: one server for the class, a namespace per test. */
class EtcdNearModeContractIT extends NearModeContract {
  @RegisterExtension
  static final TestResource<EtcdSource> etcd = TestResource.of(EtcdSource::onNewServer);

  @Override
  protected LockstepBuilder builder(String keyPrefix) {
    return Lockstep.builder().backend(etcd.get().server().backendUri()).keyPrefix(keyPrefix);
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    etcd.get().put(keyPrefix, key, value);
  }
}
