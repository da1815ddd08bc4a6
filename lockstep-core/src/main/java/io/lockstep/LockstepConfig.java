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
}
