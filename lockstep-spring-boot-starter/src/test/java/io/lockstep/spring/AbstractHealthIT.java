package io.lockstep.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.Lockstep;
import io.lockstep.process.FreePorts;
import io.lockstep.process.TempDirs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The health indicator, through the health API of the Spring Boot line on the class path (one
 * subclass per line): UP with the replica's details in a started application (a group of one on the
 * peer backend), DOWN for a node that has not listed yet, and the startup wait that fails then.
 */
abstract class AbstractHealthIT {

  /**
   * The status code ({@code UP}, {@code DOWN}) and details of the indicator bean of {@code ctx}.
   */
  abstract Map.Entry<String, Map<String, Object>> health(ConfigurableApplicationContext ctx);

  /** The same, of an indicator made here over {@code node}. */
  abstract Map.Entry<String, Map<String, Object>> health(Lockstep node);

  @Test
  void startedApplication_isUp_withTheReplicaDetails() throws Exception {
    try (SpringCluster one = new SpringCluster(1)) {
      ConfigurableApplicationContext ctx = one.start().get(0);
      long written =
          ctx.getBean(Lockstep.class)
              .map()
              .put("probe", new byte[] {1}, "application/octet-stream")
              .revision();
      Map.Entry<String, Map<String, Object>> h = health(ctx);
      assertThat(h.getKey()).isEqualTo("UP");
      assertThat(h.getValue())
          .containsKeys("appliedRevision", "headRevision", "lag", "resets", "mode", "backend")
          .containsEntry("mode", "full")
          .containsEntry("lag", 0L);
      assertThat((String) h.getValue().get("backend")).startsWith("peer://127.0.0.1:");
      assertThat((Long) h.getValue().get("appliedRevision")).isGreaterThanOrEqualTo(written);
    }
  }

  @Test
  void nodeBeforeItsFirstListing_isDown_andTheStartupWaitFails() {
    // a voter of a three-voter group whose other voters never start: it never gets a majority
    List<Integer> ports = FreePorts.take(3);
    Path data = TempDirs.create("lockstep-spring-down-");
    String list = ports.stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
    try (Lockstep lonely =
        Lockstep.builder()
            .backend(
                "peer://"
                    + list
                    + "?bind=127.0.0.1:"
                    + ports.get(0)
                    + "&data="
                    + data
                    + "&failure_timeout=3s")
            .keyPrefix("lonely-" + System.nanoTime())
            .build()) {
      Map.Entry<String, Map<String, Object>> h = health(lonely);
      assertThat(h.getKey()).isEqualTo("DOWN");
      assertThat(h.getValue()).containsEntry("appliedRevision", 0L);
      assertThatThrownBy(() -> LockstepAutoConfiguration.awaitReady(lonely, Duration.ofMillis(300)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("not ready")
          .hasMessageContaining("lockstep.startup-timeout");
    } finally {
      TempDirs.deleteTree(data);
    }
  }
}
