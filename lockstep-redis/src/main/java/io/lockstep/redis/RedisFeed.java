package io.lockstep.redis;

import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.TreeMap;

/**
 * One watch session: pub/sub messages of the map's channel, with every jump filled from the map's
 * stream, delivered as a contiguous sequence from the requested revision.
 *
 * <h2>How</h2>
 *
 * <ol>
 *   <li>The backend subscribes to {@code <ns>:changes} and registers the feed before the
 *       subscription is confirmed; messages that arrive from then on are kept ({@code early}).
 *   <li>After the confirmation, the feed <em>catches up</em>: {@code range.lua} reads the counter
 *       and the stream from the next revision wanted, in one atomic step, 1000 entries at a time.
 *       Every change published after that step reaches this subscription, so stream plus messages
 *       leave no hole. The stream must start exactly at the revision wanted; when it starts later,
 *       or is empty while the counter is at or past it, history was trimmed: {@link
 *       FeedListener#onCompacted} and the engine relists. A malformed entry (not written by the
 *       script) is counted, logged, and reported the same way, so the relist skips it.
 *   <li>Then it is <em>live</em>: a message at the next revision is delivered, an older one is a
 *       duplicate and dropped, a newer one is kept and starts another catch-up (a message lost or
 *       late: the stream has it).
 *   <li>{@link #requestProgress()} runs a catch-up too; when it has delivered everything up to the
 *       counter it read, it reports {@link FeedListener#onProgress} with the last revision
 *       delivered, never more.
 *   <li>The subscription connection dropping, or any failed read, ends the session with {@link
 *       FeedListener#onError}; the engine resumes from its applied revision with a new session.
 * </ol>
 *
 * <p>Thread safety: Lettuce calls in from its event loops, the engine from its own threads; one
 * lock serialises state and delivery. Redis commands are sent after the lock is released.
 */
final class RedisFeed implements Feed {
  private static final System.Logger LOG = System.getLogger(RedisFeed.class.getName());
  private final RedisBackend backend;
  private final FeedListener listener;
  private final Object lock = new Object();

  // Guarded by lock.
  private long next;
  private long head;
  private boolean done;
  private boolean subscribed;
  private boolean catchingUp = true; // until the first catch-up after the subscription completes
  private boolean progressWanted;
  private String epoch; // the history id reported to the listener, null before the first read
  private final TreeMap<Long, RedisValueCodec.Message> early = new TreeMap<>();

  RedisFeed(RedisBackend backend, long fromRevision, FeedListener listener) {
    this.backend = backend;
    this.listener = listener;
    this.next = fromRevision;
  }

  /** The subscription is confirmed: read history. */
  void subscribed() {
    synchronized (lock) {
      if (done) {
        return;
      }
      subscribed = true;
    }
    readRange();
  }

  /** A message on the channel (from Lettuce's event loop). */
  void onMessage(RedisValueCodec.Message m) {
    boolean read = false;
    synchronized (lock) {
      if (done || m.revision() < next) {
        return;
      }
      head = Math.max(head, m.revision());
      if (catchingUp) {
        early.put(m.revision(), m);
        return;
      }
      if (m.revision() == next) {
        deliver(m);
        drainEarly();
      } else {
        early.put(m.revision(), m);
      }
      if (!early.isEmpty()) {
        catchingUp = true; // a jump: the stream has what is missing
        read = true;
      }
    }
    if (read) {
      readRange();
    }
  }

  private void readRange() {
    long from;
    synchronized (lock) {
      if (done) {
        return;
      }
      from = next;
    }
    backend.range(from).whenComplete(this::onRange);
  }

