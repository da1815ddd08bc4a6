package io.lockstep.spring;

import io.lockstep.Lockstep;
import java.util.Map;
import org.springframework.boot.actuate.health.Health;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The health indicator on Spring Boot 3's health API; compiled and run by
 * lockstep-spring-boot3-test only (the starter's own test run is on Boot 4).
 */
class LockstepBoot3HealthIT extends AbstractHealthIT {

  private static Map.Entry<String, Map<String, Object>> of(Health h) {
    return Map.entry(h.getStatus().getCode(), h.getDetails());
  }

  @Override
  Map.Entry<String, Map<String, Object>> health(ConfigurableApplicationContext ctx) {
    return of(ctx.getBean("lockstepHealthIndicator", LockstepBoot3HealthIndicator.class).health());
  }

  @Override
  Map.Entry<String, Map<String, Object>> health(Lockstep node) {
    return of(new LockstepBoot3HealthIndicator(node).health());
  }
}
