package io.lockstep.spi;

import java.util.Set;

/**
 * Creates backends for a set of URI schemes; found with {@link java.util.ServiceLoader}. A backend
 * module lists its provider in {@code META-INF/services/io.lockstep.spi.BackendProvider}. One
 * provider may serve several schemes (e.g. {@code redis} and {@code rediss}); a scheme claimed by
 * two providers on the class path is refused when a URI names it, with both providers named. {@link
 * AbstractBackendProvider} is the whole of a provider that only calls a factory.
 */
public interface BackendProvider {

  /**
   * The URI schemes served, e.g. {@code etcd}: not empty, each lower case (as {@link BackendUri}
   * reports schemes). The same set on every call.
   */
  Set<String> schemes();

  /**
   * Creates a backend for the given URI (whose scheme is one of {@link #schemes()}) and node
   * settings.
   */
  Backend create(BackendUri uri, BackendContext context);
}
