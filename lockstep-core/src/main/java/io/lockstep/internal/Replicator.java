package io.lockstep.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.lockstep.BackendCallObserver;
import io.lockstep.BackendUnavailableException;
import io.lockstep.ChangeEvent;
import io.lockstep.ChangeListener;
import io.lockstep.Digests;
import io.lockstep.HistoryResetException;
import io.lockstep.InvalidKeyException;
import io.lockstep.LocalSnapshot;
import io.lockstep.LockstepConfig;
import io.lockstep.LockstepException;
import io.lockstep.NearOnChange;
import io.lockstep.NearStats;
import io.lockstep.NotAppliedException;
import io.lockstep.ReadConsistency;
import io.lockstep.Registration;
import io.lockstep.Replica;
import io.lockstep.ReplicaState;
import io.lockstep.ReplicaStateListener;
import io.lockstep.ReplicaStats;
import io.lockstep.ReplicatedMap;
import io.lockstep.ValueTooLargeException;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.Backoff;
import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import org.jspecify.annotations.Nullable;

/**
 * The replicated map engine, written once for every backend (the Kubernetes informer pattern).
 *
 * <h2>Design</h2>
 *
 * <p>Memory is a {@link ConcurrentHashMap} of immutable {@link Versioned} entries: a local read is
 * one lock-free lookup. Every mutation of that map, of the digest and of the applied revision
 * happens on one thread, the <em>applier</em>, so changes are applied strictly one revision after
 * another and no lock is needed. Backend callbacks only hand work to the applier.
 *
 * <p>Life of a session: <b>list</b> (a snapshot at revision S replaces memory, key by key, the
 * difference reported to listeners) then <b>watch</b> from S+1. Each feed session carries a
 * generation number; a callback from an older session is dropped, so a closed feed can never apply
 * anything. Every event is checked:
 *
 * <ul>
 *   <li>a revision lower than one already seen in the same session is out of order: re-list;
 *   <li>a revision below the applied one but not below the session's start is a fault too (the
 *       session itself, by a progress answer, already brought applied past it): re-list;
 *   <li>a revision below the session's start is a duplicate (a resumed feed repeating itself):
 *       dropped and counted, unless memory shows it never saw it (re-list);
 *   <li>at the applied revision, each change is checked by key and mod revision, never by revision
 *       alone, because one revision may carry several keys;
 *   <li>on a {@link RevisionModel#CONTIGUOUS} feed, a jump past applied + 1 is a gap: re-list.
 * </ul>
 *
 * <p>A revision is applied whole, then published, then reported: memory, digest and applied
 * revision move for all of its changes before any change listener runs, and whatever a listener
 * throws ({@link Error}s included) is logged and counted ({@code listenerFailures}), never
 * propagated. Every change of a revision is checked before any is applied. Anything else a step of
 * the session throws is contained too: it is an engine or backend bug, answered by a counted relist
 * after a backoff, so no throw can leave a revision half published or the feed stopped.
 *
 * <p>A <b>reset</b> answers a source whose history went backwards (docs/replicated-map.md): a feed
 * that reports another {@link Snapshot#epoch() epoch} than the last listing's, or a progress answer
 * below applied, causes a relist; a listing of another epoch, or below applied, is installed as it
 * is (values compared, not only mod revisions), moves applied to its revision (the only move back),
 * fails every revision waiter with {@link HistoryResetException}, and counts {@code resets}.
 *
 * <p>A <b>listing</b> is bounded by its progress, not by its total time: the backend reports each
 * page through a {@link ListingProgress}, and a listing that went one operation timeout without a
 * page is cancelled (its future, and the handle the backend checks between pages) and retried after
 * a backoff. Listings are single-flight: a relist asked for while one is under way (or waiting for
 * its retry) joins it, and so do {@link #refresh()} calls, which complete with its revision. A
 * relist that comes within {@code 2 × reconnectBackoffMax} of the previous one waits a backoff of
 * its own (capped exponential with jitter, reset once relists are that far apart), so a feed that
 * fails on every event cannot loop relist, watch, relist at full speed.
 *
 * <p>The <b>feed queue</b> is bounded: at most {@code maxPendingChanges} changes received and not
 * yet applied (one revision larger than that is taken whole). A feed delivery that would go past it
 * is not queued: the session stops queueing (everything it delivers from then on is left out, a
 * progress answer included) and queues one marker; when the applier reaches the marker it has
 * applied everything the session queued before, so it closes that feed and resumes from applied +
 * 1, through the backend's own catch-up. Nothing is dropped; the pause is counted ({@code
 * feedPauses}).
 *
 * <p><b>Lag</b> is lag behind the source for this namespace: on a {@link RevisionModel#SPARSE}
 * source a revision is known to be the namespace's only when the feed delivers a change at it, and
 * a progress revision means "nothing of yours up to here" (applied moves to it), so the head a
 * delivery reports (the store's revision, other namespaces' writes included) is never counted. On a
 * {@link RevisionModel#CONTIGUOUS} source the head reported is the namespace's own. Changes
 * received and waiting in the queue count as lag too, measured when {@link #stats()} is read.
 *
 * <p>A broken feed is resumed from applied + 1 after a capped exponential backoff with jitter, for
 * ever. A feed that cannot resume (compaction) causes a re-list. A quiet feed is asked for progress
 * every {@code progressInterval}; one that stays silent for five intervals after being asked is
 * treated as broken (the silent watch death that hand-rolled caches suffer from).
 *
 * <p>The digest is the sum over entries of {@link Digests#entry}, updated in O(1) per change.
 *
 * <p>The applier keeps the replica's state (applied revision, head, digest, key count, counters) in
 * plain fields of its own and, at the end of each change, publishes a copy as one immutable object
 * in one volatile write; every other thread reads only that object, so {@link #stats()} is one
 * moment (the epoch of the last listing included; only the backend's own figures are asked of it
 * when stats are read). The read path ({@link #get(String)}) does not touch it.
 *
 * <p><b>One revision, one step, for readers too.</b> {@link #get(String)} is one lock-free lookup.
 * A multi-key read ({@link #list}, {@link #getAll}, {@link Replica#snapshot}) must not see part of
 * a revision: the applier makes a sequence number {@code seq} odd before it changes memory for a
 * revision or a listing, and even again once that revision is published (a seqlock). A reader reads
 * {@code seq} (waiting while it is odd), memory and the published revision, then {@code seq} again;
 * equal, the read is of that revision. After {@value #OPTIMISTIC_READS} torn tries (a stream of
 * revisions racing a long read) it hands the read to the applier, between two of its steps, where
 * it is consistent by construction; on the applier itself (a listener) it reads directly. Every
 * applier task ends with {@code seq} even, whatever it threw.
 *
 * <p><b>No user code on the applier or on I/O threads.</b> Every future handed to the user
 * completes by one hop to the configured callback executor ({@link Callbacks}); blocking calls fail
 * fast on the applier with {@link IllegalStateException}, since they would wait for the thread they
 * block; {@link #close()} fails every pending call. Change listeners, the one user code that runs
 * on the applier, get a revision's changes in one {@link ChangeListener#onRevision} call.
 *
 * <p>The replica's {@link ReplicaState} is applier state too, published with the rest: LISTING
 * until the first listing is applied, FOLLOWING while a feed is open, RECONNECTING while waiting to
 * resume a broken one, RELISTING during a later listing, CLOSED at the end. Change listeners run on
 * the applier (they see changes in order, as they are applied); state listeners run on a notifier
 * thread of their own, handed each transition by the applier, so they may block on the map.
 *
 * <p><b>Near mode</b> ({@link io.lockstep.ReplicaMode#NEAR}) keeps everything above but what memory
 * holds: a bounded Caffeine cache of the keys read instead of the whole map. A listing is then one
 * strong read for the source's revision (the held keys are dropped), the feed updates or drops held
 * keys only, and a miss loads its key through a strong read guarded against the changes that go by
 * meanwhile; the section "Near mode" below explains the guard.
 *
 * <p>Time is read only through the injected {@link Ticker} and every timer goes through the
 * injected {@link Scheduler}, so a test can move time by hand; the applier stays one thread of our
 * own.
 */
final class Replicator implements ReplicatedMap {
  private static final System.Logger LOG = System.getLogger(Replicator.class.getName());
  private static final int SILENT_INTERVALS = 5;

  /** Torn optimistic multi-key reads before the read is handed to the applier. */
  static final int OPTIMISTIC_READS = 3;

  private final Backend backend;
  private final LockstepConfig config;
  private final RevisionModel model;

  /** Memory: every key (full mode), or the near cache's map view (near mode). */
  private final ConcurrentMap<String, Versioned> entries;

  /** Near mode: the keys held, bounded; null in full mode. See "Near mode" below. */
  private final @Nullable Cache<String, Versioned> near;

  /** Near mode: the loads under way, one per key (single flight). */
  private final ConcurrentHashMap<String, NearLoad> nearLoads = new ConcurrentHashMap<>();

  private @Nullable String nearNewEpoch; // applier only: a feed reported this new history

  private final LongAdder nearLoadCount = new LongAdder();
  private final LongAdder nearLoadFailures = new LongAdder();
  private final LongAdder nearStaleLoads = new LongAdder();
  private volatile long totalBytes; // bytes of the values in entries; written by the applier
  private final @Nullable MapQuota quota; // null when the totals are unbounded
  private final CopyOnWriteArrayList<Listening> listeners = new CopyOnWriteArrayList<>();
  private final CopyOnWriteArrayList<ReplicaStateListener> stateListeners =
      new CopyOnWriteArrayList<>();
  private final ThreadPoolExecutor applier;
  private final ThreadPoolExecutor notifier; // state listeners; its thread lives only while busy
  private final Ticker ticker;
  private final Scheduler scheduler;
  private final RevisionWaiters waiters;
  private final AtomicBoolean nudgePending = new AtomicBoolean();
  private final Replica replica = new ReplicaView();
  private final Callbacks callbacks;

