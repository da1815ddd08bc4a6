package io.lockstep.redis;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class UndecodableValuesTest {

  @Test
  void everyFindIsCounted_eachKeyIsNewOnce_andTheLatestDistinctKeysAreShownMostRecentLast() {
    UndecodableValues u = new UndecodableValues();
    assertThat(u.found("a")).as("first find of a: log it").isTrue();
    assertThat(u.found("b")).isTrue();
    assertThat(u.found("a")).as("a again: already logged").isFalse();
    u.foundUnnamed();

    assertThat(u.count()).isEqualTo(4);
    assertThat(u.latestKeys()).containsExactly("b", "a");
  }

  @Test
  void theShownKeysAreBounded_andTheRememberedOnesToo() {
    UndecodableValues u = new UndecodableValues();
    for (int i = 0; i < UndecodableValues.REMEMBERED + 5; i++) {
      u.found("k" + i);
    }
    int last = UndecodableValues.REMEMBERED + 4;
    assertThat(u.latestKeys())
        .hasSize(UndecodableValues.SHOWN)
        .endsWith("k" + last)
        .startsWith("k" + (last - UndecodableValues.SHOWN + 1));
    assertThat(u.found("k" + last)).as("still remembered").isFalse();
    assertThat(u.found("k0")).as("forgotten beyond the bound: logged again").isTrue();
  }
}
