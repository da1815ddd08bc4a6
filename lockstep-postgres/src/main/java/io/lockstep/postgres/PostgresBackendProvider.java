package io.lockstep.postgres;

import io.lockstep.spi.AbstractBackendProvider;
import java.util.Set;

/**
 * Serves the {@code postgresql} and {@code postgres} URI schemes, e.g. {@code
 * postgresql://app@127.0.0.1:5432/appdb?mirror=student}. Registered in {@code
 * META-INF/services/io.lockstep.spi.BackendProvider}. {@link PostgresBackend} documents the URI's
 * parameters and what the backend guarantees. Stateless and thread safe.
 */
public final class PostgresBackendProvider extends AbstractBackendProvider {

  /** For {@link java.util.ServiceLoader}. */
  public PostgresBackendProvider() {
    super(Set.of("postgresql", "postgres"), PostgresBackend::create);
  }
}
