package io.lockstep.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.LongSummaryStatistics;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static final long MS = 1_000_000;
  private final Backoff backoff = Backoff.of(Duration.ofMillis(100), Duration.ofMillis(5000));

  @Test
  void ceiling_doublesFromMinAndIsCappedAtMax() {
    assertThat(backoff.ceilingNanos(1)).isEqualTo(100 * MS);
    assertThat(backoff.ceilingNanos(2)).isEqualTo(200 * MS);
    assertThat(backoff.ceilingNanos(3)).isEqualTo(400 * MS);
    assertThat(backoff.ceilingNanos(6)).isEqualTo(3200 * MS);
    assertThat(backoff.ceilingNanos(7)).isEqualTo(5000 * MS);
    assertThat(backoff.ceilingNanos(64)).isEqualTo(5000 * MS);
    assertThat(backoff.ceilingNanos(Integer.MAX_VALUE)).as("no overflow").isEqualTo(5000 * MS);
    Backoff tiny =
        Backoff.of(Duration.ofNanos(1), Duration.ofSeconds(Long.MAX_VALUE / 1_000_000_000L));
    assertThat(tiny.ceilingNanos(63)).isEqualTo(1L << 62);
    assertThat(tiny.ceilingNanos(64)).isEqualTo(tiny.max().toNanos());
  }

  @Test
  void delay_staysWithinJitterBounds_forEveryAttempt() {
    SplittableRandom random = new SplittableRandom(7);
    for (int attempt = 1; attempt <= 12; attempt++) {
      long ceiling = backoff.ceilingNanos(attempt);
      for (int i = 0; i < 1000; i++) {
        assertThat(backoff.delayNanos(attempt, random)).isBetween(ceiling / 2, ceiling);
        assertThat(backoff.withJitter(1).delayNanos(attempt, random)).isBetween(0L, ceiling);
      }
      assertThat(backoff.withJitter(0).delayNanos(attempt, random)).isEqualTo(ceiling);
    }
  }

  @Test
  void jitter_withFixedSeed_replaysAndSpreadsOverTheWholeRange() {
    List<Long> first = draws(new SplittableRandom(42), 2000);
    assertThat(draws(new SplittableRandom(42), 2000)).isEqualTo(first);
    assertThat(draws(new SplittableRandom(43), 2000)).isNotEqualTo(first);
    LongSummaryStatistics s = first.stream().mapToLong(Long::longValue).summaryStatistics();
    assertThat(s.getMin()).isBetween(50 * MS, 51 * MS);
    assertThat(s.getMax()).isBetween(99 * MS, 100 * MS);
    assertThat(s.getAverage()).isBetween(73.0 * MS, 77.0 * MS);
  }

  private List<Long> draws(SplittableRandom random, int n) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(backoff.delayNanos(1, random));
    }
    return out;
  }

  @Test
  void attempts_growWithEachFailure_andResetStartsOver() {
    Backoff.Attempts a = backoff.withJitter(0).attempts(new SplittableRandom(1));
    List<Long> delays = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      delays.add(a.nextNanos() / MS);
    }
    assertThat(delays).containsExactly(100L, 200L, 400L, 800L, 1600L, 3200L, 5000L, 5000L);
    assertThat(a.failures()).isEqualTo(8);
    a.reset();
    assertThat(a.failures()).isZero();
    assertThat(a.nextNanos()).isEqualTo(100 * MS);
    assertThat(a.nextNanos()).isEqualTo(200 * MS);
    for (int i = 0; i < 1000; i++) {
      a.nextNanos();
    }
    assertThat(a.nextNanos()).as("long runs of failures stay at max").isEqualTo(5000 * MS);
    assertThat(a.failures()).isEqualTo(64);
  }

  @Test
  void attempts_withSameSeed_giveTheSameDelays() {
    Backoff.Attempts a = backoff.attempts(new SplittableRandom(9));
    Backoff.Attempts b = backoff.attempts(new SplittableRandom(9));
    for (int i = 0; i < 20; i++) {
      assertThat(a.nextNanos()).isEqualTo(b.nextNanos());
    }
  }

  @Test
  void badSettings_areRejectedNamingTheField() {
    assertThatThrownBy(() -> Backoff.of(Duration.ZERO, Duration.ofSeconds(1)))
        .hasMessageStartingWith("min:");
    assertThatThrownBy(() -> Backoff.of(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .hasMessageStartingWith("max:");
    assertThatThrownBy(() -> backoff.withJitter(1.5)).hasMessageStartingWith("jitter:");
    assertThatThrownBy(() -> backoff.withJitter(Double.NaN)).hasMessageStartingWith("jitter:");
    assertThatThrownBy(() -> backoff.ceilingNanos(0)).hasMessageStartingWith("attempt:");
  }
}
