package io.lockstep.internal;

import io.lockstep.spi.AbstractBackendProvider;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A test provider of two schemes, {@code twin-a} and {@code twin-b}, registered in this module's
 * test {@code META-INF/services} so that {@link BackendsTest} can find it the way a backend module
 * is found. Every backend it creates is a view of a fresh {@link InMemorySource}.
 */
public final class TwinBackendProvider extends AbstractBackendProvider {
  /** The URIs every instance has created a backend for, in order. */
  static final List<BackendUri> OPENED = new CopyOnWriteArrayList<>();

  /** For {@link java.util.ServiceLoader}. */
  public TwinBackendProvider() {
    super(
        Set.of("twin-a", "twin-b"),
        (uri, context) -> {
          OPENED.add(uri);
          return new InMemorySource(RevisionModel.CONTIGUOUS).backend();
        });
  }
}
