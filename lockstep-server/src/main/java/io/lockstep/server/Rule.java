package io.lockstep.server;

import io.javalin.security.RouteRole;
import java.util.EnumSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The access rule of one route, attached to it as its Javalin route role: the scopes that may use
 * it (any one of them; none: the route is open), and whether its body is a stored value of any
 * Content-Type rather than JSON or nothing. {@link LockstepServer} refuses to start when a route
 * has no rule, so a new route cannot be left unguarded by mistake.
 *
 * @param anyOf the scopes any one of which lets a request through; empty: open to all
 * @param anyContentType whether the body is a value stored as sent, of any type
 */
record Rule(Set<Scope> anyOf, boolean anyContentType) implements RouteRole {
  Rule {
    anyOf = anyOf.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(anyOf));
  }

  /** A route anyone may call, even when tokens are set: the health probes. */
  static Rule open() {
    return new Rule(Set.of(), false);
  }

  static Rule needs(Scope scope, Scope... orAnyOf) {
    EnumSet<Scope> s = EnumSet.of(scope, orAnyOf);
    return new Rule(s, false);
  }

  /** A route storing its body as a value, of any Content-Type. */
  static Rule value(Scope scope) {
    return new Rule(EnumSet.of(scope), true);
  }

  /** The user scope a token needs here (the lowest one listed), or null when open. */
  @Nullable Scope userScope() {
    for (Scope s : new Scope[] {Scope.READ, Scope.METRICS, Scope.WRITE, Scope.ADMIN}) {
      if (anyOf.contains(s)) {
        return s;
      }
    }
    return null;
  }

  /** Whether the route changes state, so a cross-site browser request must not reach it. */
  boolean changesState() {
    return anyOf.contains(Scope.WRITE) || anyOf.contains(Scope.ADMIN);
  }
}
