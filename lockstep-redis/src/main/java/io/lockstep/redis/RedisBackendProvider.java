package io.lockstep.redis;

import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendProvider;
import io.lockstep.spi.BackendUri;

/**
 * Serves the {@code redis} URI scheme, e.g. {@code redis://127.0.0.1:6379/0?stream_max_len=50000};
 * registered in {@code META-INF/services/io.lockstep.spi.BackendProvider}. {@link RedisBackend}
 * documents the URI's parameters and what the backend guarantees. Stateless and thread safe.
 */
public final class RedisBackendProvider implements BackendProvider {

  /** For {@link java.util.ServiceLoader}. */
  public RedisBackendProvider() {}

  @Override
  public String scheme() {
    return "redis";
  }

  @Override
  public Backend create(BackendUri uri, BackendContext context) {
    return RedisBackend.create(uri, context);
  }
}
