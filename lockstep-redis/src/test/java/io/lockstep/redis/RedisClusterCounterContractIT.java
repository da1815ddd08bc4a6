package io.lockstep.redis;

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
 * The cluster-counter contract on a real Redis started with an append-only file, plus what only
 * Redis shows: the key layout, and that a restarted Redis keeps the total.
 */
class RedisClusterCounterContractIT extends ClusterCounterContract {
  @RegisterExtension
  static final TestResource<RedisSource> redis = TestResource.of(RedisSource::onNewServerWithAof);

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder()
        .backend(redis.get().server().backendUri())
        .keyPrefix(keyPrefix)
        .operationTimeout(Duration.ofSeconds(2))
        .build();
  }

  @Test
  void counter_survivesARedisRestartWithAof_andFailsFastWhileRedisIsDown() {
    Lockstep a = closeAfterTest(newNode(prefix));
    for (int i = 0; i < 300; i++) {
      a.counter("total").incrementAndGet(1);
    }
    assertThat(redis.get().raw(prefix, "counter:total")).isEqualTo("300");
    long mapRevision = redis.get().revision(prefix);
    assertThat(mapRevision).isZero(); // counters are not map changes
    redis.get().server().stop();
    assertThatThrownBy(() -> a.counter("total").incrementAndGet(1))
        .isInstanceOf(BackendUnavailableException.class);
    redis.get().server().start();
    Lockstep b = closeAfterTest(newNode(prefix));
    assertThat(b.counter("total").get()).isEqualTo(300);
    // The first node's connection comes back too.
    Awaitility.await()
        .atMost(patience())
        .ignoreExceptions()
        .until(() -> a.counter("total").incrementAndGet(1) == 301);
    assertThat(b.counter("total").get()).isEqualTo(301);
  }
}
