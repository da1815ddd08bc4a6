package io.lockstep.internal;

import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendProvider;
import io.lockstep.spi.BackendUri;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Finds the {@link BackendProvider} for a URI's scheme on the class path. Exactly one provider may
 * claim the scheme a URI names; other schemes claimed twice do not matter to that URI.
 */
public final class Backends {
  private Backends() {}

  /**
   * Opens a backend for {@code uri} with the provider found by {@link ServiceLoader}.
   *
   * @throws IllegalArgumentException when the URI is invalid, when no provider serves its scheme
   *     (the message lists every scheme served), or when two do (the message names both)
   */
  public static Backend open(String uri, BackendContext context) {
    return open(
        BackendUri.parse(uri),
        context,
        ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader()));
  }

  /** {@link #open(String, BackendContext)} over the given providers. */
  static Backend open(
      BackendUri uri, BackendContext context, Iterable<? extends BackendProvider> providers) {
    List<BackendProvider> claiming = new ArrayList<>();
    SortedSet<String> known = new TreeSet<>();
    for (BackendProvider p : providers) {
      for (String s : p.schemes()) {
        String scheme = s.toLowerCase(Locale.ROOT);
        known.add(scheme);
        if (scheme.equals(uri.scheme()) && !claiming.contains(p)) {
          claiming.add(p);
        }
      }
    }
    if (claiming.isEmpty()) {
      throw new IllegalArgumentException(
          "backend URI: no backend for scheme '"
              + uri.scheme()
              + "' on the class path (available: "
              + known
              + ")");
    }
    if (claiming.size() > 1) {
      throw new IllegalArgumentException(
          "backend URI: scheme '"
              + uri.scheme()
              + "' is claimed by "
              + claiming.size()
              + " providers on the class path: "
              + String.join(", ", claiming.stream().map(p -> p.getClass().getName()).toList())
              + " (keep one backend module per scheme)");
    }
    return claiming.get(0).create(uri, context);
  }
}
