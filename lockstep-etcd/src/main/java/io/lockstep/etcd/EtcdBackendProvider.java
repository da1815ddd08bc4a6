package io.lockstep.etcd;

import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendProvider;
import io.lockstep.spi.BackendUri;

/**
 * Serves the {@code etcd} URI scheme, e.g. {@code etcd://10.0.0.1:2379,10.0.0.2:2379?timeout=2s};
 * registered in {@code META-INF/services/io.lockstep.spi.BackendProvider}. {@link EtcdBackend}
 * documents the URI's parameters and what the backend guarantees. Stateless and thread safe.
 */
public final class EtcdBackendProvider implements BackendProvider {

  /** For {@link java.util.ServiceLoader}. */
  public EtcdBackendProvider() {}

  @Override
  public String scheme() {
    return "etcd";
  }

  @Override
  public Backend create(BackendUri uri, BackendContext context) {
    return EtcdBackend.create(uri, context);
  }
}
