package io.lockstep.testkit;

import io.lockstep.Versioned;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendProvider;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.ForwardingBackend;
import io.lockstep.spi.ForwardingFeedListener;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * TEST ONLY: a backend that makes its replica drift, for drift check tests. It lives in the
 * testkit, never in {@code lockstep.jar}; a test puts it on a server's class path ({@code java -cp
 * lockstep.jar:<testkit> io.lockstep.cli.Main serve ...}) and names {@code drift+etcd://...},
 * {@code drift+redis://...}, {@code drift+peer://...} or {@code drift+postgresql://...} (also
 * {@code drift+postgres://...}) with {@code drift_prefix=P}: the inner backend ({@code etcd://...}
 * without that parameter) is used as it is, except that its feed skips the changes of keys starting
 * with P once the replica has seen them (their creation passes):
 *
 * <ul>
 *   <li>on a {@link RevisionModel#SPARSE} feed (etcd) such a change is dropped, and a revision left
 *       with no change is delivered as progress;
 *   <li>on a {@link RevisionModel#CONTIGUOUS} feed (Redis, peer, PostgreSQL), where a missing
 *       revision is a gap the engine would repair by a relist, the change is delivered as a PUT of
 *       the value the replica already holds: the revision arrives, the new value or the delete does
 *       not.
 * </ul>
 *
 * <p>Listings are not touched, so a relist repairs the drift as in life.
 */
public final class DriftBackendProvider implements BackendProvider {
  /** The query parameter naming the prefix of the keys whose changes are skipped. */
  public static final String PREFIX_PARAM = "drift_prefix";

  private static final String SCHEME_PREFIX = "drift+";

  @Override
  public Set<String> schemes() {
    return Set.of("drift+etcd", "drift+redis", "drift+peer", "drift+postgresql", "drift+postgres");
  }

  @Override
  public Backend create(BackendUri uri, BackendContext context) {
    String prefix = uri.param(PREFIX_PARAM, "");
    if (prefix.isEmpty()) {
      throw new IllegalArgumentException(
          "backend URI: " + uri.scheme() + " needs " + PREFIX_PARAM + "=<key prefix>");
    }
    String inner = innerUri(uri);
    BackendUri innerUri = BackendUri.parse(inner);
    for (BackendProvider p :
        ServiceLoader.load(BackendProvider.class, getClass().getClassLoader())) {
      if (p.schemes().contains(innerUri.scheme())) {
        return new DriftingBackend(p.create(innerUri, context), prefix);
      }
    }
    throw new IllegalArgumentException("backend URI: no backend for " + innerUri.scheme());
  }

  /**
   * {@code inner} whose feed skips the changes of keys starting with {@code prefix} once seen, as
   * the {@code drift+} schemes do: for in-process tests and probes.
   */
  public static Backend wrap(Backend inner, String prefix) {
    return new DriftingBackend(inner, prefix);
  }

  /** The URI without {@code drift+} and without {@value #PREFIX_PARAM}. */
  static String innerUri(BackendUri uri) {
    String raw = uri.raw().trim();
    String rest = raw.substring(SCHEME_PREFIX.length());
    int q = rest.indexOf('?');
    String base = q >= 0 ? rest.substring(0, q) : rest;
    List<String> kept = new ArrayList<>();
    for (Map.Entry<String, String> e : uri.params().entrySet()) {
      if (!e.getKey().equals(PREFIX_PARAM)) {
        kept.add(
            URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)
                + "="
                + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
      }
    }
    return kept.isEmpty() ? base : base + "?" + String.join("&", kept);
  }

  /** The inner backend, whose feed skips the changes of the drifting keys. */
  static final class DriftingBackend extends ForwardingBackend {
    private final String prefix;
    private final Map<String, Versioned> held = new ConcurrentHashMap<>(); // as the replica has it

    DriftingBackend(Backend inner, String prefix) {
      super(inner);
      this.prefix = prefix;
    }

    private Snapshot seen(Snapshot s) {
      held.clear();
      for (Versioned v : s.entries()) {
        if (v.key().startsWith(prefix)) {
          held.put(v.key(), v);
        }
      }
      return s;
    }

    @Override
    public CompletableFuture<Snapshot> snapshot() {
      return delegate().snapshot().thenApply(this::seen);
    }

    @Override
    public CompletableFuture<Snapshot> snapshot(ListingProgress progress) {
      return delegate().snapshot(progress).thenApply(this::seen);
    }

    @Override
    public Feed watch(long fromRevision, FeedListener listener) {
      boolean contiguous = delegate().revisionModel() == RevisionModel.CONTIGUOUS;
      return delegate()
          .watch(
              fromRevision,
              new ForwardingFeedListener(listener) {
                @Override
                public void onChanges(long revision, List<Change> changes, long headRevision) {
                  List<Change> out = new ArrayList<>(changes.size());
                  for (Change c : changes) {
                    Versioned before = c.key().startsWith(prefix) ? held.get(c.key()) : null;
                    if (before == null) { // not drifting, or not seen yet: passes
                      if (c.key().startsWith(prefix) && c.type() == Change.Type.PUT) {
                        held.put(c.key(), c.value());
                      }
                      out.add(c);
                    } else if (contiguous) { // the revision arrives, its change does not
                      Versioned stale =
                          new Versioned(c.key(), before.value(), before.contentType(), revision);
                      held.put(c.key(), stale);
                      out.add(Change.put(stale));
                    }
                  }
                  if (out.isEmpty()) {
                    listener.onProgress(revision);
                  } else {
                    listener.onChanges(revision, out, headRevision);
                  }
                }
              });
    }
  }
}
