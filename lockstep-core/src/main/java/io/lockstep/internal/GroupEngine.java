package io.lockstep.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import io.lockstep.GroupAnswer;
import io.lockstep.GroupLoadException;
import io.lockstep.GroupOptions;
import io.lockstep.GroupStats;
import io.lockstep.InvalidKeyException;
import io.lockstep.Loaded;
import io.lockstep.Loader;
import io.lockstep.LoadingGroup;
import io.lockstep.Member;
import io.lockstep.RemoveResult;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The loading group: ownership by rendezvous hashing over the live members, main and hot caches
 * (Caffeine, bounded by weight, per-entry expiry), single-flight loads and fetches with deadlines,
 * removal with a per-key generation so that a load started before a removal never installs.
 */
public final class GroupEngine implements LoadingGroup {
  private static final long NO_EXPIRY = Long.MAX_VALUE;
  private static final int STRIPES = 4096;

  /**
   * A cached value and when it expires ({@link System#nanoTime()} scale, or {@link #NO_EXPIRY}).
   */
  record Entry(byte[] value, long expiresAt) {
    long remainingMillis(long now) {
      return expiresAt == NO_EXPIRY ? -1 : Math.max(0, (expiresAt - now) / 1_000_000);
    }
  }

  /** The members as a ring: rendezvous over their ids, and their URLs. */
  private record Ring(Rendezvous hrw, Map<String, Member> byId) {}

  /** One running loader call for a key. */
  private static final class LoadFlight {
    final CompletableFuture<Entry> result = new CompletableFuture<>();
    final long generation;
    final java.util.concurrent.atomic.AtomicBoolean settled =
        new java.util.concurrent.atomic.AtomicBoolean();
    volatile @Nullable Thread thread;

    /** True for the one party that decides the outcome (load, deadline or close). */
    boolean settle() {
      return settled.compareAndSet(false, true);
    }

    LoadFlight(long generation) {
      this.generation = generation;
    }
  }

  /** One running fetch from the owner (with its local fallback) for a key. */
  private static final class FetchFlight {
    final CompletableFuture<Entry> result = new CompletableFuture<>();
    final long generation;

    FetchFlight(long generation) {
      this.generation = generation;
    }
  }

  /** A load that passed its deadline. */
  static final class LoadDeadlineException extends GroupLoadException {
    private static final long serialVersionUID = 1L;

    LoadDeadlineException(String message) {
      super(message);
    }
  }

  private static final Expiry<String, Entry> EXPIRY =
      new Expiry<>() {
        @Override
        public long expireAfterCreate(String key, Entry e, long now) {
          return e.expiresAt == NO_EXPIRY ? Long.MAX_VALUE : Math.max(0, e.expiresAt - now);
        }

        @Override
        public long expireAfterUpdate(String key, Entry e, long now, long current) {
          return expireAfterCreate(key, e, now);
        }

        @Override
        public long expireAfterRead(String key, Entry e, long now, long current) {
          return current;
        }
      };

  private final String name;
  private final Loader loader;
  private final GroupOptions options;
  private final String selfId;
  private final MemberSource members;
  private final ScheduledExecutorService timer;
  private final Runnable onClose;
  private final Cache<String, Entry> main;
  private final @Nullable Cache<String, Entry> hot;
  private final ConcurrentHashMap<String, LoadFlight> loadFlights = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, FetchFlight> fetchFlights = new ConcurrentHashMap<>();
  private final AtomicLongArray generations = new AtomicLongArray(STRIPES);
  private final PeerClient peers;
  private final byte @Nullable [] expectedAuthorization;
  private final @Nullable EmbeddedListener listener;
  private volatile Ring ring;
  private volatile boolean closed;

  private final LongAdder gets = new LongAdder();
  private final LongAdder cacheHits = new LongAdder();
  private final LongAdder peerLoads = new LongAdder();
  private final LongAdder peerErrors = new LongAdder();
  private final LongAdder loads = new LongAdder();
  private final LongAdder loadsDeduped = new LongAdder();
  private final LongAdder localLoads = new LongAdder();
  private final LongAdder localLoadErrors = new LongAdder();
  private final LongAdder serverRequests = new LongAdder();
  private final LongAdder mainHits = new LongAdder();
  private final LongAdder hotHits = new LongAdder();

