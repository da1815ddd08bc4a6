package io.lockstep.postgres;

import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.testkit.NearModeContract;
import io.lockstep.testkit.TestResource;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The near-mode contract on a real PostgreSQL, on Lockstep's key-value table: one server for the
 * class, a namespace (and so a table) per test. External writes are plain SQL upserts.
 */
class PostgresNearModeContractIT extends NearModeContract {
  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  @Override
  protected LockstepBuilder builder(String keyPrefix) {
    return Lockstep.builder().backend(pg.get().backendUri()).keyPrefix(keyPrefix);
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    pg.get().putKv(keyPrefix, key, value, "text/plain");
  }
}
