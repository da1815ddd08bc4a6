package io.lockstep.etcd;

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
 * The cluster-counter contract on a real etcd, plus what only etcd shows: the key under {@code
 * _counters/}, and that a restarted etcd keeps the total. Increments contend on one key
 * (compare-and-swap with retry), so the 64-thread test does fewer per thread and the nodes get a
 * longer operation timeout.
 */
class EtcdClusterCounterContractIT extends ClusterCounterContract {
  @RegisterExtension
  static final TestResource<EtcdSource> etcd = TestResource.of(EtcdSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder()
        .backend(etcd.get().server().backendUri())
        .keyPrefix(keyPrefix)
        .operationTimeout(Duration.ofSeconds(20))
        .build();
  }

  @Override
  protected int incrementsPerThread() {
    return 10;
  }

  @Test
  void counter_survivesAnEtcdRestart_andFailsWhileEtcdIsDown() {
    Lockstep a =
        closeAfterTest(
            Lockstep.builder()
                .backend(etcd.get().server().backendUri())
                .keyPrefix(prefix)
                .operationTimeout(Duration.ofSeconds(2))
                .build());
    for (int i = 0; i < 200; i++) {
      a.counter("total").incrementAndGet(1);
    }
    assertThat(etcd.get().raw(prefix, "_counters/total")).isEqualTo("200");
    etcd.get().server().stop();
    assertThatThrownBy(() -> a.counter("total").incrementAndGet(1))
        .isInstanceOf(BackendUnavailableException.class);
    etcd.get().server().start();
    Lockstep b = closeAfterTest(newNode(prefix));
    assertThat(b.counter("total").get()).isEqualTo(200);
    Awaitility.await()
        .atMost(patience())
        .ignoreExceptions()
        .until(() -> a.counter("total").incrementAndGet(1) == 201);
    assertThat(b.counter("total").get()).isEqualTo(201);
  }
}
