package io.lockstep.postgres;

import io.lockstep.LockstepBuilder;
import io.lockstep.testkit.NearModeContract;
import io.lockstep.testkit.TestResource;
import java.util.UUID;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The near-mode contract, unchanged, on a mirrored table ({@link MirrorTables}): a near node loads
 * rows by primary key and follows the trigger's changes to the rows it holds. External writes are
 * SQL upserts of the row.
 */
class PostgresMirrorNearModeContractIT extends NearModeContract {
  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  @Override
  protected LockstepBuilder builder(String keyPrefix) {
    return MirrorTables.builder(
        pg.get(),
        pg.get().backendUri(),
        keyPrefix,
        "n-" + UUID.randomUUID().toString().substring(0, 8));
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    MirrorTables.writeExternally(pg.get(), keyPrefix, key, value);
  }
}