  // The feed queue: written by the feed threads (SessionListener) and the applier.
  private final AtomicLong pendingChanges = new AtomicLong();
  private final AtomicLong peakPendingChanges = new AtomicLong();
  private final ConcurrentLinkedDeque<Pending> pendingBatches = new ConcurrentLinkedDeque<>();

  private volatile boolean closed;

  /**
   * The seqlock of multi-key reads: odd while the applier changes memory for a revision or a
   * listing, even once it is published. Written by the applier only.
   */
  private volatile long seq;

  // Replica state: written and read by the applier only. Other threads read the published copy.
  private long applied;
  private long head;
  private long digest;
  private boolean ready;
  private long behindSinceNanos;
  private long relists;
  private long reconnects;
  private long duplicates;
  private long gaps;
  private long listenerFailures;
  private long resets;
  private long feedPauses;
  private String epoch = Snapshot.NO_EPOCH; // the history of the last listing
  private ReplicaState state = ReplicaState.LISTING;

  /** The replica state as of the end of the last change, replaced by one volatile write. */
  private volatile Published published = Published.INITIAL;

  // Session state: touched by the applier thread only.
  private long generation;
  private Feed feed;
  private long sessionFrom; // the revision this session's feed was asked to start at
  private long sessionLast;
  private final Backoff.Attempts backoff; // reset by every sign of a healthy source
  private long lastSignalNanos;
  private long progressAskedNanos;
  private final List<CompletableFuture<Long>> refreshWaiters = new ArrayList<>();
  private boolean listingInFlight; // from a relist's start until its listing is installed
  private Listing listing; // the listing request under way, null between requests
  private final Backoff.Attempts relistBackoff; // throttles relists that follow each other
  private final long relistWindowNanos;
  private boolean relisted; // whether lastRelistNanos is set
  private long lastRelistNanos; // when the last counted relist started (or will, when delayed)

  /**
   * @param ticker the only source of time of the engine
   * @param scheduler runs the progress timer and the reconnect backoff; owned by the caller, which
   *     shuts it down after {@link #close()}
   */
  Replicator(Backend backend, LockstepConfig config, Ticker ticker, Scheduler scheduler) {
    this.backend = backend;
    this.config = config;
    this.quota =
        config.unboundedTotals()
            ? null
            : new MapQuota(config.maxTotalKeys(), config.maxTotalBytes());
    this.model = backend.revisionModel();
    if (config.near()) {
      Caffeine<Object, Object> b = Caffeine.newBuilder().executor(Runnable::run).recordStats();
      Cache<String, Versioned> c =
          config.nearMaxBytes() > 0
              ? b.maximumWeight(config.nearMaxBytes())
                  .<String, Versioned>weigher(
                      (k, v) ->
                          (int) Math.min(Integer.MAX_VALUE, (long) k.length() + v.value().length))
                  .build()
              : b.maximumSize(config.nearMaxKeys()).build();
      this.near = c;
      this.entries = c.asMap();
    } else {
      this.near = null;
      this.entries = new ConcurrentHashMap<>();
    }
    this.ticker = ticker;
    this.scheduler = scheduler;
    this.backoff =
        Backoff.of(config.reconnectBackoffMin(), config.reconnectBackoffMax())
            .attempts(new SplittableRandom(config.randomSeed()));
    this.relistBackoff =
        Backoff.of(config.reconnectBackoffMin(), config.reconnectBackoffMax())
            .attempts(new SplittableRandom(~config.randomSeed()));
    this.relistWindowNanos = 2 * config.reconnectBackoffMax().toNanos();
    this.waiters = new RevisionWaiters(() -> published.applied());
    String id = config.instanceId();
    Callbacks cb = new Callbacks(config.callbackExecutor(), id);
    this.callbacks = cb;
    this.applier =
        new ThreadPoolExecutor(
            1,
            1,
            0,
            TimeUnit.NANOSECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = daemon(r, "lockstep-applier-" + id);
              cb.replicationThread(t);
              return t;
            });
    this.notifier =
        new ThreadPoolExecutor(
            1,
            1,
            10,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> daemon(r, "lockstep-state-" + id));
    this.notifier.allowCoreThreadTimeOut(true);
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  void start() {
    onApplier(() -> startRelist("initial list", false));
    scheduleTick();
  }

  /** The next progress check; re-armed by the timer before it hands the check to the applier. */
  private void scheduleTick() {
    schedule(
        () -> {
          if (!closed) {
            scheduleTick();
            onApplier(this::tick);
          }
        },
        config.progressInterval().toNanos());
  }

  private void schedule(Runnable task, long delayNanos) {
    try {
      scheduler.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // shut down: the node is closing
    }
  }

