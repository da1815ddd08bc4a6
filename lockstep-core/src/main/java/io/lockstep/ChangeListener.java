package io.lockstep;

import java.util.List;

/**
 * Receives the changes an instance applies, in revision order, on the single thread that applies
 * them (the replication thread, {@code lockstep-applier-<id>}).
 *
 * <p>One revision is one step: every change of a revision (or every difference a listing makes) is
 * applied and published before any listener runs, and the engine hands them to {@link #onRevision}
 * together, once per revision. A listener written as a lambda implements {@link #onChange} and is
 * told each change of the revision in turn; one that throws on a change is still told the next. A
 * listener that overrides {@link #onRevision} sees the revision as one batch.
 *
 * <p>A listener must return quickly and hand long work to its own executor: while it runs, no
 * further change is applied. It may read the map ({@code get}, {@code list}, {@code getAll}: they
 * see the revision just applied) and start writes with the {@code *Async} methods, but it must not
 * wait for the map: a blocking call ({@code put}, {@code delete}, {@code compareAndSet}, {@code
 * awaitRevision}, or {@code join()}/{@code get()} on an unfinished future of the map) would wait
 * for this very thread, so it fails at once with {@link IllegalStateException} instead. Whatever a
 * listener throws is logged and counted ({@link ReplicaStats#listenerFailures()}) and does not stop
 * the other listeners.
 */
@FunctionalInterface
public interface ChangeListener {

  /** One change; see the class documentation for when it is called. */
  void onChange(ChangeEvent event);

  /**
   * Every change of one revision, or every difference of one listing ({@link
   * ChangeEvent#fromRelist()}), in one call, after all of them are applied. The default calls
   * {@link #onChange} for each event, in order.
   *
   * @param revision the revision applied (for a listing, the listing's revision)
   * @param events the changes, never empty, unmodifiable
   */
  default void onRevision(long revision, List<ChangeEvent> events) {
    for (ChangeEvent e : events) {
      onChange(e);
    }
  }
}