  /**
   * A group.
   *
   * @param selfId this instance's member id
   * @param memberSource makes the membership reader, given the group's timer
   * @param onClose runs once when the group closes (the node forgets the name)
   */
  public GroupEngine(
      String name,
      Loader loader,
      GroupOptions options,
      String selfId,
      Function<ScheduledExecutorService, MemberSource> memberSource,
      Runnable onClose) {
    if (name == null || !name.matches("[A-Za-z0-9._-]{1,128}")) {
      throw new IllegalArgumentException(
          "name: 1 to 128 letters, digits or ._- , was '" + name + "'");
    }
    this.name = name;
    this.loader = java.util.Objects.requireNonNull(loader, "loader");
    this.options = options;
    this.selfId = selfId;
    this.onClose = onClose;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "lockstep-group-" + name);
              t.setDaemon(true);
              return t;
            });
    this.main = cache(options.mainCacheBytes());
    this.hot = options.hotCacheBytes() > 0 ? cache(options.hotCacheBytes()) : null;
    this.peers = new PeerClient(options.peerDeadline(), options.peerSecret());
    String secret = options.peerSecret();
    this.expectedAuthorization =
        secret == null ? null : ("Bearer " + secret).getBytes(StandardCharsets.UTF_8);
    try {
      this.members = memberSource.apply(timer);
      this.ring = ring(members.current());
      members.onChange(list -> ring = ring(list));
      this.listener =
          options.listenPort() >= 0
              ? new EmbeddedListener(this, options.bindAddress(), options.listenPort())
              : null;
    } catch (RuntimeException e) {
      timer.shutdownNow();
      peers.close();
      throw e;
    }
  }

  /** A group over {@link GroupOptions#staticPeerUrls()}, without a node. */
  public static GroupEngine openStatic(String name, Loader loader, GroupOptions options) {
    String self =
        StaticMemberSource.normalise(java.util.Objects.requireNonNull(options.staticSelfUrl()));
    List<String> peers = java.util.Objects.requireNonNull(options.staticPeerUrls());
    return new GroupEngine(
        name, loader, options, self, t -> new StaticMemberSource(self, peers), () -> {});
  }

  private static Cache<String, Entry> cache(long maxBytes) {
    return Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .weigher(
            (String k, Entry e) ->
                (int)
                    Math.min(
                        Integer.MAX_VALUE,
                        (long) e.value.length + k.length() + GroupOptions.ENTRY_OVERHEAD))
        .expireAfter(EXPIRY)
        .executor(Runnable::run)
        .recordStats(EvictionCounter::new)
        .build();
  }

  private Ring ring(List<Member> list) {
    Map<String, Member> byId = new HashMap<>();
    for (Member m : list) {
      if (m.id().equals(selfId) || !m.url().isBlank()) {
        byId.put(m.id(), m);
      }
    }
    if (!byId.containsKey(selfId)) {
      byId.put(selfId, new Member(selfId, "", java.time.Instant.EPOCH));
    }
    return new Ring(new Rendezvous(byId.keySet()), Map.copyOf(byId));
  }

  /** The id of the member this instance thinks owns {@code key} (for tests and diagnostics). */
  public String ownerOf(String key) {
    return ring.hrw().owner(key);
  }

  @Override
  public List<String> members() {
    return ring.hrw().members();
  }

  @Override
  public String name() {
    return name;
  }

  // ---------------------------------------------------------------- get

  @Override
  public CompletableFuture<byte[]> get(String key) {
    if (key != null && !key.isEmpty() && key.length() * 3 <= options.maxKeyBytes() && !closed) {
      Entry e = cached(key); // the hit path: no owner computed, nothing chained
      if (e != null) {
        gets.increment();
        cacheHits.increment();
        return CompletableFuture.completedFuture(e.value);
      }
    }
    return lookup(key, false).thenApply(Entry::value);
  }

  private CompletableFuture<Entry> lookup(String key, boolean forwarded) {
    gets.increment();
    try {
      checkKey(key);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (closed) {
      return CompletableFuture.failedFuture(new GroupLoadException("group " + name + " is closed"));
    }
    Entry e = cached(key);
    if (e != null) {
      cacheHits.increment();
      return CompletableFuture.completedFuture(e);
    }
    loads.increment();
    Ring r = ring;
    String owner = r.hrw().owner(key);
    if (owner.equals(selfId)) {
      return load(key, true);
    }
    if (forwarded) {
      // A peer thinks this instance owns the key and this one thinks otherwise: load here rather
      // than forward again (no loops between instances with different member lists).
      return load(key, false);
    }
    return fetch(key, r.byId().get(owner));
  }

  private @Nullable Entry cached(String key) {
    Entry e = main.getIfPresent(key);
    if (e != null) {
      mainHits.increment();
      return e;
    }
    Cache<String, Entry> h = hot;
    if (h != null) {
      e = h.getIfPresent(key);
      if (e != null) {
        hotHits.increment();
      }
    }
    return e;
  }

  private void checkKey(String key) {
    if (key == null || key.isEmpty()) {
      throw new InvalidKeyException("key: must not be empty");
    }
    // a char is at most 3 bytes of UTF-8: short keys need no encoding to be checked
    if (key.length() * 3 > options.maxKeyBytes()
        && (key.length() > options.maxKeyBytes()
            || key.getBytes(StandardCharsets.UTF_8).length > options.maxKeyBytes())) {
      throw new InvalidKeyException(
          "key: longer than " + options.maxKeyBytes() + " bytes in UTF-8");
    }
  }

  private long generation(String key) {
    return generations.get(stripe(key));
  }

  private static int stripe(String key) {
    int h = key.hashCode();
    return (h ^ (h >>> 16)) & (STRIPES - 1);
  }

  private long expiresAt(@Nullable Duration ttl) {
    Duration d = ttl != null ? ttl : options.defaultTtl();
    if (d == null) {
      return NO_EXPIRY;
    }
    long nanos;
    try {
      nanos = d.toNanos();
    } catch (ArithmeticException e) {
      return NO_EXPIRY;
    }
    return System.nanoTime() + nanos;
  }

  /** Puts {@code e} into a cache unless {@code key} was removed since the load began. */
  private void install(String key, Entry e, long generation, boolean intoMain) {
    Cache<String, Entry> c = intoMain ? main : hot;
    if (c == null || closed) {
      return;
    }
    c.asMap().compute(key, (k, old) -> generation(k) == generation ? e : old);
  }

  // ---------------------------------------------------------------- single-flight local load

  /** The one running loader call for {@code key} on this instance, started if none runs. */
  private CompletableFuture<Entry> load(String key, boolean intoMain) {
    while (true) {
      LoadFlight running = loadFlights.get(key);
      if (running != null) {
        return running.result.copy();
      }
      LoadFlight mine = new LoadFlight(generation(key));
      if (loadFlights.putIfAbsent(key, mine) == null) {
        loadsDeduped.increment();
        try {
          Thread.ofVirtual()
              .name("lockstep-group-load-" + name)
              .start(() -> runLoad(key, mine, intoMain));
        } catch (RuntimeException | OutOfMemoryError e) {
          mine.settle();
          loadFlights.remove(key, mine);
          fail(mine, new GroupLoadException("cannot start the load: " + e, e));
        }
        return mine.result.copy();
      }
    }
  }

  private void runLoad(String key, LoadFlight flight, boolean intoMain) {
    flight.thread = Thread.currentThread();
    ScheduledFuture<?> deadline;
    try {
      deadline =
          timer.schedule(
              () -> abandon(key, flight), options.loadDeadline().toNanos(), TimeUnit.NANOSECONDS);
    } catch (RuntimeException rejected) {
      flight.settle();
      loadFlights.remove(key, flight);
      fail(flight, new GroupLoadException("group " + name + " is closed"));
      return;
    }
    try {
      Loaded l = loader.load(key);
      if (l == null) {
        throw new GroupLoadException("the loader returned null for key '" + key + "'");
      }
      Entry e = new Entry(l.value(), expiresAt(l.ttl()));
      if (flight.settle()) { // counted, installed and retired before the waiters see it
        install(key, e, flight.generation, intoMain);
        localLoads.increment();
        loadFlights.remove(key, flight);
        flight.result.complete(e);
      }
    } catch (Throwable t) {
      if (flight.settle()) {
        localLoadErrors.increment();
        // Retired before its waiters fail: a caller that asks again at once must start a new
        // load, not join this failed one (errors are never cached, not even for a moment).
        loadFlights.remove(key, flight);
        fail(flight, new GroupLoadException(message(t), t));
      }
    } finally {
      deadline.cancel(false);
      loadFlights.remove(key, flight);
      flight.thread = null;
      Thread.interrupted(); // an abandoning interrupt may arrive late; leave the thread clean
    }
  }

  private void abandon(String key, LoadFlight flight) {
    if (flight.settle()) {
      localLoadErrors.increment();
      loadFlights.remove(key, flight);
      Thread t = flight.thread;
      if (t != null) {
        t.interrupt();
      }
      fail(
          flight,
          new LoadDeadlineException(
              "the load of key '"
                  + key
                  + "' passed its deadline of "
                  + options.loadDeadline().toMillis()
                  + " ms"));
    }
  }

  private static boolean fail(LoadFlight f, Throwable t) {
    return f.result.completeExceptionally(t);
  }

  private static String message(Throwable t) {
    if (t instanceof GroupLoadException) {
      return String.valueOf(t.getMessage());
    }
    String m = t.getMessage();
    return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
  }

  // ---------------------------------------------------------------- single-flight peer fetch

  /** The one running fetch of {@code key} from its owner, started if none runs. */
  private CompletableFuture<Entry> fetch(String key, @Nullable Member owner) {
    if (owner == null) {
      return load(key, false);
    }
    while (true) {
      FetchFlight running = fetchFlights.get(key);
      if (running != null) {
        return running.result.copy();
      }
      FetchFlight mine = new FetchFlight(generation(key));
      if (fetchFlights.putIfAbsent(key, mine) == null) {
        loadsDeduped.increment();
        runFetch(key, owner, mine);
        return mine.result.copy();
      }
    }
  }

  private void runFetch(String key, Member owner, FetchFlight flight) {
    peers
        .get(owner.url(), name, key)
        .whenComplete(
            (answer, err) -> {
              if (err == null && answer.status() == 200) {
                peerLoads.increment();
                long now = System.nanoTime();
                Entry e =
                    new Entry(
                        answer.value(),
                        answer.expiresInMillis() < 0
                            ? NO_EXPIRY
                            : now + TimeUnit.MILLISECONDS.toNanos(answer.expiresInMillis()));
                install(key, e, flight.generation, false);
                fetchFlights.remove(key, flight);
                flight.result.complete(e);
                return;
              }
              // Owner unreachable, late, or it answered an error: load here (counted).
              peerErrors.increment();
              load(key, false)
                  .whenComplete(
                      (e, loadErr) -> {
                        fetchFlights.remove(key, flight); // retired before the waiters see it
                        if (loadErr == null) {
                          flight.result.complete(e);
                        } else {
                          flight.result.completeExceptionally(unwrap(loadErr));
                        }
                      });
            });
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  // ---------------------------------------------------------------- removal

  @Override
  public CompletableFuture<RemoveResult> remove(String key) {
    try {
      checkKey(key);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    removeLocally(key);
    List<String> ids = new ArrayList<>();
    List<CompletableFuture<Boolean>> calls = new ArrayList<>();
    for (Member m : ring.byId().values()) {
      if (!m.id().equals(selfId)) {
        ids.add(m.id());
        calls.add(peers.delete(m.url(), name, key));
      }
    }
    return CompletableFuture.allOf(calls.toArray(new CompletableFuture<?>[0]))
        .thenApply(
            v -> {
              List<String> reached = new ArrayList<>();
              List<String> missed = new ArrayList<>();
              for (int i = 0; i < ids.size(); i++) {
                (calls.get(i).join() ? reached : missed).add(ids.get(i));
              }
              return new RemoveResult(reached, missed);
            });
  }

  /**
   * Drops {@code key} here. The generation moves first, so a load or fetch already running sees it
   * when it tries to install (the check runs inside the cache's per-key compute, which the
   * invalidation below also takes); the running flights are detached so that the next get starts
   * afresh instead of joining a load of the old value.
   */
  private void removeLocally(String key) {
    generations.incrementAndGet(stripe(key));
    loadFlights.remove(key);
    fetchFlights.remove(key);
    main.invalidate(key);
    if (hot != null) {
      hot.invalidate(key);
    }
  }

  @Override
  public CompletableFuture<Void> serveRemove(String key) {
    try {
      checkKey(key);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    removeLocally(key);
    return CompletableFuture.completedFuture(null);
  }

  // ---------------------------------------------------------------- serving peers

  @Override
  public CompletableFuture<GroupAnswer> serve(String key, boolean forwarded) {
    serverRequests.increment();
    return lookup(key, forwarded)
        .handle(
            (e, err) -> {
              if (err == null) {
                return GroupAnswer.ok(e.value(), e.remainingMillis(System.nanoTime()));
              }
              Throwable c = unwrap(err);
              int status =
                  c instanceof InvalidKeyException
                      ? 400
                      : c instanceof LoadDeadlineException ? 504 : closed ? 503 : 502;
              return GroupAnswer.error(status, message(c));
            });
  }

  @Override
  public boolean authorized(@Nullable String authorizationHeader) {
    byte[] expected = expectedAuthorization;
    if (expected == null) {
      return true;
    }
    return authorizationHeader != null
        && MessageDigest.isEqual(expected, authorizationHeader.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public @Nullable URI listenUrl() {
    EmbeddedListener l = listener;
    return l == null ? null : l.url();
  }

  // ---------------------------------------------------------------- stats and lifecycle

  @Override
  public GroupStats stats() {
    return new GroupStats(
        gets.sum(),
        cacheHits.sum(),
        peerLoads.sum(),
        peerErrors.sum(),
        loads.sum(),
        loadsDeduped.sum(),
        localLoads.sum(),
        localLoadErrors.sum(),
        serverRequests.sum(),
        figures(main, mainHits),
        hot == null ? new GroupStats.CacheFigures(0, 0, 0, 0) : figures(hot, hotHits),
        ring.hrw().members().size());
  }

  private static GroupStats.CacheFigures figures(Cache<String, Entry> c, LongAdder hits) {
    CacheStats s = c.stats();
    long bytes = c.policy().eviction().map(ev -> ev.weightedSize().orElse(0L)).orElse(0L);
    return new GroupStats.CacheFigures(c.estimatedSize(), bytes, hits.sum(), s.evictionCount());
  }

  /**
   * Counts evictions only: hits are counted by the group itself (one counter per hit instead of
   * Caffeine's hit and miss counters on every lookup of both caches).
   */
  private static final class EvictionCounter
      implements com.github.benmanes.caffeine.cache.stats.StatsCounter {
    private final LongAdder evictions = new LongAdder();

    @Override
    public void recordHits(int count) {}

    @Override
    public void recordMisses(int count) {}

    @Override
    public void recordLoadSuccess(long loadTime) {}

    @Override
    public void recordLoadFailure(long loadTime) {}

    @Override
    public void recordEviction(int weight, com.github.benmanes.caffeine.cache.RemovalCause cause) {
      evictions.increment();
    }

    @Override
    public CacheStats snapshot() {
      return CacheStats.of(0, 0, 0, 0, 0, evictions.sum(), 0);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (listener != null) {
      listener.close();
    }
    members.close();
    GroupLoadException gone = new GroupLoadException("group " + name + " is closed");
    for (LoadFlight f : loadFlights.values()) {
      if (f.settle()) {
        Thread t = f.thread;
        if (t != null) {
          t.interrupt();
        }
        fail(f, gone);
      }
    }
    for (FetchFlight f : fetchFlights.values()) {
      f.result.completeExceptionally(gone);
    }
    loadFlights.clear();
    fetchFlights.clear();
    timer.shutdownNow();
    peers.close();
    main.invalidateAll();
    if (hot != null) {
      hot.invalidateAll();
    }
    onClose.run();
  }
}
