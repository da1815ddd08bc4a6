package io.lockstep.bench;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What one bench run does. Immutable; {@link #validate()} names the first bad field.
 *
 * @param targets the instances, used round-robin as a load balancer would
 * @param users simulated users
 * @param spawnRate users started per second
 * @param duration how long the load runs once started (users keep being spawned within it)
 * @param seed seeds every user's keys, values and think times
 * @param scenario the workload
 * @param thinkMin the shortest pause between cycles
 * @param thinkMax the longest pause between cycles
 * @param readYourWrites whether reads after a user's own write carry {@code min_revision}
 * @param authToken bearer token sent on every request, or null
 * @param out where the CSV and JSON reports go, or null for none
 */
public record BenchConfig(
    List<URI> targets,
    int users,
    double spawnRate,
    Duration duration,
    long seed,
    Scenario scenario,
    Duration thinkMin,
    Duration thinkMax,
    boolean readYourWrites,
    String authToken,
    Path out) {

  /** The workloads. */
  public enum Scenario {
    /**
     * The lab's locust test: one 64-letter key and one 32-letter value per user, fixed for the run;
     * PUT, 20 GETs (half the users from memory, half with {@code use_cache=false}), DELETE.
     */
    LAB,
    /** As LAB, but the value changes every cycle and a GET after each DELETE must answer 404. */
    STRICT
  }

  /** Checks every field: an invalid configuration cannot be built. */
  public BenchConfig {
    if (targets == null || targets.isEmpty()) {
      throw new IllegalArgumentException("targets: at least one URL is required");
    }
    for (URI t : targets) {
      if (t.getScheme() == null || !t.getScheme().matches("https?") || t.getHost() == null) {
        throw new IllegalArgumentException("targets: not an http URL: " + t);
      }
    }
    if (users < 1) {
      throw new IllegalArgumentException("users: must be >= 1, was " + users);
    }
    if (!(spawnRate > 0)) {
      throw new IllegalArgumentException("spawnRate: must be > 0, was " + spawnRate);
    }
    if (duration == null || duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException("duration: must be positive, was " + duration);
    }
    if (thinkMin == null
        || thinkMax == null
        || thinkMin.isNegative()
        || thinkMax.compareTo(thinkMin) < 0) {
      throw new IllegalArgumentException(
          "think time: need 0 <= min <= max, was " + thinkMin + ".." + thinkMax);
    }
    if (scenario == null) {
      throw new IllegalArgumentException("scenario: required");
    }
    targets = List.copyOf(targets);
  }
}
