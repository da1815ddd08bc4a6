package io.lockstep.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A bench configuration is checked by its own constructor: an invalid one cannot be built. */
class BenchConfigTest {
  private static final List<URI> ONE = List.of(URI.create("http://127.0.0.1:1"));
  private static final Duration S = Duration.ofSeconds(1);

  @Test
  void validFields_build() {
    BenchConfig c =
        new BenchConfig(
            ONE, 2, 1, S, 1, BenchConfig.Scenario.LAB, Duration.ZERO, S, true, null, null);
    assertThat(c.targets()).isEqualTo(ONE);
  }

  @Test
  void invalidFields_areRefused_namingTheField() {
    var lab = BenchConfig.Scenario.LAB;
    assertThatThrownBy(
            () -> new BenchConfig(List.of(), 2, 1, S, 1, lab, Duration.ZERO, S, true, null, null))
        .hasMessageStartingWith("targets:");
    assertThatThrownBy(
            () ->
                new BenchConfig(
                    List.of(URI.create("ftp://h")),
                    2,
                    1,
                    S,
                    1,
                    lab,
                    Duration.ZERO,
                    S,
                    true,
                    null,
                    null))
        .hasMessageStartingWith("targets:");
    assertThatThrownBy(
            () -> new BenchConfig(ONE, 0, 1, S, 1, lab, Duration.ZERO, S, true, null, null))
        .hasMessageStartingWith("users:");
    assertThatThrownBy(
            () -> new BenchConfig(ONE, 1, 0, S, 1, lab, Duration.ZERO, S, true, null, null))
        .hasMessageStartingWith("spawnRate:");
    assertThatThrownBy(
            () ->
                new BenchConfig(
                    ONE, 1, 1, Duration.ZERO, 1, lab, Duration.ZERO, S, true, null, null))
        .hasMessageStartingWith("duration:");
    assertThatThrownBy(
            () -> new BenchConfig(ONE, 1, 1, S, 1, lab, S, Duration.ZERO, true, null, null))
        .hasMessageStartingWith("think time:");
    assertThatThrownBy(
            () -> new BenchConfig(ONE, 1, 1, S, 1, null, Duration.ZERO, S, true, null, null))
        .hasMessageStartingWith("scenario:");
  }
}
