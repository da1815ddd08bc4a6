package io.lockstep.testkit;

import io.lockstep.BackendUnavailableException;
import io.lockstep.IncrementResult;
import io.lockstep.Member;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.Change;
import io.lockstep.spi.CounterStore;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.Membership;
import io.lockstep.spi.RequestIds;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * An in-memory source of truth for unit tests of core logic: a sorted map with a revision counter
 * and a change history, shared by any number of {@link #backend() backend views} (one per replica).
 *
 * <p>It behaves like the SPI promises: snapshots are consistent, feeds deliver history from the
 * requested revision then live changes, all changes of a revision in one call, in order; a feed
 * asked to start at or below the compaction point reports {@code onCompacted}. Faults can be
 * switched on: {@link #setAvailable(boolean) unavailability} (operations fail, feeds break), {@link
 * #compact()}, {@link #breakFeeds()}, and {@link #foreignWrite()} (a revision used outside the
 * namespace, for {@link RevisionModel#SPARSE}), and {@link #loseHistory(boolean)} (the source
 * restarts empty and numbers revisions from 1 again, under a new epoch or, as an etcd restore
 * would, under the same one). It keeps {@link CounterStore cluster counters} too, outside the map
 * and its revisions. Thread safe; operations complete on the caller's thread, feed deliveries on
 * one thread per feed. Each view reports the listings it served as its backend figure {@code
 * listings}.
 */
public final class InMemorySource implements AutoCloseable {
  private final RevisionModel model;
  private final TreeMap<String, Versioned> data = new TreeMap<>();
  private final List<Batch> history = new ArrayList<>();
  private final List<MemFeed> feeds = new CopyOnWriteArrayList<>();
  private final Map<String, Member> members = new ConcurrentHashMap<>();
  private final Map<String, Long> counters = new TreeMap<>(); // guarded by this
  private final Map<String, Remembered> requests = new HashMap<>(); // guarded by this
  private long revision;
  private long compactedThrough;
  private int epochs = 1;
  private String epoch = "epoch-1";
  private volatile boolean available = true;
  private volatile @Nullable ReadHold readHold;

  /**
   * Strong reads of one key held open: each is answered with the entry and revision as they stood
   * when it was asked (the source served it then), but the answer is delivered only on {@link
   * #release()}, as a slow network would. Made by {@link #holdReads(String)}.
   */
  public static final class ReadHold {
    private final String key;
    private final CompletableFuture<Void> gate = new CompletableFuture<>();
    private final AtomicLong reads = new AtomicLong();

    private ReadHold(String key) {
      this.key = key;
    }

    /** How many reads of the key were served and are held. */
    public long reads() {
      return reads.get();
    }

    /** Delivers every held answer (on this thread), and every later read at once. */
    public void release() {
      gate.complete(null);
    }
  }

  /** Holds the strong reads of {@code key} from now on until the hold is released. */
  public ReadHold holdReads(String key) {
    ReadHold h = new ReadHold(key);
    readHold = h;
    return h;
  }

  /** One revision's changes in the history. */
  public record Batch(long revision, List<Change> changes) {}

  public InMemorySource(RevisionModel model) {
    this.model = model;
  }

  /** A new backend view on this source, as one replica would hold. */
  public Backend backend() {
    return new View();
  }

  public synchronized long revision() {
    return revision;
  }

  /** The entries as the source holds them now. */
  public synchronized List<Versioned> entries() {
    return List.copyOf(data.values());
  }

  /** The cluster counter {@code name} as the source holds it now (0 when never incremented). */
  /** Every counter and its total, in name order. */
  public synchronized Map<String, Long> counters() {
    return Map.copyOf(counters);
  }

  public synchronized long counter(String name) {
    return counters.getOrDefault(name, 0L);
  }

  /** Makes every operation fail and every feed break (false), or work again (true). */
  public void setAvailable(boolean available) {
    this.available = available;
    if (!available) {
      breakFeeds();
    }
  }

  /** Breaks every running feed with an error, as a lost connection would. */
  public void breakFeeds() {
    for (MemFeed f : feeds) {
      f.fail(new BackendUnavailableException("connection lost (injected)", null));
    }
  }

  /** The source's history id, as listings and feeds report it. */
  public synchronized String epoch() {
    return epoch;
  }

  /**
   * The source loses its history: data, change history and revision counter are gone, and the next
   * write is revision 1 again. With {@code newEpoch} it takes a new history id (Redis restarted
   * empty creates a new one); without, it keeps it (an etcd restore, seen only as revisions going
   * back). Running feeds learn the new epoch (when there is one) and go on with the new history.
   */
  public synchronized void loseHistory(boolean newEpoch) {
    data.clear();
    history.clear();
    revision = 0;
    compactedThrough = 0;
    if (newEpoch) {
      epoch = "epoch-" + (++epochs);
      for (MemFeed f : feeds) {
        f.epoch(epoch);
      }
    }
  }

  /** Forgets all history up to the current revision; feeds that need it report compaction. */
  public synchronized void compact() {
    compactedThrough = revision;
    history.clear();
  }

  /** Uses up one revision outside this namespace (only meaningful for SPARSE sources). */
  public synchronized void foreignWrite() {
    if (model != RevisionModel.SPARSE) {
      throw new IllegalStateException("foreign writes only exist for SPARSE sources");
    }
    revision++;
  }

  /** Writes several keys at one revision, as an etcd transaction would. Null value deletes. */
  public synchronized long writeAtomically(Map<String, byte[]> changes) {
    checkAvailable();
    long rev = ++revision;
    List<Change> batch = new ArrayList<>();
    for (Map.Entry<String, byte[]> e : changes.entrySet()) {
      if (e.getValue() == null) {
        if (data.remove(e.getKey()) != null) {
          batch.add(Change.delete(e.getKey()));
        }
      } else {
        Versioned v = new Versioned(e.getKey(), e.getValue(), "application/octet-stream", rev);
        data.put(e.getKey(), v);
        batch.add(Change.put(v));
      }
    }
    publish(rev, batch);
    return rev;
  }

  private void checkAvailable() {
    if (!available) {
      throw new BackendUnavailableException("in-memory source is unavailable (injected)", null);
    }
  }

  private synchronized WriteResult put(
      String key, byte[] value, String contentType, long expected) {
    checkAvailable();
    Versioned cur = data.get(key);
    if (expected != Backend.ANY_REVISION && (cur == null ? 0 : cur.modRevision()) != expected) {
      return WriteResult.conflict(cur == null ? 0 : cur.modRevision(), cur);
    }
    long rev = ++revision;
    Versioned v = new Versioned(key, value.clone(), contentType, rev);
    data.put(key, v);
    publish(rev, List.of(Change.put(v)));
    return WriteResult.applied(rev);
  }

  private synchronized WriteResult delete(String key, long expected) {
    checkAvailable();
    Versioned cur = data.get(key);
    if (expected != Backend.ANY_REVISION && (cur == null ? 0 : cur.modRevision()) != expected) {
      return WriteResult.conflict(cur == null ? 0 : cur.modRevision(), cur);
    }
    if (cur == null) {
      return WriteResult.notFound(revision);
    }
    long rev = ++revision;
    data.remove(key);
    publish(rev, List.of(Change.delete(key)));
    return WriteResult.applied(rev);
  }

  /** A request id's fingerprint and first answer (a WriteResult or a Long), kept forever. */
  private record Remembered(String fingerprint, Object answer) {}

  /**
   * Runs {@code op} once per request id: the same id again answers the first answer (as a replay),
   * a different request under it is refused. Null id: just runs it.
   */
  private synchronized Object once(
      @Nullable String requestId, String fingerprint, String what, Supplier<Object> op) {
    checkAvailable();
    if (requestId == null) {
      return op.get();
    }
    String id = RequestIds.digest(requestId);
    Remembered r = requests.get(id);
    if (r != null) {
      if (!r.fingerprint().equals(fingerprint)) {
        throw RequestIds.reused(what);
      }
      return r.answer() instanceof WriteResult w
          ? w.asReplay()
          : new IncrementResult((Long) r.answer(), true);
    }
    Object answer = op.get();
    requests.put(id, new Remembered(fingerprint, answer));
    return answer instanceof Long l ? new IncrementResult(l, false) : answer;
  }

  private void publish(long rev, List<Change> changes) {
    if (changes.isEmpty()) {
      return;
    }
    Batch b = new Batch(rev, List.copyOf(changes));
    history.add(b);
    for (MemFeed f : feeds) {
      f.offer(b, rev);
    }
  }

  private synchronized MemFeed openFeed(long from, FeedListener listener) {
    MemFeed f = new MemFeed(listener);
    f.epoch(epoch);
    if (!available) {
      f.fail(new BackendUnavailableException("in-memory source is unavailable (injected)", null));
      return f;
    }
    if (from <= compactedThrough) {
      f.compacted(compactedThrough);
      return f;
    }
    for (Batch b : history) {
      if (b.revision() >= from) {
        f.offer(b, revision);
      }
    }
    feeds.add(f);
    return f;
  }

  @Override
  public void close() {
    for (MemFeed f : feeds) {
      f.close();
    }
  }

  /** A feed delivering on its own thread, in order. */
  private final class MemFeed implements Feed {
    private final FeedListener listener;
    private final ExecutorService thread =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "in-memory-feed");
              t.setDaemon(true);
              return t;
            });
    private volatile boolean done;

    MemFeed(FeedListener listener) {
      this.listener = listener;
    }

    void offer(Batch b, long head) {
      submit(() -> listener.onChanges(b.revision(), b.changes(), head));
    }

    void epoch(String e) {
      submit(() -> listener.onEpoch(e));
    }

    void compacted(long through) {
      submit(() -> listener.onCompacted(through));
      finish();
    }

    void fail(Throwable t) {
      submit(() -> listener.onError(t));
      finish();
    }

    private void submit(Runnable r) {
      if (done) {
        return;
      }
      try {
        thread.execute(r);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // closed
      }
    }

    private void finish() {
      done = true;
      feeds.remove(this);
      thread.shutdown();
    }

    @Override
    public boolean requestProgress() {
      // Under the source's lock, as writes publish: the answer is queued after every delivery of a
      // revision up to it and before any later one (read outside, a write could overtake it and
      // the answer arrive below what the feed had delivered).
      synchronized (InMemorySource.this) {
        long rev = revision;
        submit(() -> listener.onProgress(rev));
      }
      return true;
    }

    @Override
    public void close() {
      done = true;
      feeds.remove(this);
      thread.shutdownNow();
      try {
        thread.awaitTermination(1, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** One replica's view; it reports, as its own {@link Backend#stats() figure}, its listings. */
  private final class View implements Backend {
    private final AtomicLong listings = new AtomicLong();

    @Override
    public RevisionModel revisionModel() {
      return model;
    }

    @Override
    public Map<String, Object> stats() {
      return Map.of("listings", listings.get());
    }

    @Override
    public CompletableFuture<Snapshot> snapshot() {
      synchronized (InMemorySource.this) {
        if (!available) {
          return CompletableFuture.failedFuture(
              new BackendUnavailableException("unavailable (injected)", null));
        }
        listings.incrementAndGet();
        return CompletableFuture.completedFuture(
            new Snapshot(revision, List.copyOf(data.values()), epoch));
      }
    }

    @Override
    public Feed watch(long fromRevision, FeedListener listener) {
      return openFeed(fromRevision, listener);
    }

    @Override
    public CompletableFuture<WriteResult> put(
        String key, byte[] value, String contentType, long expectedRevision) {
      try {
        return CompletableFuture.completedFuture(
            InMemorySource.this.put(key, value, contentType, expectedRevision));
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    }

    @Override
    public CompletableFuture<WriteResult> delete(String key, long expectedRevision) {
      try {
        return CompletableFuture.completedFuture(InMemorySource.this.delete(key, expectedRevision));
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    }

    @Override
    public CompletableFuture<WriteResult> put(
        String key,
        byte[] value,
        String contentType,
        long expectedRevision,
        @Nullable String requestId) {
      try {
        return CompletableFuture.completedFuture(
            (WriteResult)
                once(
                    requestId,
                    RequestIds.put(key, value, contentType, expectedRevision),
                    "put of '" + key + "'",
                    () -> InMemorySource.this.put(key, value, contentType, expectedRevision)));
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    }

    @Override
    public CompletableFuture<WriteResult> delete(
        String key, long expectedRevision, @Nullable String requestId) {
      try {
        return CompletableFuture.completedFuture(
            (WriteResult)
                once(
                    requestId,
                    RequestIds.delete(key, expectedRevision),
                    "delete of '" + key + "'",
                    () -> InMemorySource.this.delete(key, expectedRevision)));
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    }

    @Override
    public CompletableFuture<StrongRead> get(String key) {
      synchronized (InMemorySource.this) {
        if (!available) {
          return CompletableFuture.failedFuture(
              new BackendUnavailableException("unavailable (injected)", null));
        }
        StrongRead answer = new StrongRead(data.get(key), revision);
        ReadHold h = readHold;
        if (h != null && h.key.equals(key) && !h.gate.isDone()) {
          h.reads.incrementAndGet();
          return h.gate.thenApply(v -> answer);
        }
        return CompletableFuture.completedFuture(answer);
      }
    }

    @Override
    public Membership membership() {
      return new Membership() {
        @Override
        public CompletableFuture<Registration> register(Member self) {
          members.put(self.id(), self);
          return CompletableFuture.completedFuture(() -> members.remove(self.id()));
        }

        @Override
        public CompletableFuture<List<Member>> members() {
          return CompletableFuture.completedFuture(List.copyOf(members.values()));
        }
      };
    }

    @Override
    public CounterStore counters() {
      return new CounterStore() {
        @Override
        public CompletableFuture<Long> incrementAndGet(String name, long delta) {
          synchronized (InMemorySource.this) {
            if (!available) {
              return CompletableFuture.failedFuture(
                  new BackendUnavailableException("unavailable (injected)", null));
            }
            return CompletableFuture.completedFuture(counters.merge(name, delta, Long::sum));
          }
        }

        @Override
        public CompletableFuture<IncrementResult> incrementAndGet(
            String name, long delta, @Nullable String requestId) {
          if (requestId == null) {
            return incrementAndGet(name, delta).thenApply(v -> new IncrementResult(v, false));
          }
          try {
            return CompletableFuture.completedFuture(
                (IncrementResult)
                    once(
                        requestId,
                        RequestIds.increment(name, delta),
                        "increment of counter '" + name + "'",
                        () -> counters.merge(name, delta, Long::sum)));
          } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
          }
        }

        @Override
        public CompletableFuture<Long> get(String name) {
          synchronized (InMemorySource.this) {
            if (!available) {
              return CompletableFuture.failedFuture(
                  new BackendUnavailableException("unavailable (injected)", null));
            }
            return CompletableFuture.completedFuture(counters.getOrDefault(name, 0L));
          }
        }
      };
    }

    @Override
    public void close() {}
  }

  /**
   * Drops a member's record as its source would when the instance died without leaving (a lease or
   * TTL run out): the instance itself is not told.
   */
  public void dropMember(String id) {
    members.remove(id);
  }
}
