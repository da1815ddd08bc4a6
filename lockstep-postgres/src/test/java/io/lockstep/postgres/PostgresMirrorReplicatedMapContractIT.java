package io.lockstep.postgres;

import io.lockstep.Lockstep;
import io.lockstep.testkit.ReplicatedMapContract;
import io.lockstep.testkit.TestResource;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The replicated-map contract, unchanged, on a mirrored table: each namespace mirrors a table of
 * its own ({@link MirrorTables}); values of any bytes and type travel as JSON rows through {@link
 * JsonEnvelopeBackend}, so the mirror's SQL (upserts through {@code jsonb_populate_record}, row
 * listing, the trigger, conditions, request ids) carries every test. External writes are SQL
 * upserts of the row.
 */
class PostgresMirrorReplicatedMapContractIT extends ReplicatedMapContract {
  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return MirrorTables.node(pg.get(), keyPrefix);
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    MirrorTables.writeExternally(pg.get(), keyPrefix, key, value);
  }

  @Override
  protected long sourceDigest(String keyPrefix) {
    return MirrorTables.digest(pg.get(), keyPrefix);
  }
}
