package io.lockstep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.spi.BackendUri;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class DurationsTest {

  @Test
  void oneGrammar_readsEveryUnit() {
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Durations.parse(" 1H ")).isEqualTo(Duration.ofHours(1));
    assertThat(Durations.parse("PT1.5S")).isEqualTo(Duration.ofMillis(1500));
    assertThat(Durations.parse("0s")).isZero();
  }

  @Test
  void badDurations_areRefused_showingTheGrammar() {
    for (String bad : List.of("-1s", "1d", "abc", "", "s", "1.5s", "ms10")) {
      assertThatThrownBy(() -> Durations.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("500ms");
    }
    assertThatThrownBy(() -> Durations.parse("10"))
        .hasMessageContaining("needs a unit")
        .hasMessageContaining("10s");
    assertThatThrownBy(() -> Durations.parsePositive("0ms")).hasMessageContaining("positive");
  }

  @Test
  void backendUris_readTheSameGrammar_asTheCommandLine() {
    for (String v : List.of("250ms", "3s", "1m", "1h", "PT2S")) {
      assertThat(BackendUri.parseDuration("timeout", v)).as(v).isEqualTo(Durations.parse(v));
    }
    assertThatThrownBy(() -> BackendUri.parseDuration("member_ttl", "10"))
        .hasMessage(
            "backend URI: member_ttl needs a unit: write member_ttl=10s (or ms, m, h), was '10'");
    assertThatThrownBy(() -> BackendUri.parseDuration("timeout", "0s"))
        .hasMessageContaining("timeout must be positive");
    assertThatThrownBy(() -> BackendUri.parseDuration("timeout", "3d"))
        .hasMessageStartingWith("backend URI: timeout:");
  }
}
