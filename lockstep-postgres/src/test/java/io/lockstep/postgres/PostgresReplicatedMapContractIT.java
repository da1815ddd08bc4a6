package io.lockstep.postgres;

import io.lockstep.Lockstep;
import io.lockstep.testkit.ReplicatedMapContract;
import io.lockstep.testkit.TestResource;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The replicated-map contract on a real PostgreSQL, on Lockstep's key-value table: one server for
 * the class, a namespace (and so a table) per test. External writes are plain SQL upserts.
 */
class PostgresReplicatedMapContractIT extends ReplicatedMapContract {
  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder().backend(pg.get().backendUri()).keyPrefix(keyPrefix).build();
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    pg.get().putKv(keyPrefix, key, value, "application/json");
  }

  @Override
  protected long sourceDigest(String keyPrefix) {
    return pg.get().kvDigest(keyPrefix);
  }
}
