package io.lockstep.spi;

/**
 * Creates backends for one URI scheme; found with {@link java.util.ServiceLoader}. A backend
 * module lists its provider in {@code META-INF/services/io.lockstep.spi.BackendProvider}.
 */
public interface BackendProvider {

  /** The URI scheme served, e.g. {@code etcd}. */
  String scheme();

  /** Creates a backend for the given URI and node settings. */
  Backend create(BackendUri uri, BackendContext context);
}
