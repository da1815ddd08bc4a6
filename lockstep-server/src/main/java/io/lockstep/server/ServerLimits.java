package io.lockstep.server;

import java.time.Duration;

/**
 * The bounds that keep one server's resources finite whatever its clients do: connections, waiting
 * requests, slow senders, counter names, and how often {@code /cluster} asks the members. Immutable
 * and always valid: the constructor checks every field. The map's own totals (keys and bytes) are
 * the node's, in {@link io.lockstep.LockstepConfig}.
 *
 * @param maxConnections open TCP connections at most; past it the server stops accepting until one
 *     closes (Jetty's {@code ConnectionLimit}); default 1024
 * @param maxLongPolls requests waiting for a revision at once ({@code min_revision} reads and
 *     {@code /admin/await}); past it a waiting request is refused at once with 503 {@code
 *     overloaded} and {@code Retry-After}; default 256
 * @param idleTimeout a connection with no bytes in either direction for this long is closed;
 *     default 30 s
 * @param headerTimeout the longest a request's line and headers may take to arrive, however slowly
 *     they trickle in; then the connection is closed; default 10 s
 * @param minRequestDataRate the slowest a request body may arrive, in bytes per second, once {@code
 *     headerTimeout} has passed since its first byte (a grace: a small body that pauses is never
 *     cut); slower: the connection is closed; 0: no bound; default 1024
 * @param maxRequestHeaderBytes the largest request line plus headers; larger: 431; default 8192
 * @param maxCounterNames distinct counter names incremented within {@code counterIdle}; a new name
 *     past it is refused with 503 {@code overloaded}; default 10,000
 * @param counterIdle how long after its last increment a counter name stops counting against {@code
 *     maxCounterNames}; default 1 min
 * @param clusterCacheTtl how long one {@code /cluster} answer is reused, so a flood of calls asks
 *     the members once per period, not once per call; zero: never reused; default 1 s
 */
public record ServerLimits(
    int maxConnections,
    int maxLongPolls,
    Duration idleTimeout,
    Duration headerTimeout,
    long minRequestDataRate,
    int maxRequestHeaderBytes,
    int maxCounterNames,
    Duration counterIdle,
    Duration clusterCacheTtl) {

  public ServerLimits {
    atLeast("maxConnections", maxConnections, 1);
    atLeast("maxLongPolls", maxLongPolls, 1);
    positive("idleTimeout", idleTimeout);
    positive("headerTimeout", headerTimeout);
    if (minRequestDataRate < 0) {
      throw new IllegalArgumentException(
          "minRequestDataRate: must be >= 0, was " + minRequestDataRate);
    }
    atLeast("maxRequestHeaderBytes", maxRequestHeaderBytes, 1024);
    atLeast("maxCounterNames", maxCounterNames, 1);
    positive("counterIdle", counterIdle);
    if (clusterCacheTtl == null || clusterCacheTtl.isNegative()) {
      throw new IllegalArgumentException(
          "clusterCacheTtl: must be zero or positive, was " + clusterCacheTtl);
    }
  }

  /** The defaults listed on each field. */
  public static ServerLimits defaults() {
    return new ServerLimits(
        1024,
        256,
        Duration.ofSeconds(30),
        Duration.ofSeconds(10),
        1024,
        8192,
        10_000,
        Duration.ofMinutes(1),
        Duration.ofSeconds(1));
  }

  public ServerLimits withMaxConnections(int v) {
    return new ServerLimits(
        v,
        maxLongPolls,
        idleTimeout,
        headerTimeout,
        minRequestDataRate,
        maxRequestHeaderBytes,
        maxCounterNames,
        counterIdle,
        clusterCacheTtl);
  }

  public ServerLimits withMaxLongPolls(int v) {
    return new ServerLimits(
        maxConnections,
        v,
        idleTimeout,
        headerTimeout,
        minRequestDataRate,
        maxRequestHeaderBytes,
        maxCounterNames,
        counterIdle,
        clusterCacheTtl);
  }

  public ServerLimits withIdleTimeout(Duration v) {
    return new ServerLimits(
        maxConnections,
        maxLongPolls,
        v,
        headerTimeout,
        minRequestDataRate,
        maxRequestHeaderBytes,
        maxCounterNames,
        counterIdle,
        clusterCacheTtl);
  }

  public ServerLimits withHeaderTimeout(Duration v) {
    return new ServerLimits(
        maxConnections,
        maxLongPolls,
        idleTimeout,
        v,
        minRequestDataRate,
        maxRequestHeaderBytes,
        maxCounterNames,
        counterIdle,
        clusterCacheTtl);
  }

  public ServerLimits withMinRequestDataRate(long v) {
    return new ServerLimits(
        maxConnections,
        maxLongPolls,
        idleTimeout,
        headerTimeout,
        v,
        maxRequestHeaderBytes,
        maxCounterNames,
        counterIdle,
        clusterCacheTtl);
  }

  public ServerLimits withMaxRequestHeaderBytes(int v) {
    return new ServerLimits(
        maxConnections,
        maxLongPolls,
        idleTimeout,
        headerTimeout,
        minRequestDataRate,
        v,
        maxCounterNames,
        counterIdle,
        clusterCacheTtl);
  }

  public ServerLimits withMaxCounterNames(int v) {
    return new ServerLimits(
        maxConnections,
        maxLongPolls,
        idleTimeout,
        headerTimeout,
        minRequestDataRate,
        maxRequestHeaderBytes,
        v,
        counterIdle,
        clusterCacheTtl);
  }

  public ServerLimits withCounterIdle(Duration v) {
    return new ServerLimits(
        maxConnections,
        maxLongPolls,
        idleTimeout,
        headerTimeout,
        minRequestDataRate,
        maxRequestHeaderBytes,
        maxCounterNames,
        v,
        clusterCacheTtl);
  }

  public ServerLimits withClusterCacheTtl(Duration v) {
    return new ServerLimits(
        maxConnections,
        maxLongPolls,
        idleTimeout,
        headerTimeout,
        minRequestDataRate,
        maxRequestHeaderBytes,
        maxCounterNames,
        counterIdle,
        v);
  }

  private static void atLeast(String field, long v, long min) {
    if (v < min) {
      throw new IllegalArgumentException(field + ": must be >= " + min + ", was " + v);
    }
  }

  private static void positive(String field, Duration d) {
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(field + ": must be a positive duration, was " + d);
    }
  }
}
