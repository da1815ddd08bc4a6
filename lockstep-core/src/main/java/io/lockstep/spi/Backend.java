package io.lockstep.spi;

import io.lockstep.Versioned;
import io.lockstep.WriteResult;
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

  /** Releases connections and threads; feeds stop delivering. */
  @Override
  void close();

  /** A strong read's answer. */
  record StrongRead(@Nullable Versioned entry, long revision) {}
}
