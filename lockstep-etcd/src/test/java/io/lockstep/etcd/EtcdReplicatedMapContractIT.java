package io.lockstep.etcd;

import io.lockstep.Lockstep;
import io.lockstep.process.EtcdProcess;
import io.lockstep.testkit.ReplicatedMapContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The replicated-map contract on a real etcd: one server for the class, a namespace per test. */
class EtcdReplicatedMapContractIT extends ReplicatedMapContract {
  private static EtcdProcess etcd;
  private static EtcdSource source;

  @BeforeAll
  static void startEtcd() {
    etcd = new EtcdProcess();
    source = new EtcdSource(etcd);
  }

  @AfterAll
  static void stopEtcd() {
    source.close();
    etcd.close();
  }

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder().backend(etcd.backendUri()).keyPrefix(keyPrefix).build();
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    source.put(keyPrefix, key, value);
  }

  @Override
  protected long sourceDigest(String keyPrefix) {
    return source.digest(keyPrefix);
  }
}
