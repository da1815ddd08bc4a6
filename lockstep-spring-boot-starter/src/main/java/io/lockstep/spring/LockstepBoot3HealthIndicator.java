package io.lockstep.spring;

import io.lockstep.Lockstep;
import io.lockstep.ReplicaStats;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * {@link LockstepHealthIndicator} for Spring Boot 3's health API ({@code
 * org.springframework.boot.actuate.health}, which Boot 4 moved to {@code
 * org.springframework.boot.health.contributor}): the same status and details. Configured only when
 * Boot 3's API is there and Boot 4's is not.
 */
public final class LockstepBoot3HealthIndicator extends AbstractHealthIndicator {
  private final Lockstep node;

  public LockstepBoot3HealthIndicator(Lockstep node) {
    super("Lockstep health check failed");
    this.node = node;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    ReplicaStats s = node.map().replica().stats();
    (s.ready() ? builder.up() : builder.down()).withDetails(ReplicaHealth.details(node, s));
  }
}
