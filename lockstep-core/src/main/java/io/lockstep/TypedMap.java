package io.lockstep;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * A named, typed view of the node's replicated map: the keys {@code <name>/<key>} of {@link
 * Lockstep#map()}, with values of type {@code V} encoded and decoded by a {@link Codec}. Obtain it
 * with {@link Lockstep#map(String, Codec)}; several maps of one node share its one feed.
 *
 * <h2>Decode once</h2>
 *
 * <p>Each value is decoded once, on the replication thread, when its change is applied, and kept in
 * this map's own store next to the untyped one. {@link #get} and {@link #getEntry} are one
 * lock-free hash lookup that returns the stored object: no decode, no copy, no allocation. The same
 * object goes to every reader until the key changes, so <b>values must be treated as immutable</b>;
 * the map does not copy them. Prefer records of immutable fields and unmodifiable collections (a
 * Jackson codec decoding into a record gives exactly that), or a codec whose {@link Codec#decode}
 * returns a defensive copy.
 *
 * <h2>Undecodable values</h2>
 *
 * <p>A value the codec cannot decode (written by an older version, or by another program) does not
 * stop the feed: its failure is kept as the key's entry and counted ({@link #decodeFailures()}),
 * {@link #get} throws it as a {@link ValueDecodeException} naming the map, key and revision, and
 * {@link #getEntry} returns an entry whose {@link TypedEntry#isDecoded()} is false. The next write
 * of the key that decodes replaces it.
 *
 * <h2>Consistency</h2>
 *
 * <p>As {@link ReplicatedMap}: changes in revision order, reads never go back in time, and a write
 * returns after this map's store has taken it, so the writer reads its own write (bounded by the
 * node's operation timeout). The typed store follows the untyped map one listener call behind: in
 * the instant between a revision being applied and this map's listener running, the untyped map may
 * show a change this map does not show yet. Typed maps need {@link ReplicaMode#FULL}.
 *
 * <p>Thread safe. The typed map lives as long as its node.
 *
 * @param <V> the value type
 */
public interface TypedMap<V> {

  /** The map's name: its keys are {@code <name>/<key>} in the node's replicated map. */
  String name();

  /** The codec that encodes and decodes the values. */
  Codec<V> codec();

  /**
   * This instance's value for {@code key}, decoded when its change was applied, or null when the
   * map holds no such key. One lock-free lookup; no allocation.
   *
   * @throws ValueDecodeException when the stored bytes could not be decoded
   */
  @Nullable V get(String key);

  /**
   * This instance's entry for {@code key} (value, content type, revision), or null. Never throws
   * for an undecodable value: see {@link TypedEntry#isDecoded()}.
   */
  @Nullable TypedEntry<V> getEntry(String key);

  /**
   * Writes {@code value} under {@code key} unconditionally.
   *
   * @return the committed revision, already applied to this map
   * @throws IllegalArgumentException for an empty or oversized key, or an oversized value
   * @throws BackendUnavailableException when the source cannot be reached
   */
  WriteResult put(String key, V value);

  /** {@link #put} asynchronously; the future completes once this map holds the write. */
  CompletableFuture<WriteResult> putAsync(String key, V value);

  /**
   * Writes {@code value} only if the key's mod revision is {@code expectedRevision} (0: only if the
   * key is absent).
   *
   * @return APPLIED, or CONFLICT with the current revision ({@link WriteResult#current()}, when
   *     given, is the untyped entry, its key with the map's name)
   */
  WriteResult compareAndSet(String key, long expectedRevision, V value);

  /**
   * Removes {@code key}.
   *
   * @return APPLIED with the committed revision, or NOT_FOUND
   */
  WriteResult delete(String key);

  /** Removes {@code key} only if its mod revision is {@code expectedRevision}. */
  WriteResult compareAndDelete(String key, long expectedRevision);

  /** The number of keys this map holds on this instance. */
  int size();

  /** The keys this map holds: a live, unmodifiable, weakly consistent view. */
  Set<String> keys();

  /** How many applied values failed to decode since this map was opened. */
  long decodeFailures();

  /**
   * Registers a listener for every change of this map applied from now on (see {@link
   * TypedChangeListener}). Close the result to remove it.
   */
  Registration addListener(TypedChangeListener<V> listener);

  /** The node's untyped map this map is a view of. */
  ReplicatedMap untyped();
}
