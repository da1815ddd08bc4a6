package io.lockstep.spi;

import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * One namespace (key prefix) of one source of truth, as the engine sees it.
 *
 * <p>Keys passed in and out are the map's own keys, without the backend's namespace prefix. Futures
 * complete on the backend's threads; they fail with {@link io.lockstep.BackendUnavailableException}
 * when the source cannot be reached (the engine also applies its own timeout). Implementations are
 * thread safe.
 */
public interface Backend extends AutoCloseable {

  /** Expected revision meaning "no condition". */
  long ANY_REVISION = -1;

  /** How this backend numbers changes, which tells the engine what a jump in revisions means. */
  RevisionModel revisionModel();

  /** A consistent listing of the namespace and the revision it was taken at. */
  CompletableFuture<Snapshot> snapshot();

  /**
   * {@link #snapshot()}, reporting each page read to {@code progress} and stopping once it is
   * {@linkplain ListingProgress#isCancelled() cancelled}. The engine calls this one: it fails a
   * listing that made no progress for one operation timeout, so a backend that reads a large
   * namespace page by page should override it (etcd does). The default reads the listing in one
   * step ({@link #snapshot()}), which must then come within the timeout as a whole.
   */
  default CompletableFuture<Snapshot> snapshot(ListingProgress progress) {
    return snapshot();
  }

  /**
   * Starts delivering the namespace's changes with revision {@code >= fromRevision}, in revision
   * order, all changes of one revision in one call, to {@code listener}, from one thread at a time.
   * The feed reports {@link FeedListener#onCompacted(long)} when it cannot start from {@code
   * fromRevision}, and {@link FeedListener#onError(Throwable)} when it broke; in both cases it
   * delivers nothing more, and the engine decides what to do.
   */
  Feed watch(long fromRevision, FeedListener listener);

  /**
   * Writes a key. With {@code expectedRevision} {@link #ANY_REVISION} the write is unconditional; 0
   * means "only if absent"; otherwise only if the key's mod revision equals it.
   */
  CompletableFuture<WriteResult> put(
      String key, byte[] value, String contentType, long expectedRevision);

  /**
   * Deletes a key, conditionally as for {@link #put}. Returns NOT_FOUND for an unconditional delete
   * of an absent key.
   */
  CompletableFuture<WriteResult> delete(String key, long expectedRevision);

  /**
   * {@link #put(String, byte[], String, long)} carrying the caller's request id. With a non-null
   * {@code requestId} the backend remembers, atomically with the write, the id's {@link
   * RequestIds#digest digest}, the request's {@link RequestIds#put fingerprint} and the answer, for
   * at least its retention for client ids (Redis: {@code idempotency_ttl}); the same id sent again
   * with the same request changes nothing and answers the first answer {@link
   * WriteResult#asReplay() as a replay} (a CONFLICT or NOT_FOUND too), and with a different request
   * fails with {@link io.lockstep.RequestIdReusedException}. Null: as the plain overload. The
   * default ignores the id (a backend that cannot remember ids); every bundled backend overrides
   * it.
   */
  default CompletableFuture<WriteResult> put(
      String key,
      byte[] value,
      String contentType,
      long expectedRevision,
      @Nullable String requestId) {
    return put(key, value, contentType, expectedRevision);
  }

  /** {@link #delete(String, long)} carrying a request id, remembered as for {@link #put}. */
  default CompletableFuture<WriteResult> delete(
      String key, long expectedRevision, @Nullable String requestId) {
    return delete(key, expectedRevision);
  }

  /** A linearizable read of one key: the entry or null, and the revision the read was served at. */
  CompletableFuture<StrongRead> get(String key);

  /** The membership registry of this namespace. */
  Membership membership();

  /**
   * The namespace's cluster counters.
   *
   * @throws UnsupportedOperationException when this backend keeps no counters (the default)
   */
  default CounterStore counters() {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " does not support cluster counters");
  }

  /**
   * This backend's own figures, by name, for {@link io.lockstep.ReplicaStats#backend()} and the
   * server's {@code GET /stats}: counts of what it skipped or repaired that the engine cannot see
   * (Redis: values in its data hash that are not Lockstep's). Values are {@link Number}s, {@link
   * String}s, {@link Boolean}s or {@link java.util.List}s of strings, so they render as JSON; the
   * map is a copy, in the order to show. Called on every stats request, never on the read or write
   * path: it must answer from memory, without asking the source. The default has none.
   */
  default Map<String, Object> stats() {
    return Map.of();
  }

  /** Releases connections and threads; feeds stop delivering. */
  @Override
  void close();

  /** A strong read's answer. */
  record StrongRead(@Nullable Versioned entry, long revision) {}
}
