package io.lockstep.spring;

import io.lockstep.Lockstep;
import io.lockstep.ReplicaStats;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * The node's replica as an Actuator health indicator ({@code lockstep}): UP once the first listing
 * has been applied ({@link io.lockstep.Replica#isReady()}), DOWN before. Details: {@code
 * appliedRevision}, {@code headRevision}, {@code lag} (revisions), {@code lagMillis}, {@code
 * resets}, {@code state}, {@code mode} and {@code backend} (the backend URI, or the class of a
 * backend given as an object; a password in the URI is masked).
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
    (s.ready() ? builder.up() : builder.down())
        .withDetail("appliedRevision", s.appliedRevision())
        .withDetail("headRevision", s.headRevision())
        .withDetail("lag", s.lagRevisions())
        .withDetail("lagMillis", s.lagMillis())
        .withDetail("resets", s.resets())
        .withDetail("state", node.map().replica().state().name())
        .withDetail("mode", node.config().mode().name().toLowerCase(java.util.Locale.ROOT))
        .withDetail("backend", backend(node));
  }

  static String backend(Lockstep node) {
    String uri = node.config().backendUri();
    if (uri != null) {
      // user info (a password in redis://:secret@host) never goes into a health answer
      return uri.replaceFirst("^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", "$1***@");
    }
    Object b = node.config().backend();
    return b == null ? "" : b.getClass().getName();
  }
}
