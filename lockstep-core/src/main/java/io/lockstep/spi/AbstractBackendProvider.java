package io.lockstep.spi;

import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;

/**
 * A {@link BackendProvider} made of its schemes and a factory, so that a backend module's provider
 * is one constructor:
 *
 * <pre>{@code
 * public final class EtcdBackendProvider extends AbstractBackendProvider {
 *   public EtcdBackendProvider() {
 *     super(Set.of("etcd"), EtcdBackend::create);
 *   }
 * }
 * }</pre>
 *
 * <p>The subclass needs a public no-argument constructor for {@link java.util.ServiceLoader}.
 * Immutable and thread safe when the factory is.
 */
public abstract class AbstractBackendProvider implements BackendProvider {
  private final Set<String> schemes;
  private final BiFunction<BackendUri, BackendContext, ? extends Backend> factory;

  /**
   * A provider serving {@code schemes} with {@code factory}.
   *
   * @param schemes the URI schemes served, not empty, each a valid scheme in lower case
   * @param factory creates a backend for a URI with one of {@code schemes}
   * @throws IllegalArgumentException when {@code schemes} is empty or holds an invalid scheme
   */
  protected AbstractBackendProvider(
      Set<String> schemes, BiFunction<BackendUri, BackendContext, ? extends Backend> factory) {
    if (schemes.isEmpty()) {
      throw new IllegalArgumentException("schemes: " + getClass().getName() + " declares none");
    }
    for (String s : schemes) {
      if (!s.matches("[a-z][a-z0-9+.-]*")) {
        throw new IllegalArgumentException(
            "schemes: '"
                + s
                + "' of "
                + getClass().getName()
                + " is not a lower-case URI scheme (expected e.g. etcd)");
      }
    }
    this.schemes = Set.copyOf(schemes);
    this.factory = Objects.requireNonNull(factory, "factory");
  }

  @Override
  public final Set<String> schemes() {
    return schemes;
  }

  @Override
  public final Backend create(BackendUri uri, BackendContext context) {
    return factory.apply(uri, context);
  }

  /** The class name and the schemes served, sorted: {@code EtcdBackendProvider[etcd]}. */
  @Override
  public String toString() {
    return getClass().getSimpleName() + new TreeSet<>(schemes);
  }
}
