package io.lockstep.spi;

import java.time.Duration;

/**
 * Node settings a backend needs.
 *
 * @param keyPrefix the namespace within the backend
 * @param instanceId this instance's id
 * @param operationTimeout how long one operation may take
 */
public record BackendContext(String keyPrefix, String instanceId, Duration operationTimeout) {}
