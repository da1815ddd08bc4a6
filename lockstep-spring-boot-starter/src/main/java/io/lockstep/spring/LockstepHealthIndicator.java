package io.lockstep.spring;

import io.lockstep.Lockstep;
import io.lockstep.ReplicaStats;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * The node's replica as an Actuator health indicator ({@code lockstep}), Spring Boot 4's health
 * API: UP once the first listing has been applied ({@link io.lockstep.Replica#isReady()}), DOWN
 * before. Details: {@code appliedRevision}, {@code headRevision}, {@code lag} (revisions), {@code
 * lagMillis}, {@code resets}, {@code state}, {@code mode} and {@code backend} (the backend URI, a
 * password in it masked, or the class of a backend given as an object). On Spring Boot 3 the same
 * is {@link LockstepBoot3HealthIndicator}.
 */
public final class LockstepHealthIndicator extends AbstractHealthIndicator {
  private final Lockstep node;

  public LockstepHealthIndicator(Lockstep node) {
    super("Lockstep health check failed");
    this.node = node;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    ReplicaStats s = node.map().replica().stats();
    (s.ready() ? builder.up() : builder.down()).withDetails(ReplicaHealth.details(node, s));
  }
}
