package io.lockstep;

import io.lockstep.internal.GroupEngine;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;

/**
 * A partitioned loading group with groupcache semantics: every key has one owner among the live
 * members (rendezvous hashing over member ids); the owner loads a missing key once through the
 * {@link Loader} and keeps it in its main cache; other instances fetch it from the owner over HTTP
 * and may keep a frequently asked copy in their hot cache. See {@code docs/loading-group.md}.
 *
 * <pre>{@code
 * LoadingGroup users = node.group("users", key -> Loaded.of(db.fetch(key)),
 *     GroupOptions.builder().defaultTtl(Duration.ofMinutes(1)).build());
 * byte[] v = users.get("42").join();
 * }</pre>
 *
 * <p>Get one from {@link Lockstep#group}, or, with a fixed membership ({@link
 * GroupOptions.Builder#staticPeers}), from {@link #open}. Thread safe. The arrays it returns are
 * shared with its caches: do not change them.
 */
public interface LoadingGroup extends AutoCloseable {

  /**
   * A group over a fixed membership (no node): {@code options} must name the peers ({@link
   * GroupOptions.Builder#staticPeers}) and, unless an application server routes the peer protocol
   * to {@link #serve}, a {@link GroupOptions.Builder#listenPort listen port}.
   */
  static LoadingGroup open(String name, Loader loader, GroupOptions options) {
    if (options.staticPeerUrls() == null) {
      throw new IllegalArgumentException("options: a group without a node needs staticPeers");
    }
    return GroupEngine.openStatic(name, loader, options);
  }

  /** The group's name. */
  String name();

  /**
   * The value of {@code key}: from a cache, else from the owner, else from the loader. Completes
   * within the peer deadline plus the load deadline (plus scheduling); fails with {@link
   * GroupLoadException} when the loader failed or passed its deadline, {@link InvalidKeyException}
   * for an empty or too long key.
   */
  CompletableFuture<byte[]> get(String key);

  /** {@link #get} and wait; throws what it fails with, unwrapped. */
  default byte[] getBlocking(String key) {
    try {
      return get(key).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw e;
    }
  }

  /**
   * Drops {@code key} here and on every live member (owner and hot copies), and makes any load of
   * it already running on those instances not cache its result. Completes when every member
   * answered or the peer deadline passed; the result names those that did not confirm.
   */
  CompletableFuture<RemoveResult> remove(String key);

  /** This instance's figures. */
  GroupStats stats();

  /**
   * The members this instance routes keys over now (their ids: the node's member ids, or the URLs
   * of a static list), sorted. It follows the membership a moment after it changes; two instances
   * that list different members may each own a key, see {@link #serve}.
   */
  List<String> members();

  /**
   * Serves a peer's {@code GET /_lockstep/groups/{group}/{key}}: from the caches, else loads (when
   * this instance owns the key or the request is {@code forwarded}; a forwarded request is never
   * forwarded again, whatever this instance thinks of the owner), else asks the owner as {@link
   * #get} does. Never fails: errors become the answer's status.
   */
  CompletableFuture<GroupAnswer> serve(String key, boolean forwarded);

  /** Serves a peer's {@code DELETE /_lockstep/groups/{group}/{key}}: removes locally only. */
  CompletableFuture<Void> serveRemove(String key);

  /**
   * True when a request with this {@code Authorization} header value may be served: always when no
   * {@link GroupOptions#peerSecret()} is set, else only for {@code Bearer <secret>}.
   */
  boolean authorized(@Nullable String authorizationHeader);

  /** The embedded listener's base URL (e.g. {@code http://127.0.0.1:40123}), or null if none. */
  @Nullable URI listenUrl();

  /** Stops the listener and the membership reading; fails waiting gets. Idempotent. */
  @Override
  void close();
}
