package io.lockstep.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which keys a {@code @ConfigurationProperties} prefix covers. */
class LockstepLiveConfigTest {

  @Test
  void covers_thePrefixItselfAndEveryKeyBelowIt() {
    assertThat(LockstepLiveConfig.covers("app.greeting", Set.of("app.greeting.text"))).isTrue();
    assertThat(LockstepLiveConfig.covers("app.greeting", Set.of("app.greeting"))).isTrue();
    assertThat(LockstepLiveConfig.covers("app.greeting", Set.of("app.greeting.max-items")))
        .isTrue();
    assertThat(LockstepLiveConfig.covers("app.greeting", Set.of("app.greeting.names[0]"))).isTrue();
    assertThat(LockstepLiveConfig.covers("app.greeting", Set.of("other", "app.greeting.a.b")))
        .isTrue();
  }

  @Test
  void covers_notASiblingWithTheSameStart_norAParent() {
    assertThat(LockstepLiveConfig.covers("app.greeting", Set.of("app.greetings.text"))).isFalse();
    assertThat(LockstepLiveConfig.covers("app.greeting", Set.of("app.greet"))).isFalse();
    assertThat(LockstepLiveConfig.covers("app.greeting", Set.of("app"))).isFalse();
    assertThat(LockstepLiveConfig.covers("app.greeting", Set.of("unrelated.flag"))).isFalse();
  }
}
