package io.lockstep.spring;

import io.lockstep.Lockstep;
import io.lockstep.ReplicaStats;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What the health indicators of both Boot lines report, in a class of its own that names no health
 * API: loading it must not load Boot 4's health classes on Boot 3, nor Boot 3's on Boot 4.
 */
final class ReplicaHealth {
  private ReplicaHealth() {}

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
