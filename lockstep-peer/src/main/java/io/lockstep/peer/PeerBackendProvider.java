package io.lockstep.peer;

import io.lockstep.spi.AbstractBackendProvider;
import java.util.Set;

/**
 * Serves the {@code peer} URI scheme, e.g. {@code peer:} (a group of one) or {@code
 * peer://10.0.0.1:7800,10.0.0.2:7800,10.0.0.3:7800?bind=10.0.0.1:7800}; registered in {@code
 * META-INF/services/io.lockstep.spi.BackendProvider}. {@link PeerBackend} documents the URI's
 * parameters and what the backend guarantees. Stateless and thread safe.
 */
public final class PeerBackendProvider extends AbstractBackendProvider {

  /** For {@link java.util.ServiceLoader}. */
  public PeerBackendProvider() {
    super(Set.of("peer"), PeerBackend::create);
  }
}
