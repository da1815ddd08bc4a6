package io.lockstep;

import io.lockstep.spi.Backend;
import java.time.Duration;

/**
 * The validated, immutable settings of one node. Build it with {@link LockstepBuilder}, which
 * documents each field and its default.
 */
public record LockstepConfig(
    String backendUri,
    Backend backend,
    String keyPrefix,
    String instanceId,
    String advertiseUrl,
    Duration operationTimeout,
    Duration applyTimeout,
    Duration reconnectBackoffMin,
    Duration reconnectBackoffMax,
    Duration progressInterval,
    int maxKeyBytes,
    int maxValueBytes,
    long randomSeed) {

  /** Keys under this prefix are reserved for membership records and refused by the map. */
  public static final String RESERVED_PREFIX = "_members/";

  /** Keys under this prefix are reserved for cluster counters (where a backend keeps them as keys) and refused by the map. */
  public static final String COUNTERS_PREFIX = "_counters/";

  /** True for a key the map refuses because a reserved prefix starts it. */
  public static boolean isReservedKey(String key) {
    return key.startsWith(RESERVED_PREFIX) || key.startsWith(COUNTERS_PREFIX);
  }
}
