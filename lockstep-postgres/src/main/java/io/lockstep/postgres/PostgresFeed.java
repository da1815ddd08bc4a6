package io.lockstep.postgres;

import io.lockstep.BackendUnavailableException;
import io.lockstep.Versioned;
import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One feed: reads the change log from its next revision whenever it is {@linkplain #wake() woken}
 * (a {@code NOTIFY}, the poll timer, a reconnect of the {@code LISTEN} connection, a progress
 * request), on the backend's I/O threads, one read at a time. Each read is one {@code REPEATABLE
 * READ} snapshot of the namespace's head and its changes from the next revision: since revisions
 * are handed out in commit order, every revision up to the head is in the log (or compacted), so a
 * read that finds nothing new has missed nothing. A revision the log no longer holds ends the feed
 * with {@code onCompacted}; a failed read with {@code onError}; the engine then relists or watches
 * again from its applied revision.
 */
final class PostgresFeed implements Feed {
  private final PostgresBackend backend;
  private final FeedListener listener;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private volatile boolean again;
  private volatile boolean progressAsked;
  private long next; // only on the reading thread
  private String epoch; // the last epoch reported; only on the reading thread

  PostgresFeed(PostgresBackend backend, long fromRevision, FeedListener listener) {
    this.backend = backend;
    this.listener = listener;
    this.next = fromRevision;
  }

  /** Reads the log soon (coalesced: one read runs at a time, and one more after it if asked). */
  void wake() {
    if (closed.get()) {
      return;
    }
    again = true;
    if (scheduled.compareAndSet(false, true)) {
      try {
        backend.io().execute(this::run);
      } catch (RejectedExecutionException e) {
        scheduled.set(false);
      }
    }
  }

  private void run() {
    try {
      while (again && !closed.get()) {
        again = false;
        readAll();
      }
    } finally {
      scheduled.set(false);
    }
    if (again && !closed.get()) {
      wake();
    }
  }

  private void readAll() {
    try (Connection c = backend.pool().getConnection()) {
      while (!closed.get()) {
        PostgresBackend.LogRead read = backend.readLog(c, next);
        PostgresBackend.Head h = read.head();
        if (epoch == null || !epoch.equals(h.epoch())) {
          epoch = h.epoch();
          listener.onEpoch(epoch);
        }
        if (h.rev() < next - 1) {
          // The head went back below what this feed was asked to follow: the database lost
          // history (a standby promoted before it caught up, a backup restored). A progress
          // answer below applied makes the engine relist, and that listing resets the replica.
          close();
          listener.onProgress(h.rev());
          return;
        }
        if (next <= h.compacted()) {
          close();
          listener.onCompacted(h.compacted());
          return;
        }
        for (PostgresBackend.Row r : read.rows()) {
          if (closed.get()) {
            return;
          }
          if (r.rev() != next) {
            // Not in a log whose head is past it: removed by a compaction (or by hand).
            close();
            listener.onCompacted(Math.max(h.compacted(), r.rev() - 1));
            return;
          }
          Change change =
              r.value() == null
                  ? Change.delete(r.key())
                  : Change.put(
                      new Versioned(
                          r.key(),
                          r.value(),
                          r.contentType() == null
                              ? Versioned.DEFAULT_CONTENT_TYPE
                              : r.contentType(),
                          r.rev()));
          listener.onChanges(r.rev(), List.of(change), Math.max(h.rev(), r.rev()));
          next = r.rev() + 1;
        }
        if (read.rows().size() < PostgresBackend.BATCH) {
          if (next <= h.rev()) {
            // The head is past what the log held: the missing revisions were compacted.
            close();
            listener.onCompacted(Math.max(h.compacted(), next));
            return;
          }
          if (progressAsked) {
            progressAsked = false;
            listener.onProgress(next - 1);
          }
          return;
        }
      }
    } catch (Exception e) {
      if (!closed.get()) {
        close();
        listener.onError(
            e instanceof BackendUnavailableException
                ? e
                : backend.translate(e, "read of the change log of " + backend.namespace(), false));
      }
    }
  }

  /** Ends the feed before its first read (the backend is closed). */
  void fail(Throwable error) {
    close();
    listener.onError(error);
  }

  @Override
  public boolean requestProgress() {
    progressAsked = true;
    wake();
    return true;
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      backend.forget(this);
    }
  }
}
