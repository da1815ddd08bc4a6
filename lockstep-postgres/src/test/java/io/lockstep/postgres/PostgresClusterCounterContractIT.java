package io.lockstep.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.BackendUnavailableException;
import io.lockstep.Lockstep;
import io.lockstep.testkit.ClusterCounterContract;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The cluster-counter contract on a real PostgreSQL, on the key-value table, plus a restart: the
 * total survives it and increments fail fast while the server is down.
 */
class PostgresClusterCounterContractIT extends ClusterCounterContract {
  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder()
        .backend(pg.get().backendUri())
        .keyPrefix(keyPrefix)
        .operationTimeout(Duration.ofSeconds(2))
        .build();
  }

  @Test
  void counter_survivesAPostgresRestart_andFailsWhileItIsDown() {
    Lockstep a = closeAfterTest(newNode(prefix));
    for (int i = 0; i < 300; i++) {
      a.counter("total").incrementAndGet(1);
    }
    assertThat(pg.get().head(prefix)).as("counters are not map changes").isZero();
    pg.get().server().stop();
    assertThatThrownBy(() -> a.counter("total").incrementAndGet(1))
        .isInstanceOf(BackendUnavailableException.class);
    pg.get().server().start();
    Lockstep b = closeAfterTest(newNode(prefix));
    assertThat(b.counter("total").get()).isEqualTo(300);
    Awaitility.await()
        .atMost(patience())
        .ignoreExceptions()
        .until(() -> a.counter("total").incrementAndGet(1) == 301);
    assertThat(b.counter("total").get()).isEqualTo(301);
  }
}
