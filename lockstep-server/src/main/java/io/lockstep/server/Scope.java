package io.lockstep.server;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * What an access token lets its holder do. A route needs one scope; a token grants its own scope
 * and the scopes that scope implies: {@link #ADMIN} implies {@link #WRITE}, {@link #READ} and
 * {@link #METRICS}; {@link #WRITE} implies {@link #READ}. {@link #PEER} is the scope of the cluster
 * secret, which members send to each other on fan-out; no user token has it and it implies nothing.
 */
public enum Scope {
  /**
   * Read values, counters, the demo's cache object, students, {@code /stats} and {@code /cluster}.
   */
  READ,
  /**
   * Everything {@link #READ} allows, and change values, counters, students and the demo's cache
   * object.
   */
  WRITE,
  /** Everything, including {@code /admin/...} and {@code /metrics}. */
  ADMIN,
  /** Scrape {@code /metrics}, nothing else. */
  METRICS,
  /**
   * Another member of the cluster, on the routes fan-out calls: {@code /stats}, {@code
   * /admin/await}, and, peer only, the loading groups' {@code /_lockstep/groups/...} and {@code
   * /_lockstep/replica} (a member's applied revision, for {@code Lockstep.fleet()}).
   */
  PEER;

  /** The scopes a credential of this scope holds: itself and those it implies. */
  public Set<Scope> granted() {
    return switch (this) {
      case ADMIN -> EnumSet.of(ADMIN, WRITE, READ, METRICS);
      case WRITE -> EnumSet.of(WRITE, READ);
      case READ -> EnumSet.of(READ);
      case METRICS -> EnumSet.of(METRICS);
      case PEER -> EnumSet.of(PEER);
    };
  }

  /** Whether a credential of this scope may use a route that needs {@code needed}. */
  public boolean implies(Scope needed) {
    return granted().contains(needed);
  }

  /** The scope's name as written in token files and messages: {@code read}, {@code write}... */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The scope named {@code label} (any case); peer is not a user token's scope, so not parsed. */
  static Scope parseUserScope(String label) {
    for (Scope s : values()) {
      if (s != PEER && s.label().equals(label.toLowerCase(Locale.ROOT))) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "unknown scope '" + label + "'; expected read, write, admin or metrics");
  }
}
