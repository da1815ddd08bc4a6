package io.lockstep.redis;

import io.lockstep.spi.AbstractBackendProvider;
import java.util.Set;

/**
 * Serves the {@code redis} and {@code rediss} URI schemes, e.g. {@code
 * redis://127.0.0.1:6379/0?stream_max_len=50000}; {@code rediss} is the same over TLS, verified
 * against the JVM's trust store. Registered in {@code
 * META-INF/services/io.lockstep.spi.BackendProvider}. {@link RedisBackend} documents the URI's
 * parameters and what the backend guarantees. Stateless and thread safe.
 */
public final class RedisBackendProvider extends AbstractBackendProvider {

  /** For {@link java.util.ServiceLoader}. */
  public RedisBackendProvider() {
    super(Set.of("redis", "rediss"), RedisBackend::create);
  }
}
