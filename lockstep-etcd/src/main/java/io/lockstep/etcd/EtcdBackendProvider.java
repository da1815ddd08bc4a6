package io.lockstep.etcd;

import io.lockstep.spi.AbstractBackendProvider;
import java.util.Set;

/**
 * Serves the {@code etcd} URI scheme, e.g. {@code etcd://10.0.0.1:2379,10.0.0.2:2379?timeout=2s};
 * registered in {@code META-INF/services/io.lockstep.spi.BackendProvider}. {@link EtcdBackend}
 * documents the URI's parameters and what the backend guarantees. Stateless and thread safe.
 */
public final class EtcdBackendProvider extends AbstractBackendProvider {

  /** For {@link java.util.ServiceLoader}. */
  public EtcdBackendProvider() {
    super(Set.of("etcd"), EtcdBackend::create);
  }
}
