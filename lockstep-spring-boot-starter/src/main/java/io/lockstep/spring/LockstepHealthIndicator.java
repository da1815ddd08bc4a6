package io.lockstep.spring;

import io.lockstep.Lockstep;
import io.lockstep.ReplicaStats;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
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
    (s.ready() ? builder.up() : builder.down()).withDetails(details(node, s));
  }

  /** The details both health indicators report. */
  static Map<String, Object> details(Lockstep node, ReplicaStats s) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("appliedRevision", s.appliedRevision());
    d.put("headRevision", s.headRevision());
    d.put("lag", s.lagRevisions());
    d.put("lagMillis", s.lagMillis());
    d.put("resets", s.resets());
    d.put("state", node.map().replica().state().name());
    d.put("mode", node.config().mode().name().toLowerCase(Locale.ROOT));
    d.put("backend", backend(node));
    return d;
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
