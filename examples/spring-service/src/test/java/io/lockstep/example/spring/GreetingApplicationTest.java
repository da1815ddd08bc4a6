package io.lockstep.example.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Codec;
import io.lockstep.Lockstep;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The service on a real embedded peer backend (a group of one, its Raft log in a temp folder). */
@SpringBootTest
@DirtiesContext(classMode = DirtiesContext.ClassMode.AFTER_CLASS) // closed before the folder goes
class GreetingApplicationTest {
  @TempDir static Path data;

  @DynamicPropertySource
  static void backend(DynamicPropertyRegistry registry) {
    registry.add("lockstep.backend", () -> "peer://?data=" + data.resolve("raft"));
  }

  @Autowired GreetingService service;
  @Autowired GreetingProperties properties;
  @Autowired Lockstep lockstep;

  @Test
  void quote_isSlowOnce_thenFastFromTheCache() throws Exception {
    long t0 = System.nanoTime();
    assertThat(service.quote("LCK")).isEqualTo("LCK: 300");
    Duration first = Duration.ofNanos(System.nanoTime() - t0);

    long t1 = System.nanoTime();
    assertThat(service.quote("LCK")).isEqualTo("LCK: 300");
    Duration second = Duration.ofNanos(System.nanoTime() - t1);

    assertThat(first).isGreaterThanOrEqualTo(GreetingService.LOOKUP_TIME);
    assertThat(second).isLessThan(GreetingService.LOOKUP_TIME);
    assertThat(service.lookups()).isEqualTo(1);

    service.forget("LCK");
    service.quote("LCK");
    assertThat(service.lookups()).isEqualTo(2);
  }

  @Test
  void configChange_isSeenByTheSamePropertiesBean() {
    GreetingProperties before = properties;
    assertThat(service.greet("Ann")).isEqualTo("Hello, Ann!");

    lockstep.map("config", Codec.string()).put("greeting.text", "Hola");

    await().atMost(Duration.ofSeconds(1)).until(() -> properties.getText().equals("Hola"));
    assertThat(service.greet("Ann")).isEqualTo("Hola, Ann!");
    assertThat(properties).isSameAs(before);
  }
}
