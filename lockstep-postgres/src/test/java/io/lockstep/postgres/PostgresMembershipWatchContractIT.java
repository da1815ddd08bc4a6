package io.lockstep.postgres;

import io.lockstep.Lockstep;
import io.lockstep.testkit.MembershipWatchContract;
import io.lockstep.testkit.TcpProxy;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The membership-watch contract on a real PostgreSQL. The watch polls the members table every half
 * second; a node is killed by freezing its only route to PostgreSQL (a paused proxy), so its record
 * ({@code member_ttl=2s}) is no longer renewed and expires.
 */
class PostgresMembershipWatchContractIT extends MembershipWatchContract {
  private static final int MEMBER_TTL_SECONDS = 2;

  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix, String instanceId) {
    return Lockstep.builder()
        .backend(pg.get().backendUri())
        .keyPrefix(keyPrefix)
        .instanceId(instanceId)
        .build();
  }

  @Override
  protected KillableNode newKillableNode(String keyPrefix, String instanceId) {
    TcpProxy proxy = closeAfterTest(new TcpProxy("127.0.0.1", pg.get().server().port()));
    Lockstep node =
        Lockstep.builder()
            .backend(
                pg.get().server().backendUri(proxy.endpoint())
                    + "?member_ttl="
                    + MEMBER_TTL_SECONDS
                    + "s")
            .keyPrefix(keyPrefix)
            .instanceId(instanceId)
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
    return Duration.ofSeconds(MEMBER_TTL_SECONDS + 3);
  }
}
