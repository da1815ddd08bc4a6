package io.lockstep.cli;

import io.lockstep.spi.AbstractBackendProvider;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A test-only backend for the scheme {@code mem}: {@code mem://NAME} is an {@link InMemorySource}
 * shared by every node that names it, so the command line can be run end to end without a server.
 */
public final class MemBackendProvider extends AbstractBackendProvider {
  static final Map<String, InMemorySource> SOURCES = new ConcurrentHashMap<>();

  /** For {@link java.util.ServiceLoader}. */
  public MemBackendProvider() {
    super(Set.of("mem"), MemBackendProvider::open);
  }

  private static Backend open(BackendUri uri, BackendContext context) {
    String name = uri.hosts().isEmpty() ? "default" : uri.hosts().get(0);
    return SOURCES.computeIfAbsent(name, n -> new InMemorySource(RevisionModel.SPARSE)).backend();
  }
}
