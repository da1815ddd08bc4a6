package io.lockstep.redis;

import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendProvider;
import io.lockstep.spi.BackendUri;

/**
 * Serves the {@code rediss} URI scheme: {@link RedisBackend} over TLS, verified against the JVM's
 * trust store. Stateless and thread safe.
 */
public final class RedissBackendProvider implements BackendProvider {

  /** For {@link java.util.ServiceLoader}. */
  public RedissBackendProvider() {}

  @Override
  public String scheme() {
    return "rediss";
  }

  @Override
  public Backend create(BackendUri uri, BackendContext context) {
    return RedisBackend.create(uri, context);
  }
}
