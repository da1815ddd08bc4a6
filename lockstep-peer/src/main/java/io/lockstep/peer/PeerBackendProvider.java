package io.lockstep.peer;

import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendProvider;
import io.lockstep.spi.BackendUri;

/**
 * Serves the {@code peer} URI scheme, e.g. {@code peer:} (a group of one) or {@code
 * peer://10.0.0.1:7800,10.0.0.2:7800,10.0.0.3:7800?bind=10.0.0.1:7800}; registered in {@code
 * META-INF/services/io.lockstep.spi.BackendProvider}. {@link PeerBackend} documents the URI's
 * parameters and what the backend guarantees. Stateless and thread safe.
 */
public final class PeerBackendProvider implements BackendProvider {

  /** For {@link java.util.ServiceLoader}. */
  public PeerBackendProvider() {}

  @Override
  public String scheme() {
    return "peer";
  }

  @Override
  public Backend create(BackendUri uri, BackendContext context) {
    return PeerBackend.create(uri, context);
  }
}
