package io.lockstep.spring;

import io.lockstep.Lockstep;
import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.context.ConfigurableApplicationContext;

/** The health indicator on Spring Boot 4's health API. */
class LockstepHealthIT extends AbstractHealthIT {

  private static Map.Entry<String, Map<String, Object>> of(Health h) {
    return Map.entry(h.getStatus().getCode(), h.getDetails());
  }

  @Override
  Map.Entry<String, Map<String, Object>> health(ConfigurableApplicationContext ctx) {
    return of(ctx.getBean("lockstepHealthIndicator", LockstepHealthIndicator.class).health(true));
  }

  @Override
  Map.Entry<String, Map<String, Object>> health(Lockstep node) {
    return of(new LockstepHealthIndicator(node).health(true));
  }
}