  /**
   * Completes once the applier has run out of work: every task handed to it before this call, and
   * every task those handed on in turn. For tests that move time by hand.
   */
  CompletableFuture<Void> idle() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    Runnable[] check = new Runnable[1];
    check[0] =
        () -> {
          if (applier.getQueue().isEmpty()) {
            done.complete(null);
          } else {
            onApplier(check[0]);
          }
        };
    onApplier(check[0]);
    if (applier.isShutdown()) {
      done.complete(null);
    }
    return done;
  }

  void close() {
    closed = true;
    LockstepException closedError = new LockstepException("replicated map closed");
    callbacks.close(); // every call still pending fails now, on the callback executor
    onApplier(
        () -> {
          closeFeed();
          for (CompletableFuture<Long> f : refreshWaiters) {
            f.completeExceptionally(closedError);
          }
          refreshWaiters.clear();
          enter(ReplicaState.CLOSED);
        });
    applier.shutdown();
    if (!callbacks.onReplicationThread()) { // a listener closing the map cannot wait for itself
      try {
        applier.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    notifier.shutdown(); // delivers what is queued, CLOSED last, then its thread ends
    waiters.close(closedError);
    for (NearLoad l : nearLoads.values()) {
      l.completeExceptionally(closedError);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reads
  // ---------------------------------------------------------------------------------------------

  @Override
  public Versioned get(String key) {
    Cache<String, Versioned> n = near;
    if (n == null) {
      return entries.get(key);
    }
    Versioned v = n.getIfPresent(key);
    return v != null ? v : nearMiss(key);
  }

  @Override
  public Versioned get(String key, ReadConsistency consistency) {
    if (consistency == ReadConsistency.LOCAL) {
      return get(key);
    }
    callbacks.checkMayBlock("strong read of '" + key + "'");
    return join(strongRead(key, true));
  }

  @Override
  public CompletableFuture<Versioned> getStrongAsync(String key) {
    return strongRead(key, false);
  }

  private CompletableFuture<Versioned> strongRead(String key, boolean blocking) {
    validateKey(key);
    String what = "strong read of '" + key + "'";
    if (closed) {
      return callbacks.closedFuture(what, false);
    }
    long start = System.nanoTime();
    CompletableFuture<Versioned> f = guard(backend.get(key), what, false).thenApply(r -> r.entry());
    BackendCallObserver observer = config.backendCallObserver();
    if (observer != BackendCallObserver.NONE) {
      f.whenComplete(
          (v, e) ->
              observer.called(
                  BackendCallObserver.Call.STRONG_READ, System.nanoTime() - start, e != null));
    }
    return blocking ? callbacks.forBlockingCall(f, what, false) : callbacks.deliver(f, what, false);
  }

  public boolean awaitRevision(long revision, Duration timeout) {
    if (published.applied() >= revision) {
      return true;
    }
    callbacks.checkMayBlock("awaitRevision(" + revision + ")");
    CompletableFuture<Long> f =
        callbacks.forBlockingCall(
            awaitInternally(revision), "wait for revision " + revision, false);
    try {
      f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      f.cancel(false); // forget this waiter
      return false;
    } catch (InterruptedException e) {
      f.cancel(false);
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof HistoryResetException reset) {
        throw reset;
      }
      throw new LockstepException("wait for revision " + revision + " failed", e.getCause());
    }
  }

  public CompletableFuture<Long> awaitRevisionAsync(long revision) {
    return callbacks.deliver(awaitInternally(revision), "wait for revision " + revision, false);
  }

  private CompletableFuture<Long> awaitInternally(long revision) {
    CompletableFuture<Long> f = waiters.await(revision);
    if (!f.isDone()) {
      nudge();
    }
    return f;
  }

  @Override
  public List<Versioned> list(String prefix, int limit) {
    return snapshot(prefix, limit).entries();
  }

  public LocalSnapshot snapshot(String prefix, int limit) {
    String p = prefix == null ? "" : prefix;
    return atOneRevision(
        rev -> {
          List<Versioned> out = new ArrayList<>();
          for (Versioned v : entries.values()) {
            if (v.key().startsWith(p)) {
              out.add(v);
            }
          }
          out.sort(Comparator.comparing(Versioned::key));
          return new LocalSnapshot(
              rev, limit > 0 && out.size() > limit ? new ArrayList<>(out.subList(0, limit)) : out);
        });
  }

  @Override
  public Map<String, Versioned> getAll(Collection<String> keys) {
    checkKeys(keys);
    return atOneRevision(
        rev -> {
          Map<String, Versioned> out = new HashMap<>(Math.max(4, keys.size() * 2));
          for (String k : keys) {
            Versioned v = entries.get(k);
            if (v != null) {
              out.put(k, v);
            }
          }
          return Collections.unmodifiableMap(out);
        });
  }

  public LocalSnapshot snapshot(Collection<String> keys) {
    checkKeys(keys);
    return atOneRevision(
        rev -> {
          List<Versioned> out = new ArrayList<>(keys.size());
          for (String k : keys) {
            Versioned v = entries.get(k);
            if (v != null) {
              out.add(v);
            }
          }
          out.sort(Comparator.comparing(Versioned::key));
          for (int i = out.size() - 1; i > 0; i--) { // a key asked for twice
            if (out.get(i).key().equals(out.get(i - 1).key())) {
              out.remove(i);
            }
          }
          return new LocalSnapshot(rev, out);
        });
  }

  private static void checkKeys(Collection<String> keys) {
    if (keys == null) {
      throw new IllegalArgumentException("keys: null");
    }
    for (String k : keys) {
      if (k == null) {
        throw new IllegalArgumentException("keys: a null key");
      }
    }
  }

  /** Reads memory and builds a result from it and the applied revision it stood at. */
  @FunctionalInterface
  private interface MemoryRead<T> {
    T read(long revision);
  }

  /**
   * Runs {@code read} so that it sees memory at exactly one applied revision, and passes it that
   * revision: optimistically under the seqlock, then, if revisions keep tearing it, on the applier.
   */
  private <T> T atOneRevision(MemoryRead<T> read) {
    if (callbacks.onReplicationThread()) {
      return read.read(published.applied()); // between steps: memory is at the published revision
    }
    for (int attempt = 0; attempt < OPTIMISTIC_READS; attempt++) {
      long before = evenSeq();
      T result = read.read(published.applied());
      if (seq == before) {
        return result;
      }
    }
    CompletableFuture<T> onApplier = new CompletableFuture<>();
    try {
      applier.execute(
          () -> {
            try {
              onApplier.complete(read.read(published.applied()));
            } catch (Throwable t) {
              onApplier.completeExceptionally(t);
            }
          });
    } catch (RejectedExecutionException closing) {
      while (true) { // closed: the applier stops changing memory soon
        long before = evenSeq();
        T result = read.read(published.applied());
        if (seq == before) {
          return result;
        }
        Thread.yield();
      }
    }
    return join(onApplier);
  }

  /** The seqlock's value once even: no revision is being applied. */
  private long evenSeq() {
    long s;
    for (int spins = 0; ((s = seq) & 1) != 0; spins++) {
      if (spins < 100) {
        Thread.onSpinWait();
      } else {
        Thread.yield();
      }
    }
    return s;
  }

  /** The applier starts changing memory for one revision or listing: multi-key reads wait. */
  private void beginStep() {
    long s = seq;
    if ((s & 1) == 0) {
      seq = s + 1;
    }
  }

  /** The step is published (or failed): multi-key reads may proceed. */
  private void endStep() {
    long s = seq;
    if ((s & 1) != 0) {
      seq = s + 1;
    }
  }

  public long appliedRevision() {
    return published.applied();
  }

  public long digest() {
    return published.digest();
  }

  @Override
  public int size() {
    return entries.size();
  }

  public boolean isReady() {
    return published.ready();
  }

  /**
   * {@link ReplicaStats#headRevision()} without the rest of the stats (no copy, no backend call):
   * what {@code GET /_lockstep/replica} answers.
   */
  long headRevision() {
    Published p = published;
    long head = Math.max(p.head(), p.applied());
    Pending last = pendingBatches.peekLast();
    return last == null ? head : Math.max(head, last.revision());
  }

  public ReplicaStats stats() {
    Published p = published;
    long now = ticker.nanos();
    long head = p.head();
    long since = p.behindSinceNanos();
    // Changes received and not yet applied: the oldest one's age, the newest one's revision.
    for (Pending b : pendingBatches) {
      if (b.revision() > p.applied()) {
        since = since == 0 ? b.queuedNanos() : Math.min(since, b.queuedNanos());
        break;
      }
    }
    Pending last = pendingBatches.peekLast();
    if (last != null) {
      head = Math.max(head, last.revision());
    }
    long lagMillis = since == 0 ? 0 : Math.max(0, (now - since) / 1_000_000);
    return new ReplicaStats(
        p.applied(),
        head,
        head - p.applied(),
        lagMillis,
        near == null ? p.keys() : (int) Math.min(Integer.MAX_VALUE, heldKeys()),
        p.digest(),
        p.relists(),
        p.reconnects(),
        p.duplicates(),
        p.gaps(),
        p.listenerFailures(),
        p.ready(),
        p.resets(),
        waiters.size(),
        pendingChanges.get(),
        peakPendingChanges.get(),
        p.feedPauses(),
        p.epoch(),
        backendStats(),
        nearStats());
  }

  /**
   * The backend's own figures; a backend whose {@link Backend#stats()} throws reports none (logged
   * at DEBUG), so its bug cannot fail a stats request.
   */
  private Map<String, Object> backendStats() {
    try {
      return backend.stats();
    } catch (RuntimeException e) {
      LOG.log(Level.DEBUG, config.instanceId() + ": the backend's stats() failed", e);
      return Map.of();
    }
  }

  @Override
  public Registration addListener(ChangeListener listener) {
    if (listener == null) {
      throw new IllegalArgumentException("listener: null");
    }
    Listening l = new Listening(listener);
    listeners.add(l);
    return () -> listeners.remove(l);
  }

  /** A registered change listener, and whether it takes a revision as one batch. */
  private static final class Listening {
    final ChangeListener listener;
    final boolean perChange; // onRevision not overridden: onChange per event, each contained

    Listening(ChangeListener listener) {
      this.listener = listener;
      this.perChange = !overridesOnRevision(listener);
    }

    private static boolean overridesOnRevision(ChangeListener listener) {
      try {
        return listener
                .getClass()
                .getMethod("onRevision", long.class, List.class)
                .getDeclaringClass()
            != ChangeListener.class;
      } catch (NoSuchMethodException | SecurityException e) {
        return true; // cannot tell: call onRevision, which is correct either way
      }
    }
  }

  @Override
  public Replica replica() {
    return replica;
  }

  public ReplicaState state() {
    return published.state();
  }

  public Registration addStateListener(ReplicaStateListener listener) {
    if (listener == null) {
      throw new IllegalArgumentException("listener: null");
    }
    stateListeners.add(listener);
    return () -> stateListeners.remove(listener);
  }

  public CompletableFuture<Long> refresh() {
    if (closed) {
      return callbacks.closedFuture("refresh", false);
    }
    CompletableFuture<Long> f = new CompletableFuture<>();
    onApplier(
        () -> {
          refreshWaiters.add(f);
          startRelist("refresh", true, 0, false); // asked for: not throttled, joins one under way
        });
    return callbacks.deliver(f, "refresh", false);
  }

  // ---------------------------------------------------------------------------------------------
  // Near mode: read-through of the keys read, guarded by revisions
  // ---------------------------------------------------------------------------------------------
  //
  // Memory holds only keys that were read, in a bounded Caffeine cache. The applier writes held
  // keys (feed changes); a load writes a key that is not held (its install); Caffeine evicts on
  // the writing thread, and an evicted key is simply absent: the next read loads it again.
  //
  // A miss registers one load per key (nearLoads) before it sends the strong read. While the load
  // is out, the applier notes on it (under the load's lock) the newest change the feed applies to
  // that key: it holds no entry for it, so nothing else would remember the change. The read was
  // sent after the load was registered, so every change of the key later than the read's revision
  // r reaches the applier after registration and is noted. The answer settles the load on the
  // thread that delivers it, under the same lock: a noted change later than r is newer than the
  // read, so the read's value is never installed (the noted change's value is, in UPDATE mode; a
  // delete leaves the key absent); otherwise the read is current at the applied revision and
  // installed. The load is marked settled, and only then removed from nearLoads; the applier, after
  // looking for a load (and noting the change on it), looks for the key again and applies the
  // change to any entry installed meanwhile. A change at or below r that the feed delivers after
  // the install is older than the
  // held entry (the read saw it), and the held entry's mod revision makes the applier skip it.
  //
  // A listing in near mode lists nothing: one strong read of a reserved key gives the source's
  // revision R; the applier marks every load under way stale (none of them installs: the feed did
  // not run between the old applied revision and R), then drops the held keys, and the feed resumes
  // from R + 1. A load registered after the marking sends its read after the listing's read, so it
  // reads at or after R. Absence is not held: a miss of an absent key reads the source each time,
  // so a deleted key cannot be served from a stale negative entry.

  /** The key a near-mode listing reads for the source's revision (reserved: never a map key). */
  static final String NEAR_PROBE_KEY = LockstepConfig.RESERVED_PREFIX + ".near-revision";

  /** A miss: waits for the key's load, its own or the one under way. */
  private Versioned nearMiss(String key) {
    validateKey(key);
    if (closed) {
      throw new LockstepException("replicated map closed");
    }
    callbacks.checkMayBlock("near-mode load of '" + key + "'");
    return join(nearLoad(key));
  }

  /** The key's load: the one under way, or a new one (registered before its read is sent). */
  private CompletableFuture<Versioned> nearLoad(String key) {
    NearLoad mine = new NearLoad(key);
    NearLoad running = nearLoads.putIfAbsent(key, mine);
    if (running != null) {
      return running;
    }
    Versioned held = entries.get(key); // a load may have installed it since our miss
    if (held != null) {
      nearLoads.remove(key, mine);
      mine.complete(held);
      return mine;
    }
    nearLoadCount.increment();
    CompletableFuture<Backend.StrongRead> read;
    try {
      read = guard(backend.get(key), "near-mode load of '" + key + "'", false);
    } catch (RuntimeException e) {
      read = CompletableFuture.failedFuture(e);
    }
    long start = System.nanoTime();
    read.whenComplete(
        (r, e) -> {
          config
              .backendCallObserver()
              .called(BackendCallObserver.Call.STRONG_READ, System.nanoTime() - start, e != null);
          settleLoad(mine, r, e);
        });
    return mine;
  }

  /** Keeps what the load may keep (see the section comment), then answers it. Any thread. */
  private void settleLoad(NearLoad l, Backend.@Nullable StrongRead r, @Nullable Throwable e) {
    if (e != null || r == null) {
      synchronized (l) {
        l.settled = true;
      }
      nearLoads.remove(l.key, l);
      nearLoadFailures.increment();
      Throwable cause = e == null ? new IllegalStateException("no answer") : unwrap(e);
      l.completeExceptionally(
          cause instanceof RuntimeException re
              ? re
              : new BackendUnavailableException(
                  "near-mode load of '" + l.key + "' failed: " + cause, cause, false));
      return;
    }
    Versioned answer;
    Versioned held;
    synchronized (l) {
      answer = r.entry();
      boolean newerChange = l.changeRevision > r.revision();
      if (newerChange) {
        answer = l.change; // the feed went past the read: its change is the key's newest state
      }
      if (newerChange || l.stale || closed) {
        nearStaleLoads.increment();
      }
      held = entries.get(l.key);
      if (held == null
          && answer != null
          && !l.stale
          && !closed
          && (!newerChange || config.nearOnChange() == NearOnChange.UPDATE)) {
        entries.put(l.key, answer);
        held = answer;
      }
      l.settled = true;
    }
    nearLoads.remove(l.key, l);
    l.complete(held != null ? held : answer);
  }

  /** On the applier: one change of the feed in near mode (held keys only; see above). */
  private void applyNear(Change c, long rev, @Nullable List<ChangeEvent> events) {
    String key = c.key();
    var policy = near.policy();
    Versioned old = policy.getIfPresentQuietly(key);
    if (old == null) {
      NearLoad l = nearLoads.get(key);
      if (l != null) {
        synchronized (l) {
          if (!l.settled && rev > l.changeRevision) {
            l.changeRevision = rev;
            l.change = c.type() == Change.Type.PUT ? c.value() : null;
          }
        }
      }
      // A load settled meanwhile may have installed the key (and a load registered just now may
      // have found it installed and given up): the change applies to that entry too.
      old = policy.getIfPresentQuietly(key);
    }
    if (old != null) {
      if (old.modRevision() >= rev) {
        return; // the held entry was read after this change
      }
      // Only over the entry looked at: if Caffeine evicted it meanwhile, a load may have installed
      // the key again, from a read sent after this change committed, so at least as new.
      if (c.type() == Change.Type.PUT && config.nearOnChange() == NearOnChange.UPDATE) {
        entries.replace(key, old, c.value());
      } else {
        entries.remove(key, old);
      }
    }
    addNearEvent(c, rev, old, events);
  }

  private static void addNearEvent(
      Change c, long rev, @Nullable Versioned old, @Nullable List<ChangeEvent> events) {
    if (events != null) {
      events.add(
          c.type() == Change.Type.PUT
              ? new ChangeEvent(ChangeEvent.Type.PUT, c.key(), c.value(), old, rev, false)
              : new ChangeEvent(ChangeEvent.Type.DELETE, c.key(), null, old, rev, false));
    }
  }

  /** A near-mode listing: no entries, only the source's revision, read through a strong read. */
  private CompletableFuture<Snapshot> nearListing() {
    return backend.get(NEAR_PROBE_KEY).thenApply(r -> new Snapshot(r.revision(), List.of()));
  }

  /**
   * On the applier: a near-mode listing marks every load under way stale and drops every held key
   * (their changes between the applied revision and the listing's were not followed); the keys are
   * read again from the source as they are asked for.
   */
  private void installNear(Snapshot s, boolean reset) {
    beginStep(); // ended by the publish below
    for (NearLoad l : nearLoads.values()) {
      synchronized (l) {
        l.stale = true;
      }
    }
    entries.clear();
    digest = 0;
    ready = true;
    if (nearNewEpoch != null) {
      epoch = nearNewEpoch;
      nearNewEpoch = null;
    }
    if (reset) {
      applied = s.revision();
      head = s.revision();
    }
    advanceTo(Math.max(applied, s.revision()));
  }

  private long heldKeys() {
    Cache<String, Versioned> n = near;
    if (n == null) {
      return entries.size();
    }
    n.cleanUp();
    return n.estimatedSize();
  }

  private @Nullable NearStats nearStats() {
    Cache<String, Versioned> n = near;
    if (n == null) {
      return null;
    }
    var cs = n.stats();
    return new NearStats(
        heldKeys(),
        config.nearMaxBytes() > 0 ? 0 : config.nearMaxKeys(),
        config.nearMaxBytes(),
        config.nearOnChange(),
        cs.hitCount(),
        cs.missCount(),
        nearLoadCount.sum(),
        nearLoadFailures.sum(),
        nearStaleLoads.sum(),
        cs.evictionCount());
  }

  /**
   * One key's load in near mode, and the future every miss of the key waits on. The applier notes
   * on it the newest change of the key it applied while the load was out.
   */
  private static final class NearLoad extends CompletableFuture<Versioned> {
    final String key;
    // Guarded by this: written by the applier (a change, a listing) and by the settling thread.
    long changeRevision; // the newest change noted, 0 when none
    @Nullable Versioned change; // its value, null for a delete
    boolean stale; // a listing dropped the held keys while the load was out
    boolean settled; // answered: the applier no longer notes changes on it

    NearLoad(String key) {
      this.key = key;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writes
  // ---------------------------------------------------------------------------------------------

  @Override
  public WriteResult put(String key, byte[] value, String contentType) {
    callbacks.checkMayBlock("put of '" + key + "'");
    return join(write(key, value, contentType, Backend.ANY_REVISION, null, true));
  }

  @Override
  public CompletableFuture<WriteResult> putAsync(String key, byte[] value, String contentType) {
    return putAsync(key, value, contentType, null);
  }

  @Override
  public CompletableFuture<WriteResult> putAsync(
      String key, byte[] value, String contentType, @Nullable String requestId) {
    return write(key, value, contentType, Backend.ANY_REVISION, requestId, false);
  }

  @Override
  public WriteResult compareAndSet(
      String key, long expectedRevision, byte[] value, String contentType) {
    callbacks.checkMayBlock("compareAndSet of '" + key + "'");
    checkExpected(expectedRevision);
    return join(write(key, value, contentType, expectedRevision, null, true));
  }

  @Override
  public CompletableFuture<WriteResult> compareAndSetAsync(
      String key, long expectedRevision, byte[] value, String contentType) {
    return compareAndSetAsync(key, expectedRevision, value, contentType, null);
  }

  @Override
  public CompletableFuture<WriteResult> compareAndSetAsync(
      String key,
      long expectedRevision,
      byte[] value,
      String contentType,
      @Nullable String requestId) {
    checkExpected(expectedRevision);
    return write(key, value, contentType, expectedRevision, requestId, false);
  }

  private static void checkExpected(long expectedRevision) {
    if (expectedRevision < 0) {
      throw new IllegalArgumentException("expectedRevision: must be >= 0, was " + expectedRevision);
    }
  }

  @Override
  public WriteResult delete(String key) {
    callbacks.checkMayBlock("delete of '" + key + "'");
    return join(remove(key, Backend.ANY_REVISION, null, true));
  }

  @Override
  public CompletableFuture<WriteResult> deleteAsync(String key) {
    return deleteAsync(key, null);
  }

  @Override
  public CompletableFuture<WriteResult> deleteAsync(String key, @Nullable String requestId) {
    return remove(key, Backend.ANY_REVISION, requestId, false);
  }

  @Override
  public WriteResult compareAndDelete(String key, long expectedRevision) {
    callbacks.checkMayBlock("compareAndDelete of '" + key + "'");
    checkExpected(expectedRevision);
    return join(remove(key, expectedRevision, null, true));
  }

  @Override
  public CompletableFuture<WriteResult> compareAndDeleteAsync(String key, long expectedRevision) {
    return compareAndDeleteAsync(key, expectedRevision, null);
  }

  @Override
  public CompletableFuture<WriteResult> compareAndDeleteAsync(
      String key, long expectedRevision, @Nullable String requestId) {
    checkExpected(expectedRevision);
    return remove(key, expectedRevision, requestId, false);
  }

  private CompletableFuture<WriteResult> remove(
      String key, long expected, @Nullable String requestId, boolean blocking) {
    validateKey(key);
    String what = "delete of '" + key + "'";
    if (closed) {
      return callbacks.closedFuture(what, false);
    }
    return handOver(
        new WriteCall(what, key, null).start(backend.delete(key, expected, requestId)),
        what,
        blocking);
  }

  /** The future of a write as the caller gets it: {@link Callbacks} completes it. */
  private CompletableFuture<WriteResult> handOver(
      CompletableFuture<WriteResult> f, String what, boolean blocking) {
    return blocking ? callbacks.forBlockingCall(f, what, true) : callbacks.deliver(f, what, true);
  }

  private CompletableFuture<WriteResult> write(
      String key,
      byte[] value,
      String contentType,
      long expected,
      @Nullable String requestId,
      boolean blocking) {
    validateKey(key);
    if (value == null) {
      throw new IllegalArgumentException("value: null");
    }
    if (value.length > config.maxValueBytes()) {
      throw new ValueTooLargeException(value.length, config.maxValueBytes());
    }
    String ct =
        contentType == null || contentType.isBlank() ? Versioned.DEFAULT_CONTENT_TYPE : contentType;
    String what = "put of '" + key + "'";
    if (closed) {
      return callbacks.closedFuture(what, false);
    }
    MapQuota q = quota;
    if (q == null) {
      return handOver(
          new WriteCall(what, key, value).start(backend.put(key, value, ct, expected, requestId)),
          what,
          blocking);
    }
    MapQuota.Reservation room =
        q.reserve(key, value.length, entries::get, entries::size, () -> totalBytes);
    WriteCall call;
    try {
      call =
          new WriteCall(what, key, value).start(backend.put(key, value, ct, expected, requestId));
    } catch (RuntimeException | Error e) {
      room.release();
      throw e;
    }
    // Given back once the put is settled (applied here, so counted in entries, or failed), and
    // before its caller hears of it: the caller's future follows a stage completed after the
    // release, so a put made right after this one returned never finds this one's room held.
    // Cancelling that stage (a caller giving up) still cancels the write's wait.
    CompletableFuture<WriteResult> released =
        new CompletableFuture<>() {
          @Override
          public boolean cancel(boolean mayInterruptIfRunning) {
            call.cancel(mayInterruptIfRunning);
            return super.cancel(mayInterruptIfRunning);
          }
        };
    call.whenComplete(
        (r, e) -> {
          room.release();
          if (e != null) {
            released.completeExceptionally(e);
          } else {
            released.complete(r);
          }
        });
    return handOver(released, what, blocking);
  }

  /**
   * A write in flight, and the future its caller's {@link Callbacks} future follows: bounded by the
   * operation timeout until the backend answers, then, when it committed, by the apply timeout
   * until this instance has applied its revision. One timer per write covers both; the wait for the
   * revision is this object itself in {@link RevisionWaiters}, so the applier only completes it
   * (its one dependent, {@link Callbacks}, hands the result on).
   */
  private final class WriteCall extends CompletableFuture<WriteResult>
      implements RevisionWaiters.Waiter, Runnable, BiConsumer<WriteResult, Throwable> {
    private final String what;
    private final String key;
    private final byte @Nullable [] putValue;
    private final long operationDeadline;
    private volatile @Nullable WriteResult committed; // set once the backend answered "applied"
    private volatile long applyDeadline;
    private volatile @Nullable Future<?> timer;

    WriteCall(String what, String key, byte @Nullable [] putValue) {
      this.what = what;
      this.key = key;
      this.putValue = putValue;
      this.operationDeadline = System.nanoTime() + config.operationTimeout().toNanos();
    }

    WriteCall start(CompletableFuture<WriteResult> op) {
      arm(Math.min(config.operationTimeout().toNanos(), config.applyTimeout().toNanos()));
      op.whenComplete(this);
      return this;
    }

    private void arm(long delayNanos) {
      try {
        timer = WriteTimer.schedule(this, delayNanos);
      } catch (RejectedExecutionException e) {
        // the JVM is shutting down: the backend's own bound remains
      }
    }

    /** The backend answered. */
    @Override
    public void accept(@Nullable WriteResult r, @Nullable Throwable err) {
      config
          .backendCallObserver()
          .called(
              BackendCallObserver.Call.WRITE,
              System.nanoTime() - operationDeadline + config.operationTimeout().toNanos(),
              err != null);
      if (isDone()) {
        return;
      }
      if (err != null) {
        completeExceptionally(failure(unwrap(err)));
        return;
      }
      if (r == null) {
        completeExceptionally(failure(new IllegalStateException("no answer")));
        return;
      }
      if (!r.isApplied()) {
        complete(r);
        return;
      }
      long applied = published.applied();
      if (applied >= r.revision()) {
        if (memoryReflects(key, putValue, r.revision())) {
          complete(r);
        } else {
          relisted(r, applied);
        }
        return;
      }
      // The write's own event is on its way: no progress request needed.
      applyDeadline = System.nanoTime() + config.applyTimeout().toNanos();
      committed = r;
      waiters.add(this);
    }

    private RuntimeException failure(Throwable cause) {
      if (cause instanceof BackendUnavailableException
          || cause instanceof IllegalArgumentException) {
        return (RuntimeException) cause;
      }
      return new BackendUnavailableException(what + " failed: " + cause, cause, true);
    }

    /**
     * Impossible within one history: the source handed out revision r again (it lost writes). Only
     * a listing can tell; it resets this replica, then memory holds the write.
     */
    private void relisted(WriteResult r, long applied) {
      relistAndWait(
              (putValue == null ? "delete" : "put")
                  + " of '"
                  + key
                  + "' committed at revision "
                  + r.revision()
                  + ", which memory (applied "
                  + applied
                  + ") shows another write at or after")
          .orTimeout(config.applyTimeout().toNanos(), TimeUnit.NANOSECONDS)
          .whenComplete(
              (rev, e) -> {
                if (e != null) {
                  completeExceptionally(
                      new NotAppliedException(
                          r.revision(), published.applied(), config.applyTimeout()));
                } else {
                  complete(r);
                }
              });
    }

    @Override
    public long revision() {
      WriteResult r = committed;
      return r == null ? Long.MAX_VALUE : r.revision();
    }

    /** On the applier: this instance applied the write's revision. */
    @Override
    public void reached(long applied) {
      WriteResult r = committed;
      if (r != null) {
        complete(r);
      }
    }

    @Override
    public void failed(Throwable cause) {
      if (unwrap(cause) instanceof HistoryResetException reset) {
        completeExceptionally(reset);
      } else {
        completeExceptionally(
            new NotAppliedException(revision(), published.applied(), config.applyTimeout()));
      }
    }

    /** The timer: fails the write when its current bound has passed, or waits for the rest. */
    @Override
    public void run() {
      if (isDone()) {
        return;
      }
      long now = System.nanoTime();
      WriteResult r = committed;
      if (r == null) {
        long left = operationDeadline - now;
        if (left > 0) {
          // a commit may come any moment: never wait longer than its apply bound
          arm(Math.min(left, config.applyTimeout().toNanos()));
          return;
        }
        completeExceptionally(
            new BackendUnavailableException(
                what
                    + ": the backend did not answer within "
                    + config.operationTimeout().toMillis()
                    + " ms",
                new TimeoutException(),
                true));
        return;
      }
      long left = applyDeadline - now;
      if (left > 0) {
        arm(left);
        return;
      }
      waiters.remove(this);
      completeExceptionally(
          new NotAppliedException(r.revision(), published.applied(), config.applyTimeout()));
    }

    @Override
    public boolean complete(WriteResult value) {
      boolean done = super.complete(value);
      if (done) {
        ended(false);
      }
      return done;
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
      boolean done = super.completeExceptionally(ex);
      if (done) {
        ended(true);
      }
      return done;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean done = super.cancel(mayInterruptIfRunning);
      if (done) {
        ended(true);
      }
      return done;
    }

    private void ended(boolean gaveUp) {
      Future<?> t = timer;
      if (t != null) {
        t.cancel(false);
      }
      if (gaveUp && committed != null) {
        waiters.remove(this);
      }
    }
  }

  /**
   * Whether memory, at an applied revision at or past {@code rev}, can hold the result of the write
   * committed at {@code rev}: the key at that write (same value), or changed by a later one. A key
   * held at an older revision, or at {@code rev} with another value, means revision {@code rev}
   * named another write here: the source's history went backwards.
   */
  private boolean memoryReflects(String key, byte[] putValue, long rev) {
    Versioned held = entries.get(key);
    if (held == null || held.modRevision() > rev) {
      return true; // this write, or a later delete or write
    }
    if (held.modRevision() < rev) {
      return false;
    }
    return putValue != null && Arrays.equals(held.value(), putValue);
  }

  /** Relists now, as {@link #refresh()} does, and completes with the listing's revision. */
  private CompletableFuture<Long> relistAndWait(String reason) {
    if (closed) {
      return CompletableFuture.failedFuture(new LockstepException("replicated map closed"));
    }
    CompletableFuture<Long> f = new CompletableFuture<>();
    onApplier(
        () -> {
          refreshWaiters.add(f);
          startRelist(reason, true);
        });
    return f;
  }

  void validateKey(String key) {
    if (key == null || key.isEmpty()) {
      throw new InvalidKeyException("key: empty");
    }
    int bytes =
        key.length() > config.maxKeyBytes() / 3
            ? key.getBytes(StandardCharsets.UTF_8).length
            : key.length();
    if (bytes > config.maxKeyBytes()) {
      throw new InvalidKeyException(
          "key: " + bytes + " bytes, larger than the limit of " + config.maxKeyBytes() + " bytes");
    }
    if (LockstepConfig.isReservedKey(key)) {
      throw new InvalidKeyException(
          "key: no segment may start with '"
              + LockstepConfig.RESERVED_PREFIX
              + "', '"
              + LockstepConfig.COUNTERS_PREFIX
              + "' or '"
              + LockstepConfig.IDEMPOTENCY_PREFIX
              + "' (at the start or after a '/'): they are reserved, was '"
              + key
              + "'");
    }
  }

  private <T> CompletableFuture<T> guard(CompletableFuture<T> op, String what, boolean write) {
    return BackendCalls.guard(op, config.operationTimeout(), what, write);
  }

  private static Throwable unwrap(Throwable t) {
    return BackendCalls.unwrap(t);
  }

  private static <T> T join(CompletableFuture<T> f) {
    return BackendCalls.join(f);
  }

  // ---------------------------------------------------------------------------------------------
  // The session: list, then watch (applier thread only)
  // ---------------------------------------------------------------------------------------------

  private void onApplier(Runnable task) {
    try {
      applier.execute(
          () -> {
            try {
              task.run();
            } catch (Throwable e) { // the applier thread must outlive anything a task throws
              LOG.log(Level.ERROR, "applier task failed", e);
            } finally {
              endStep(); // a step that threw must not leave multi-key reads waiting
            }
          });
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private void startRelist(String reason, boolean count) {
    startRelist(reason, count, 0);
  }

  /** {@link #startRelist(String, boolean, long, boolean)}, throttled. */
  private void startRelist(String reason, boolean count, long delayNanos) {
    startRelist(reason, count, delayNanos, true);
  }

  /**
   * Drops the feed and lists again, after {@code delayNanos} (0: now), or later when {@code
   * throttle} and the previous throttled relist was recent. A relist asked for while a listing is
   * under way joins it.
   */
  private void startRelist(String reason, boolean count, long delayNanos, boolean throttle) {
    if (closed) {
      return;
    }
    if (listingInFlight) {
      LOG.log(Level.DEBUG, "{0}: {1}: joins the listing under way", config.instanceId(), reason);
      return;
    }
    listingInFlight = true;
    generation++;
    closeFeed();
    long delay = Math.max(0, delayNanos);
    if (count) {
      relists++;
    }
    if (count && throttle) {
      long now = ticker.nanos();
      if (relisted && now - lastRelistNanos < relistWindowNanos) {
        delay = Math.max(delay, relistBackoff.nextNanos());
      } else {
        relistBackoff.reset();
      }
      relisted = true;
      lastRelistNanos = now + delay;
    }
    if (count) {
      LOG.log(
          Level.INFO,
          "{0}: re-listing ({1}) at applied revision {2}{3}",
          config.instanceId(),
          reason,
          applied,
          delay == 0 ? "" : " in " + delay / 1_000_000 + " ms");
    }
    publish();
    enter(ready ? ReplicaState.RELISTING : ReplicaState.LISTING);
    long g = generation;
    if (delay <= 0) {
      requestSnapshot(g);
      return;
    }
    schedule(
        () ->
            onApplier(
                () -> {
                  if (g == generation && !closed) {
                    requestSnapshot(g);
                  }
                }),
        delay);
  }

  /**
   * Runs one step of the session (a feed signal, a listing), containing anything it throws: a step
   * that fails is a bug of the engine or of the backend, and the only safe answer is a relist
   * (after a backoff, so a bug that repeats cannot spin). Memory may then hold part of the failed
   * step until the listing replaces it, but the published state never does.
   */
  private void contained(String step, long revision, Runnable body) {
    try {
      body.run();
    } catch (Throwable t) {
      LOG.log(
          Level.ERROR,
          config.instanceId()
              + ": "
              + step
              + " at revision "
              + revision
              + " failed; re-listing (applied revision "
              + applied
              + ")",
          t);
      startRelist(step + " at revision " + revision + " failed: " + t, true, backoff.nextNanos());
    }
  }

  /**
   * Asks the backend for a listing, bounded by its progress: {@link #checkListing} cancels it once
   * it has gone one operation timeout without a page.
   */
  private void requestSnapshot(long g) {
    Listing l = new Listing(g, ticker.nanos());
    listing = l;
    CompletableFuture<Snapshot> f;
    try {
      f = near != null ? nearListing() : backend.snapshot(l);
      if (f == null) {
        f = CompletableFuture.failedFuture(new IllegalStateException("the backend listed nothing"));
      }
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    l.future = f;
    long start = System.nanoTime();
    f.whenComplete(
        (s, err) -> {
          config
              .backendCallObserver()
              .called(
                  BackendCallObserver.Call.LISTING,
                  System.nanoTime() - start,
                  err != null || s == null);
          onApplier(() -> onSnapshot(l, s, err));
        });
    scheduleListingCheck(l, config.operationTimeout().toNanos());
  }

  private void scheduleListingCheck(Listing l, long delayNanos) {
    schedule(() -> onApplier(() -> checkListing(l)), delayNanos);
  }

  /** Cancels a listing that went one operation timeout without a page; else checks again later. */
  private void checkListing(Listing l) {
    if (l != listing || l.future.isDone() || closed) {
      return;
    }
    long timeout = config.operationTimeout().toNanos();
    long quiet = ticker.nanos() - l.lastProgressNanos;
    if (quiet < timeout) {
      scheduleListingCheck(l, timeout - quiet);
      return;
    }
    l.cancelled = true;
    l.future.cancel(true); // onSnapshot follows, as a failure
  }

  private void onSnapshot(Listing l, Snapshot s, Throwable error) {
    if (l != listing) {
      return;
    }
    listing = null;
    long g = l.g;
    if (g != generation || closed) {
      return;
    }
    Throwable err = error;
    if (l.cancelled) {
      err =
          new BackendUnavailableException(
              "list: no progress within "
                  + config.operationTimeout().toMillis()
                  + " ms after "
                  + l.pages
                  + " pages ("
                  + l.entries
                  + " entries); cancelled",
              null);
    } else if (err == null && s == null) {
      err = new IllegalStateException("the backend completed a listing with null");
    }
    if (err != null) {
      long delay = backoff.nextNanos();
      LOG.log(
          Level.WARNING,
          "{0}: list failed, retrying in {1} ms: {2}",
          config.instanceId(),
          delay / 1_000_000,
          unwrap(err).toString());
      schedule(
          () ->
              onApplier(
                  () -> {
                    if (g == generation && !closed) {
                      requestSnapshot(g);
                    }
                  }),
          delay);
      return;
    }
    contained("listing", s.revision(), () -> installAndWatch(s));
  }

  /** Applies a listing, reports it, then watches from the revision after it. */
  private void installAndWatch(Snapshot s) {
    listingInFlight = false; // a relist asked for from here on lists again
    String resetReason = resetReason(s);
    if (resetReason != null) {
      // Every waiter waits for a revision of the old history: fail them before the listing's
      // revision could answer them.
      resets++;
      LOG.log(
          Level.WARNING,
          "{0}: the source''s history was reset ({1}); installing its listing at revision {2}"
              + " (applied was {3} in the old history)",
          config.instanceId(),
          resetReason,
          s.revision(),
          applied);
      waiters.failAll(new HistoryResetException(s.revision(), applied, resetReason));
    }
    List<ChangeEvent> events = install(s, resetReason != null); // publishes, ready
    backoff.reset();
    for (CompletableFuture<Long> f : refreshWaiters) {
      f.complete(s.revision());
    }
    refreshWaiters.clear();
    notifyListeners(events, s.revision());
    startWatch(s.revision() + 1);
  }

  /**
   * Replaces memory with a listing, key by key, and publishes it; returns the difference, for the
   * listeners, who are told only after (null when there are none). The digest is computed afresh
   * from the listing, never carried over, so a relist repairs whatever it repairs completely.
   */
  private List<ChangeEvent> install(Snapshot s, boolean reset) {
    if (near != null) {
      installNear(s, reset);
      return null;
    }
    long rev = s.revision();
    Map<String, Versioned> fresh = new HashMap<>(Math.max(16, s.entries().size() * 2));
    long d = 0;
    for (Versioned v : s.entries()) {
      Versioned dup = fresh.put(v.key(), v);
      if (dup != null) {
        d -= Digests.entry(dup);
      }
      d += Digests.entry(v);
    }
    List<ChangeEvent> events = listeners.isEmpty() ? null : new ArrayList<>();
    beginStep(); // ended by the publish below
    for (Versioned old : entries.values()) {
      if (!fresh.containsKey(old.key())) {
        entries.remove(old.key());
        if (events != null) {
          events.add(new ChangeEvent(ChangeEvent.Type.DELETE, old.key(), null, old, rev, true));
        }
      }
    }
    for (Versioned v : fresh.values()) {
      Versioned old = entries.get(v.key());
      if (sameWrite(old, v)) {
        continue;
      }
      entries.put(v.key(), v);
      if (events != null) {
        events.add(new ChangeEvent(ChangeEvent.Type.PUT, v.key(), v, old, rev, true));
      }
    }
    digest = d;
    long bytes = 0;
    for (Versioned v : fresh.values()) {
      bytes += v.value().length;
    }
    totalBytes = bytes;
    ready = true;
    epoch = s.epoch();
    if (reset) {
      applied = rev; // the only place the applied revision moves back: a new history
      head = rev;
    }
    advanceTo(Math.max(applied, rev));
    return events;
  }

  /**
   * Whether memory already holds exactly the listed entry. Values are compared, not only mod
   * revisions: after a history reset one revision may name two different writes.
   */
  private static boolean sameWrite(Versioned old, Versioned v) {
    return old != null
        && old.modRevision() == v.modRevision()
        && old.contentType().equals(v.contentType())
        && Arrays.equals(old.value(), v.value());
  }

  /**
   * Why a listing means the source's history was reset, or null when it continues the history this
   * replica follows: a different epoch, or (for backends without one, and for a history rolled back
   * under the same epoch, as an etcd restore) a revision below the applied one.
   */
  private String resetReason(Snapshot s) {
    if (!ready) {
      return null;
    }
    if (near != null && nearNewEpoch != null) {
      return "epoch " + epoch + " became " + nearNewEpoch;
    }
    if (!s.epoch().equals(epoch)
        && !s.epoch().equals(Snapshot.NO_EPOCH)
        && !epoch.equals(Snapshot.NO_EPOCH)) {
      return "epoch " + epoch + " became " + s.epoch();
    }
    if (s.revision() < applied) {
      return "listing at revision " + s.revision() + " is below applied revision " + applied;
    }
    return null;
  }

  /** A feed reported the history it reads from: another one than the listing's means a reset. */
  private void onEpoch(String feedEpoch) {
    if (near != null && !feedEpoch.equals(Snapshot.NO_EPOCH)) {
      // A near-mode listing reads no epoch: the first one a feed reports is the history followed,
      // and another one later resets (the next near listing, see resetReason).
      if (epoch.equals(Snapshot.NO_EPOCH)) {
        epoch = feedEpoch;
        publish();
      } else if (!feedEpoch.equals(epoch) && nearNewEpoch == null) {
        nearNewEpoch = feedEpoch;
        startRelist(
            "the feed reads epoch " + feedEpoch + ", the replica followed epoch " + epoch, true);
      }
      return;
    }
    if (feedEpoch.equals(Snapshot.NO_EPOCH)
        || epoch.equals(Snapshot.NO_EPOCH)
        || feedEpoch.equals(epoch)) {
      return;
    }
    startRelist("the feed reads epoch " + feedEpoch + ", the listing was of epoch " + epoch, true);
  }

  private void startWatch(long from) {
    if (closed) {
      return;
    }
    generation++;
    long g = generation;
    sessionFrom = from;
    sessionLast = 0;
    lastSignalNanos = ticker.nanos();
    progressAskedNanos = 0;
    try {
      feed = backend.watch(from, new SessionListener(g));
    } catch (RuntimeException e) {
      onFeedError(g, e);
      return;
    }
    enter(ReplicaState.FOLLOWING);
  }

  private void closeFeed() {
    Feed f = feed;
    feed = null;
    if (f != null) {
      try {
        f.close();
      } catch (RuntimeException e) {
        LOG.log(Level.DEBUG, "closing feed failed", e);
      }
    }
  }

  private void onBatch(long rev, List<Change> changes, long headRev) {
    lastSignalNanos = ticker.nanos();
    progressAskedNanos = 0;
    backoff.reset();
    // On a SPARSE source the head a delivery reports is the store's revision, other namespaces'
    // writes included: not lag (see the class comment). On a CONTIGUOUS one it is ours.
    head = Math.max(head, model == RevisionModel.CONTIGUOUS ? Math.max(rev, headRev) : rev);
    if (rev < sessionLast) {
      LOG.log(
          Level.WARNING,
          "{0}: out-of-order event: revision {1} after {2}",
          config.instanceId(),
          rev,
          sessionLast);
      startRelist("out-of-order revision " + rev + " after " + sessionLast, true);
      return;
    }
    sessionLast = rev;
    if (rev < applied) {
      if (rev >= sessionFrom) {
        // Applied moved past rev within this session (a progress answer promised everything up
        // to it): the feed broke its order, and memory cannot tell what else it missed.
        startRelist(
            "revision "
                + rev
                + " arrived on a feed from "
                + sessionFrom
                + " after it had brought applied to "
                + applied,
            true);
        return;
      }
      if (!consistentWithMemory(rev, changes)) {
        startRelist(
            "revision " + rev + " arrived after applied " + applied + " and memory never saw it",
            true);
        return;
      }
      duplicates += changes.size();
      updateLag();
      publish();
      return;
    }
    if (rev > applied && model == RevisionModel.CONTIGUOUS && rev != applied + 1) {
      gaps++;
      startRelist("gap: revision " + rev + " after applied " + applied, true);
      return;
    }
    checkApplicable(rev, changes);
    List<ChangeEvent> events = listeners.isEmpty() ? null : new ArrayList<>(changes.size());
    beginStep(); // ended by advanceTo's publish
    if (near != null) {
      for (Change c : changes) {
        applyNear(c, rev, events);
      }
    } else {
      for (Change c : changes) {
        apply(c, rev, events);
      }
    }
    advanceTo(rev); // the whole revision is in memory and published before any listener runs
    notifyListeners(events, rev);
  }

  /**
   * Checks every change of a revision before any is applied, so one the engine cannot apply fails
   * the revision as a whole (and {@link #contained} re-lists) instead of leaving it half applied.
   */
  private static void checkApplicable(long rev, List<Change> changes) {
    for (Change c : changes) {
      if (c == null
          || c.key() == null
          || c.type() == null
          || (c.type() == Change.Type.PUT
              && (c.value() == null || !c.key().equals(c.value().key())))) {
        throw new IllegalStateException("malformed change in revision " + rev + ": " + c);
      }
    }
  }

  /**
   * An old revision is a harmless duplicate only if memory already reflects it: a key that memory
   * holds at a revision older than the change means the change was never applied.
   */
  private boolean consistentWithMemory(long rev, List<Change> changes) {
    for (Change c : changes) {
      Versioned held = entries.get(c.key());
      if (held != null && held.modRevision() < rev) {
        return false;
      }
    }
    return true;
  }

  /** Applies one checked change to memory and the digest; its event, if any, goes to events. */
  private void apply(Change c, long rev, List<ChangeEvent> events) {
    Versioned old = entries.get(c.key());
    if (c.type() == Change.Type.PUT) {
      if (old != null && old.modRevision() >= rev) {
        duplicates++;
        return;
      }
      Versioned v = c.value();
      entries.put(c.key(), v);
      totalBytes += v.value().length - (old == null ? 0 : old.value().length);
      long d = digest + Digests.entry(v);
      if (old != null) {
        d -= Digests.entry(old);
      }
      digest = d;
      if (events != null) {
        events.add(new ChangeEvent(ChangeEvent.Type.PUT, c.key(), v, old, rev, false));
      }
    } else {
      if (old == null || old.modRevision() >= rev) {
        duplicates++;
        return;
      }
      entries.remove(c.key());
      totalBytes -= old.value().length;
      digest = digest - Digests.entry(old);
      if (events != null) {
        events.add(new ChangeEvent(ChangeEvent.Type.DELETE, c.key(), null, old, rev, false));
      }
    }
  }

  private void onProgress(long rev) {
    lastSignalNanos = ticker.nanos();
    progressAskedNanos = 0;
    backoff.reset();
    if (rev < applied) {
      // The source says its history ends below what this replica applied: it lost history (a
      // restore, a restart that lost writes, every voter's log lost), or the answer is stale (a
      // new leader not yet caught up). Only a listing can tell; one below applied resets, one that
      // is not costs a relist.
      startRelist(
          "the source reports revision " + rev + ", below applied revision " + applied, true);
      return;
    }
    head = Math.max(head, rev);
    if (rev > applied) {
      if (model == RevisionModel.CONTIGUOUS) {
        gaps++;
        startRelist("gap: progress at " + rev + " after applied " + applied, true);
        return;
      }
      advanceTo(rev);
    } else {
      updateLag();
      publish();
    }
  }

  private void onFeedError(long g, Throwable error) {
    if (g != generation || closed) {
      return;
    }
    generation++;
    closeFeed();
    reconnects++;
    config.backendCallObserver().feedBroke();
    publish();
    enter(ReplicaState.RECONNECTING);
    long delay = backoff.nextNanos();
    long resumeFrom = applied + 1;
    LOG.log(
        Level.WARNING,
        "{0}: change feed broke ({1}); resuming from revision {2} in {3} ms",
        config.instanceId(),
        String.valueOf(unwrap(error)),
        resumeFrom,
        delay / 1_000_000);
    long g2 = generation;
    schedule(
        () ->
            onApplier(
                () -> {
                  if (g2 == generation && !closed) {
                    startWatch(applied + 1);
                  }
                }),
        delay);
  }

  /**
   * Reached the marker a session queued when it stopped queueing (the queue was full): everything
   * it queued before is applied, so close its feed and resume from the revision after, through the
   * backend's own catch-up. Nothing the feed delivered after the marker was kept.
   */
  private void pauseFeed(long g) {
    if (g != generation || closed) {
      return;
    }
    generation++;
    closeFeed();
    feedPauses++;
    publish();
    LOG.log(
        Level.INFO,
        "{0}: more than {1} changes waiting to be applied: feed paused, resuming from revision {2}",
        config.instanceId(),
        config.maxPendingChanges(),
        applied + 1);
    long g2 = generation;
    onApplier(
        () -> {
          if (g2 == generation && !closed) {
            startWatch(applied + 1);
          }
        });
  }

  /** Moves the applied revision (never back) and publishes the state. */
  private void advanceTo(long rev) {
    if (rev > applied) {
      applied = rev;
    }
    head = Math.max(head, applied);
    updateLag();
    publish();
  }

  /**
   * Publishes the replica state in one volatile write, so that {@link #stats()} reads one moment,
   * then completes the waiters it satisfies (after, so a waiter that checks the published revision
   * cannot miss the advance). Once per applied batch or state change; never on the read path.
   */
  private void publish() {
    published =
        new Published(
            applied,
            Math.max(head, applied),
            digest,
            entries.size(),
            ready,
            behindSinceNanos,
            relists,
            reconnects,
            duplicates,
            gaps,
            listenerFailures,
            resets,
            feedPauses,
            epoch,
            state);
    endStep();
    waiters.advance(applied);
  }

  /**
   * Moves to {@code next}, publishes it, and hands the change to the state listeners' own thread:
   * they never run on the applier, so one that blocks on the map cannot stall it.
   */
  private void enter(ReplicaState next) {
    ReplicaState previous = state;
    if (previous == next || previous == ReplicaState.CLOSED) {
      return;
    }
    state = next;
    publish();
    if (stateListeners.isEmpty()) {
      return;
    }
    try {
      notifier.execute(
          () -> {
            for (ReplicaStateListener l : stateListeners) {
              try {
                l.onStateChange(previous, next);
              } catch (Throwable ex) { // an Error must not cost the later listeners their news
                LOG.log(Level.WARNING, "state listener failed on " + previous + " -> " + next, ex);
              }
            }
          });
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private void updateLag() {
    if (head > applied) {
      if (behindSinceNanos == 0) {
        behindSinceNanos = ticker.nanos();
      }
    } else {
      behindSinceNanos = 0;
    }
  }

  /** Periodic: asks a quiet feed for progress, and treats one that stays silent as broken. */
  private void tick() {
    Feed f = feed;
    if (f == null || closed) {
      return;
    }
    long now = ticker.nanos();
    long interval = config.progressInterval().toNanos();
    if (progressAskedNanos != 0) {
      if (now - progressAskedNanos > SILENT_INTERVALS * interval
          && now - lastSignalNanos > SILENT_INTERVALS * interval) {
        onFeedError(
            generation,
            new TimeoutException(
                "change feed silent for "
                    + (now - lastSignalNanos) / 1_000_000
                    + " ms after a progress request"));
      }
      return;
    }
    if (now - lastSignalNanos >= interval && f.requestProgress()) {
      progressAskedNanos = now;
    }
  }

  /** A waiter is behind: ask the feed for progress now, at most one request in flight. */
  private void nudge() {
    if (nudgePending.compareAndSet(false, true)) {
      onApplier(
          () -> {
            nudgePending.set(false);
            Feed f = feed;
            if (f != null && progressAskedNanos == 0 && f.requestProgress()) {
              progressAskedNanos = ticker.nanos();
            }
          });
    }
  }

  /**
   * Tells the change listeners of one revision (or listing), which is already applied and
   * published. Whatever a listener throws, {@link Error}s included, is logged and counted, and
   * changes nothing: the other listeners and the later changes are still told, and memory stays.
   */
  private void notifyListeners(List<ChangeEvent> events, long rev) {
    if (events == null || events.isEmpty()) {
      return;
    }
    long failuresBefore = listenerFailures;
    List<ChangeEvent> batch = Collections.unmodifiableList(events);
    for (Listening l : listeners) {
      if (!l.perChange) {
        try {
          l.listener.onRevision(rev, batch);
        } catch (Throwable t) {
          listenerFailed(l.listener, "revision " + rev, t);
        }
        continue;
      }
      for (ChangeEvent e : events) {
        try {
          l.listener.onChange(e);
        } catch (Throwable t) {
          listenerFailed(l.listener, "key '" + e.key() + "' of revision " + rev, t);
        }
      }
    }
    if (listenerFailures != failuresBefore) {
      publish();
    }
  }

  private void listenerFailed(ChangeListener l, String what, Throwable t) {
    listenerFailures++;
    LOG.log(
        Level.WARNING,
        config.instanceId()
            + ": change listener "
            + l
            + " failed on "
            + what
            + "; the change stays applied",
        t);
  }

  // ---------------------------------------------------------------------------------------------
  // Drift check hooks (the Reconciler's; docs/drift.md)
  // ---------------------------------------------------------------------------------------------

  /** True on the applier thread (a change listener's); see {@link Callbacks#checkMayBlock}. */
  boolean onReplicationThread() {
    return callbacks.onReplicationThread();
  }

  /** Fails at once on the applier thread, where {@code what} would wait for itself. */
  void checkMayBlock(String what) {
    callbacks.checkMayBlock(what);
  }

  /**
   * Runs {@code read} on the applier between two steps with the applied revision and every entry
   * held (a copy): memory, the applied revision and every change listener's view then agree, which
   * the drift check's change log (a listener) needs.
   */
  <T> CompletableFuture<T> readBetweenSteps(BiFunction<Long, List<Versioned>, T> read) {
    CompletableFuture<T> out = new CompletableFuture<>();
    try {
      applier.execute(
          () -> {
            try {
              out.complete(read.apply(applied, new ArrayList<>(entries.values())));
            } catch (Throwable t) {
              out.completeExceptionally(t);
            }
          });
    } catch (RejectedExecutionException e) {
      out.completeExceptionally(new LockstepException("the map is closed"));
    }
    return out;
  }

  /**
   * Installs the source's entry for {@code key} as a strong read answered it at {@code
   * sourceRevision} ({@code entry} null: absent), as one step on the applier, once this replica has
   * applied {@code sourceRevision}; listeners see it as a change from a relist. Left alone (false)
   * when the key changed here after that revision ({@code changedAfter}, asked on the applier, or a
   * held mod revision above it): a key never moves back.
   *
   * @return true when the key now holds the source's entry (installed, or already right)
   */
  CompletableFuture<Boolean> repairKey(
      String key,
      @Nullable Versioned entry,
      long sourceRevision,
      BiPredicate<String, Long> changedAfter) {
    return awaitInternally(sourceRevision)
        .thenCompose(
            unused -> {
              CompletableFuture<Boolean> out = new CompletableFuture<>();
              onApplier(
                  () -> {
                    try {
                      out.complete(installRepair(key, entry, sourceRevision, changedAfter));
                    } catch (Throwable t) {
                      out.completeExceptionally(t);
                    }
                  });
              return out;
            });
  }

  private boolean installRepair(
      String key,
      @Nullable Versioned entry,
      long sourceRevision,
      BiPredicate<String, Long> changedAfter) {
    Versioned old = entries.get(key);
    if ((old != null && old.modRevision() > sourceRevision)
        || changedAfter.test(key, sourceRevision)) {
      return false;
    }
    if (entry == null ? old == null : sameWrite(old, entry)) {
      return true;
    }
    List<ChangeEvent> events = listeners.isEmpty() ? null : new ArrayList<>(1);
    beginStep(); // ended by the publish below
    long d = digest;
    if (old != null) {
      d -= Digests.entry(old);
      totalBytes -= old.value().length;
    }
    if (entry == null) {
      entries.remove(key);
      if (events != null) {
        events.add(new ChangeEvent(ChangeEvent.Type.DELETE, key, null, old, applied, true));
      }
    } else {
      entries.put(key, entry);
      d += Digests.entry(entry);
      totalBytes += entry.value().length;
      if (events != null) {
        events.add(new ChangeEvent(ChangeEvent.Type.PUT, key, entry, old, applied, true));
      }
    }
    digest = d;
    publish();
    notifyListeners(events, applied);
    return true;
  }

  /** The replica state at the end of one change, as {@link #stats()} and the getters report it. */
  private record Published(
      long applied,
      long head,
      long digest,
      int keys,
      boolean ready,
      long behindSinceNanos,
      long relists,
      long reconnects,
      long duplicates,
      long gaps,
      long listenerFailures,
      long resets,
      long feedPauses,
      String epoch,
      ReplicaState state) {
    static final Published INITIAL =
        new Published(
            0, 0, 0, 0, false, 0, 0, 0, 0, 0, 0, 0, 0, Snapshot.NO_EPOCH, ReplicaState.LISTING);
  }

  /** One delivery queued for the applier: its revision and when it was queued. */
  private record Pending(long revision, long queuedNanos) {}

  /**
   * The engine's handle on one listing request ({@link ListingProgress}): pages move its progress
   * time; the applier cancels it once it went one operation timeout without one.
   */
  private final class Listing implements ListingProgress {
    final long g;
    volatile long lastProgressNanos;
    volatile boolean cancelled;
    volatile int pages;
    volatile long entries;
    CompletableFuture<Snapshot> future; // set on the applier right after the request

    Listing(long g, long startNanos) {
      this.g = g;
      this.lastProgressNanos = startNanos;
    }

    @Override
    public void page(int n) {
      lastProgressNanos = ticker.nanos();
      pages++; // the backend reads one page at a time
      entries += n;
    }

    @Override
    public boolean isCancelled() {
      return cancelled || closed;
    }
  }

  /**
   * The replica's own view, apart from the map (as Caffeine's {@code cache.policy()}), so a map
   * handed to user code cannot be cast into introspection or control.
   */
  private final class ReplicaView implements Replica {
    @Override
    public long appliedRevision() {
      return Replicator.this.appliedRevision();
    }

    @Override
    public long digest() {
      return Replicator.this.digest();
    }

    @Override
    public boolean isReady() {
      return Replicator.this.isReady();
    }

    @Override
    public ReplicaStats stats() {
      return Replicator.this.stats();
    }

    @Override
    public LocalSnapshot snapshot(String prefix, int limit) {
      return Replicator.this.snapshot(prefix, limit);
    }

    @Override
    public LocalSnapshot snapshot(Collection<String> keys) {
      return Replicator.this.snapshot(keys);
    }

    @Override
    public ReplicaState state() {
      return Replicator.this.state();
    }

    @Override
    public Registration addStateListener(ReplicaStateListener listener) {
      return Replicator.this.addStateListener(listener);
    }

    @Override
    public boolean awaitRevision(long revision, Duration timeout) {
      return Replicator.this.awaitRevision(revision, timeout);
    }

    @Override
    public CompletableFuture<Long> awaitRevisionAsync(long revision) {
      return Replicator.this.awaitRevisionAsync(revision);
    }

    @Override
    public CompletableFuture<Long> refresh() {
      return Replicator.this.refresh();
    }

    @Override
    public String toString() {
      return "Replica[" + Replicator.this.stats() + "]";
    }
  }

  /**
   * Forwards one feed session's signals to the applier, tagged with the session's generation. A
   * delivery that would take the queue past {@code maxPendingChanges} pauses the session instead.
   */
  private final class SessionListener implements FeedListener {
    private final long g;
    private volatile boolean paused; // the queue was full: nothing more of this session is queued

    SessionListener(long g) {
      this.g = g;
    }

    @Override
    public void onChanges(long revision, List<Change> changes, long headRevision) {
      if (paused) {
        return;
      }
      int n = changes == null ? 0 : changes.size();
      long waiting = pendingChanges.get();
      if (waiting > 0 && waiting + n > config.maxPendingChanges()) {
        paused = true;
        onApplier(() -> pauseFeed(g));
        return;
      }
      Pending p = new Pending(revision, ticker.nanos());
      pendingBatches.add(p);
      peakPendingChanges.accumulateAndGet(pendingChanges.addAndGet(n), Math::max);
      onApplier(
          () -> {
            try {
              if (g == generation && !closed) {
                contained("change", revision, () -> onBatch(revision, changes, headRevision));
              }
            } finally {
              pendingBatches.remove(p);
              pendingChanges.addAndGet(-n);
            }
          });
    }

    @Override
    public void onProgress(long revision) {
      if (paused) {
        return; // it may claim changes this session left out
      }
      onApplier(
          () -> {
            if (g == generation && !closed) {
              contained("progress", revision, () -> Replicator.this.onProgress(revision));
            }
          });
    }

    @Override
    public void onCompacted(long compactRevision) {
      if (paused) {
        return;
      }
      onApplier(
          () -> {
            if (g == generation && !closed) {
              startRelist("feed compacted at " + compactRevision + ", applied " + applied, true);
            }
          });
    }

    @Override
    public void onError(Throwable error) {
      if (paused) {
        return; // the pause closes this feed and resumes anyway
      }
      onApplier(() -> onFeedError(g, error));
    }

    @Override
    public void onEpoch(String feedEpoch) {
      if (paused) {
        return;
      }
      onApplier(
          () -> {
            if (g == generation && !closed && feedEpoch != null) {
              contained("epoch", applied, () -> Replicator.this.onEpoch(feedEpoch));
            }
          });
    }
  }
}
