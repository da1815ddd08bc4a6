package io.lockstep.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.BackendUnavailableException;
import io.lockstep.Lockstep;
import io.lockstep.testkit.ClusterCounterContract;
import io.lockstep.process.RedisProcess;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cluster-counter contract on a real Redis started with an append-only file, plus what only
 * Redis shows: the key layout, and that a restarted Redis keeps the total.
 */
class RedisClusterCounterContractIT extends ClusterCounterContract {
  private static RedisProcess redis;
  private static RedisSource source;

  @BeforeAll
  static void startRedis() {
    redis = RedisProcess.withAof();
    source = new RedisSource(redis);
  }

  @AfterAll
  static void stopRedis() {
    source.close();
    redis.close();
  }

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder().backend(redis.backendUri()).keyPrefix(keyPrefix)
        .operationTimeout(Duration.ofSeconds(2)).build();
  }

  @Test
  void counter_survivesARedisRestartWithAof_andFailsFastWhileRedisIsDown() {
    Lockstep a = closeAfterTest(newNode(prefix));
    for (int i = 0; i < 300; i++) {
      a.counter("total").incrementAndGet(1);
    }
    assertThat(source.raw(prefix, "counter:total")).isEqualTo("300");
    long mapRevision = source.revision(prefix);
    assertThat(mapRevision).isZero(); // counters are not map changes
    redis.stop();
    assertThatThrownBy(() -> a.counter("total").incrementAndGet(1)).isInstanceOf(BackendUnavailableException.class);
    redis.start();
    Lockstep b = closeAfterTest(newNode(prefix));
    assertThat(b.counter("total").get()).isEqualTo(300);
    // The first node's connection comes back too.
    Awaitility.await().atMost(patience()).ignoreExceptions().until(() -> a.counter("total").incrementAndGet(1) == 301);
    assertThat(b.counter("total").get()).isEqualTo(301);
  }
}
