package io.lockstep.postgres;

import io.lockstep.Lockstep;
import io.lockstep.testkit.ClusterCounterContract;
import io.lockstep.testkit.TestResource;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The cluster-counter contract, unchanged, on a backend that mirrors a table ({@link
 * MirrorTables}).
 */
class PostgresMirrorClusterCounterContractIT extends ClusterCounterContract {
  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return MirrorTables.node(pg.get(), keyPrefix);
  }
}
