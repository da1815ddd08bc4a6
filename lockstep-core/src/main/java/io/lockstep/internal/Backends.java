package io.lockstep.internal;

import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendProvider;
import io.lockstep.spi.BackendUri;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds the {@link BackendProvider} for a URI's scheme on the class path. */
public final class Backends {
  private Backends() {}

  public static Backend open(String uri, BackendContext context) {
    BackendUri parsed = BackendUri.parse(uri);
    List<String> known = new ArrayList<>();
    for (BackendProvider p : ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader())) {
      if (p.scheme().equals(parsed.scheme())) {
        return p.create(parsed, context);
      }
      known.add(p.scheme());
    }
    throw new IllegalArgumentException("backend URI: no backend for scheme '" + parsed.scheme()
        + "' on the class path (available: " + known + ")");
  }
}
