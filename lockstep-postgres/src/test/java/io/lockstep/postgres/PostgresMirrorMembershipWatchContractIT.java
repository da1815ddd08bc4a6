package io.lockstep.postgres;

import io.lockstep.Lockstep;
import io.lockstep.testkit.MembershipWatchContract;
import io.lockstep.testkit.TcpProxy;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The membership-watch contract on a backend that mirrors a table ({@link MirrorTables}); a node is
 * killed by freezing its only route to PostgreSQL, so its record ({@code member_ttl=2s}) expires.
 */
class PostgresMirrorMembershipWatchContractIT extends MembershipWatchContract {
  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix, String instanceId) {
    return MirrorTables.builder(pg.get(), pg.get().backendUri(), keyPrefix, instanceId).build();
  }

  @Override
  protected KillableNode newKillableNode(String keyPrefix, String instanceId) {
    TcpProxy proxy = closeAfterTest(new TcpProxy("127.0.0.1", pg.get().server().port()));
    Lockstep node =
        MirrorTables.builder(
                pg.get(),
                pg.get().server().backendUri(proxy.endpoint()) + "?member_ttl=2s&timeout=2s",
                keyPrefix,
                instanceId)
            .operationTimeout(Duration.ofSeconds(2))
            .build();
    return new KillableNode(node, proxy::pause);
  }

  @Override
  protected Duration joinBound() {
    return Duration.ofSeconds(2);
  }

  @Override
  protected Duration leaveBound() {
    return Duration.ofSeconds(2);
  }

  @Override
  protected Duration crashBound() {
    return Duration.ofSeconds(5);
  }
}