  private void onRange(List<Object> reply, Throwable err) {
    boolean again = false;
    synchronized (lock) {
      if (done) {
        return;
      }
      if (err != null) {
        fail(err);
        return;
      }
      long counter = (Long) reply.get(0);
      List<?> entries = (List<?>) reply.get(1);
      String readEpoch = RedisBackend.epochOf(reply.size() > 2 ? reply.get(2) : null);
      if (!readEpoch.equals(epoch)) {
        epoch = readEpoch;
        listener.onEpoch(readEpoch); // before any delivery read from it
      }
      if (counter < next - 1) {
        // The counter is below what this session was asked to start after: Redis lost writes it
        // had acknowledged (a restart from an older AOF, a failover to a lagging replica) and
        // numbers them again. Only a listing can tell the engine where the history now is.
        LOG.log(
            Level.WARNING,
            "the map''s revision counter is {0}, below revision {1} this feed started after:"
                + " Redis lost acknowledged writes; relisting",
            counter,
            next - 1);
        compacted(counter);
        return;
      }
      head = Math.max(head, counter);
      for (Object e : entries) {
        List<?> entry = (List<?>) e;
        long rev = revisionOf((byte[]) entry.get(0));
        if (rev < next) {
          continue;
        }
        if (rev > next) {
          compacted(rev - 1);
          return;
        }
        RedisValueCodec.Message m;
        try {
          m = RedisValueCodec.decodeMessage(field((List<?>) entry.get(1)));
          if (m.revision() != rev) {
            throw new IllegalArgumentException("it carries revision " + m.revision());
          }
        } catch (IllegalArgumentException ex) {
          // Not written by the script: skip it by relisting, which reads the data hash instead.
          backend.countUndecodable();
          LOG.log(
              Level.WARNING,
              "stream entry {0}-0 of the map is malformed ({1}); relisting past it",
              rev,
              ex.getMessage());
          compacted(rev);
          return;
        }
        deliver(m);
      }
      if (entries.size() >= RedisBackend.RANGE_BATCH) {
        again = true;
      } else if (next <= counter) {
        compacted(
            counter); // the counter is past the stream's end: the stream was trimmed or removed
        return;
      } else {
        drainEarly();
        if (progressWanted) {
          progressWanted = false;
          listener.onProgress(next - 1);
        }
        if (early.isEmpty()) {
          catchingUp = false;
        } else {
          again = true; // messages beyond a hole
        }
      }
    }
    if (again) {
      readRange();
    }
  }

  /** Delivers kept messages that follow on. Caller holds the lock. */
  private void drainEarly() {
    while (!early.isEmpty()) {
      long first = early.firstKey();
      if (first < next) {
        early.pollFirstEntry();
      } else if (first == next) {
        deliver(early.pollFirstEntry().getValue());
      } else {
        return;
      }
    }
  }

  /** Caller holds the lock. */
  private void deliver(RedisValueCodec.Message m) {
    listener.onChanges(m.revision(), List.of(m.change()), Math.max(head, m.revision()));
    next = m.revision() + 1;
  }

  /** Caller holds the lock. */
  private void compacted(long revision) {
    done = true;
    backend.forget(this);
    listener.onCompacted(revision);
  }

  /**
   * Ends the session with an error (also from the backend: subscription lost, failed to subscribe).
   */
  void fail(Throwable error) {
    synchronized (lock) {
      if (done) {
        return;
      }
      done = true;
      backend.forget(this);
      listener.onError(backend.translate(error, "watch", false));
    }
  }

  @Override
  public boolean requestProgress() {
    synchronized (lock) {
      if (done) {
        return false;
      }
      progressWanted = true;
      if (catchingUp) {
        return true; // the running catch-up reports it; before the subscription, the first one will
      }
      catchingUp = true;
    }
    readRange();
    return true;
  }

  @Override
  public void close() {
    synchronized (lock) {
      done = true;
      early.clear();
    }
    backend.forget(this);
  }

  /** Whether the subscription was confirmed (for tests). */
  boolean isSubscribed() {
    synchronized (lock) {
      return subscribed;
    }
  }

  /** The revision of a stream entry id {@code <rev>-0}. */
  static long revisionOf(byte[] id) {
    String s = new String(id, java.nio.charset.StandardCharsets.US_ASCII);
    int dash = s.indexOf('-');
    return Long.parseLong(dash < 0 ? s : s.substring(0, dash));
  }

  /** The change message of a stream entry's fields (field {@code c}). */
  static byte[] field(List<?> fields) {
    for (int i = 0; i + 1 < fields.size(); i += 2) {
      if (new String((byte[]) fields.get(i), java.nio.charset.StandardCharsets.US_ASCII)
          .equals("c")) {
        return (byte[]) fields.get(i + 1);
      }
    }
    throw new IllegalArgumentException("no field c");
  }
}
