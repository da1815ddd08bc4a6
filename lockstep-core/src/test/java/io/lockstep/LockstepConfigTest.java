package io.lockstep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** A configuration is valid or does not exist: the record's own constructor checks every field. */
class LockstepConfigTest {
  private static final Duration S = Duration.ofSeconds(1);

  private static LockstepConfig valid() {
    return new LockstepConfig(
        "peer:",
        null,
        "app",
        "node-1",
        "",
        S,
        S,
        Duration.ofMillis(100),
        S,
        S,
        1024,
        1 << 20,
        7,
        java.util.concurrent.ForkJoinPool.commonPool(),
        100);
  }

  private static LockstepConfig with(UnaryOperator<Object[]> change) {
    LockstepConfig c = valid();
    Object[] f = {
      c.backendUri(),
      c.backend(),
      c.keyPrefix(),
      c.instanceId(),
      c.advertiseUrl(),
      c.operationTimeout(),
      c.applyTimeout(),
      c.reconnectBackoffMin(),
      c.reconnectBackoffMax(),
      c.progressInterval(),
      c.maxKeyBytes(),
      c.maxValueBytes(),
      c.randomSeed(),
      c.callbackExecutor(),
      c.maxPendingChanges()
    };
    f = change.apply(f);
    return new LockstepConfig(
        (String) f[0],
        (io.lockstep.spi.Backend) f[1],
        (String) f[2],
        (String) f[3],
        (String) f[4],
        (Duration) f[5],
        (Duration) f[6],
        (Duration) f[7],
        (Duration) f[8],
        (Duration) f[9],
        (int) f[10],
        (int) f[11],
        (long) f[12],
        (java.util.concurrent.Executor) f[13],
        (int) f[14]);
  }

  private static UnaryOperator<Object[]> set(int i, Object v) {
    return f -> {
      f[i] = v;
      return f;
    };
  }

  @Test
  void aValidConfiguration_isBuilt() {
    assertThat(valid().keyPrefix()).isEqualTo("app");
    assertThat(with(set(4, null)).advertiseUrl()).isEmpty();
  }

  @Test
  void theConstructor_refusesEveryInvalidField_namingIt() {
    Object[][] cases = {
      {0, null, "backend"},
      {0, " ", "backend"},
      {2, "", "keyPrefix"},
      {2, "a/", "keyPrefix"},
      {2, null, "keyPrefix"},
      {3, null, "instanceId"},
      {3, "has space", "instanceId"},
      {3, "x".repeat(129), "instanceId"},
      {5, Duration.ZERO, "operationTimeout"},
      {5, null, "operationTimeout"},
      {6, Duration.ofSeconds(-1), "applyTimeout"},
      {7, Duration.ZERO, "reconnectBackoffMin"},
      {8, Duration.ofMillis(50), "reconnectBackoffMax"},
      {8, null, "reconnectBackoffMax"},
      {9, Duration.ZERO, "progressInterval"},
      {10, 0, "maxKeyBytes"},
      {11, -1, "maxValueBytes"}
    };
    for (Object[] c : cases) {
      assertThatThrownBy(() -> with(set((int) c[0], c[1])))
          .as(c[2] + " = " + c[1])
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith(c[2] + ":");
    }
  }

  @Test
  void theBuilder_givesTheSameAnswers() {
    assertThatThrownBy(() -> Lockstep.builder().backend("peer:").keyPrefix("a/").config())
        .hasMessageStartingWith("keyPrefix:");
    assertThatThrownBy(() -> Lockstep.builder().config()).hasMessageStartingWith("backend:");
    assertThat(Lockstep.builder().backend("peer:").config().instanceId()).startsWith("ls-");
  }
}
