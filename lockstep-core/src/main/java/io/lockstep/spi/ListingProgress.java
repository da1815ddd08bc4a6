package io.lockstep.spi;

/**
 * The engine's handle on one listing in flight ({@link Backend#snapshot(ListingProgress)}): the
 * backend reports each page it read, and stops when the engine gave up.
 *
 * <p>The engine bounds a listing by its progress, not by its total time: a listing fails (and is
 * cancelled, and retried after a backoff) once it has gone one operation timeout without a page. A
 * listing of many pages may therefore take as long as it needs, as long as each page comes within
 * the timeout. A backend that reads its listing in one step never calls {@link #page}: the whole
 * listing is then its one page and must come within the timeout.
 *
 * <p>Thread safe: the backend may call it from any thread.
 */
public interface ListingProgress {

  /** A handle that is never cancelled and ignores progress (for callers outside the engine). */
  ListingProgress NONE =
      new ListingProgress() {
        @Override
        public void page(int entries) {}

        @Override
        public boolean isCancelled() {
          return false;
        }
      };

  /** One more page was read, holding {@code entries} entries: the listing is making progress. */
  void page(int entries);

  /**
   * Whether the engine gave up on this listing (it made no progress for the operation timeout, or
   * the replica closed). A backend reading page after page checks it before each page and, once
   * true, stops reading and fails the listing; its future has been cancelled already.
   */
  boolean isCancelled();
}
