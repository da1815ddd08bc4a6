package io.lockstep;

import io.lockstep.spi.Backend;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * Builds a {@link Lockstep} node. Every setting is validated by {@link #config()} and {@link
 * #build()}, which fail with a message naming the field and the value. Not thread safe.
 */
public final class LockstepBuilder {
  private @Nullable String backendUri;
  private @Nullable Backend backend;
  private String keyPrefix = "lockstep";
  private @Nullable String instanceId;
  private String advertiseUrl = "";
  private Duration operationTimeout = Duration.ofSeconds(3);
  private Duration applyTimeout = Duration.ofSeconds(10);
  private Duration reconnectBackoffMin = Duration.ofMillis(100);
  private Duration reconnectBackoffMax = Duration.ofSeconds(5);
  private Duration progressInterval = Duration.ofSeconds(1);
  private int maxKeyBytes = 1024;
  private int maxValueBytes = 1 << 20;
  private int maxTotalKeys = Integer.MAX_VALUE;
  private long maxTotalBytes = Long.MAX_VALUE;
  private @Nullable Long randomSeed;
  private Executor callbackExecutor = ForkJoinPool.commonPool();
  private int maxPendingChanges = 10_000;
  private BackendCallObserver backendCallObserver = BackendCallObserver.NONE;
  private ReplicaMode mode = ReplicaMode.FULL;
  private long nearMaxKeys;
  private long nearMaxBytes;
  private NearOnChange nearOnChange = NearOnChange.UPDATE;
  private String listenAddress = LockstepConfig.DEFAULT_LISTEN_ADDRESS;
  private int listenPort = -1;
  private @Nullable String peerSecret;

  LockstepBuilder() {}

  /**
   * The backend URI, e.g. {@code etcd://127.0.0.1:2379,127.0.0.1:22379}. Required unless {@link
   * #backend(Backend)} is given.
   */
  public LockstepBuilder backend(String uri) {
    this.backendUri = uri;
    return this;
  }

  /** A backend instance to use instead of a URI (tests, embedding); the node closes it. */
  public LockstepBuilder backend(Backend backend) {
    this.backend = backend;
    return this;
  }

  /** The namespace within the backend. Default {@code lockstep}. */
  public LockstepBuilder keyPrefix(String keyPrefix) {
    this.keyPrefix = keyPrefix;
    return this;
  }

  /** This instance's id. Default: a generated one. */
  public LockstepBuilder instanceId(@Nullable String instanceId) {
    this.instanceId = instanceId;
    return this;
  }

  /**
   * The URL other instances reach this one at, registered in membership ({@link Member#url()}):
   * where they ask for its applied revision ({@link Lockstep#fleet()}) and, with loading groups,
   * for values. Default empty, or, with {@link #listen}, the listener's own URL ({@code
   * http://<bindAddress>:<bound port>}); give it when others reach this one through another address
   * (a proxy, a container's published port, a listener on the wildcard address).
   */
  public LockstepBuilder advertiseUrl(String advertiseUrl) {
    this.advertiseUrl = advertiseUrl;
    return this;
  }

  /** How long a backend operation may take before it fails as unavailable. Default 3 s. */
  public LockstepBuilder operationTimeout(Duration timeout) {
    this.operationTimeout = timeout;
    return this;
  }

  /** How long a write waits to be applied locally after commit. Default 10 s. */
  public LockstepBuilder applyTimeout(Duration timeout) {
    this.applyTimeout = timeout;
    return this;
  }

  /**
   * The reconnect backoff: starts at {@code min}, doubles to {@code max}, with jitter. Default 100
   * ms to 5 s.
   */
  public LockstepBuilder reconnectBackoff(Duration min, Duration max) {
    this.reconnectBackoffMin = min;
    this.reconnectBackoffMax = max;
    return this;
  }

  /**
   * How often a quiet feed is asked for progress, to stay current and detect a dead feed. Default 1
   * s.
   */
  public LockstepBuilder progressInterval(Duration interval) {
    this.progressInterval = interval;
    return this;
  }

  /** The largest key, in UTF-8 bytes. Default 1024. */
  public LockstepBuilder maxKeyBytes(int max) {
    this.maxKeyBytes = max;
    return this;
  }

  /**
   * The most keys the map may hold: a put of a new key that would go past it fails with {@link
   * MapFullException} and stores nothing. Checked by the instance taking the write, against the
   * keys it has applied plus its own writes in flight, so concurrent writers through one instance
   * never take the map past it; writes through several instances at once can each see room for the
   * last keys. Default: no bound.
   */
  public LockstepBuilder maxTotalKeys(int max) {
    this.maxTotalKeys = max;
    return this;
  }

  /**
   * The most bytes of values the map may hold (the sum of every value's size): a put that would go
   * past it fails with {@link MapFullException}; checked as {@link #maxTotalKeys(int)} is. Default:
   * no bound.
   */
  public LockstepBuilder maxTotalBytes(long max) {
    this.maxTotalBytes = max;
    return this;
  }

  /** The largest value, in bytes. Default 1 MiB. */
  public LockstepBuilder maxValueBytes(int max) {
    this.maxValueBytes = max;
    return this;
  }

  /**
   * How many changes received from the feed may wait to be applied. A feed that would go past it is
   * paused, never dropped: the replica closes it once it has applied what it received and resumes
   * it from the revision after (the backend's own catch-up), counted in {@link
   * ReplicaStats#feedPauses()}. A single revision larger than the bound is still taken whole.
   * Default 10,000.
   */
  public LockstepBuilder maxPendingChanges(int max) {
    this.maxPendingChanges = max;
    return this;
  }

  /** The seed of the reconnect jitter. Default: random. */
  public LockstepBuilder randomSeed(long seed) {
    this.randomSeed = seed;
    return this;
  }

  /**
   * Where the futures of the map's asynchronous calls ({@code putAsync}, {@code refresh()}, {@code
   * awaitRevisionAsync}, ...) complete, and so where callbacks chained on them without an executor
   * of their own run. Default {@link ForkJoinPool#commonPool()}, as Caffeine's: it is never the
   * replication thread nor a backend client's I/O thread, so a callback that blocks cannot stall
   * replication, and a callback that blocks on the map (a {@code put} in {@code thenAccept}) is
   * compensated by the pool instead of waiting for itself, as it would on one thread of its own.
   * The executor must not run tasks on the calling thread (as {@code Runnable::run} does) except in
   * tests: completions would then run on the replication thread. The node does not shut it down.
   */
  public LockstepBuilder callbackExecutor(Executor executor) {
    this.callbackExecutor = executor;
    return this;
  }

  /**
   * Told about every backend call (writes, strong reads, listings, counters) and feed failure, for
   * metrics; see {@link BackendCallObserver}. Default {@link BackendCallObserver#NONE}.
   */
  public LockstepBuilder backendCallObserver(BackendCallObserver observer) {
    this.backendCallObserver = observer;
    return this;
  }

  /**
   * What the map keeps in memory: {@link ReplicaMode#FULL} (every key, the default) or {@link
   * ReplicaMode#NEAR} (only the keys read, bounded by {@link #nearMaxKeys} or {@link
   * #nearMaxBytes}; a miss loads the key from the source). Near mode cannot be combined with {@link
   * #maxTotalKeys} or {@link #maxTotalBytes}.
   */
  public LockstepBuilder mode(ReplicaMode mode) {
    this.mode = mode;
    return this;
  }

  /**
   * Near mode: the most keys held in memory (Caffeine's size bound: the least likely to be read
   * again are evicted). Default {@value LockstepConfig#DEFAULT_NEAR_MAX_KEYS} when {@link
   * #nearMaxBytes} is not given either; one or the other, not both.
   */
  public LockstepBuilder nearMaxKeys(long max) {
    this.nearMaxKeys = max;
    return this;
  }

  /**
   * Near mode: the most bytes held in memory, counting each key's UTF-8 length and its value's
   * length (Caffeine's weight bound). Default: bounded by {@link #nearMaxKeys} instead.
   */
  public LockstepBuilder nearMaxBytes(long max) {
    this.nearMaxBytes = max;
    return this;
  }

  /**
   * Near mode: what a change to a held key does, {@link NearOnChange#UPDATE} (the default) or
   * {@link NearOnChange#INVALIDATE}. A delete always drops the key.
   */
  public LockstepBuilder nearOnChange(NearOnChange onChange) {
    this.nearOnChange = onChange;
    return this;
  }

  /**
   * Starts, with the node, a small HTTP listener of its own (the JDK's {@code
   * com.sun.net.httpserver}) on {@code bindAddress:port}, serving {@code GET /_lockstep/replica}
   * ({@link FleetStatus#REPLICA_PATH}), so that other members' {@link Lockstep#fleet()} can ask
   * this one for its applied revision, and the peer protocol of every {@link Lockstep#group loading
   * group} opened on the node without a {@link GroupOptions.Builder#listenPort listen port} of its
   * own or a fixed list of peers (each with its own {@link GroupOptions#peerSecret()}): for an
   * application without an HTTP server of its own (a server already serves these paths). Port 0
   * takes any free port. The port is bound before the node registers, so without an explicit {@link
   * #advertiseUrl} the node advertises the listener's URL with the port really bound; a wildcard
   * address ({@code 0.0.0.0}, {@code ::}) needs an explicit {@code advertiseUrl}. Closing the node
   * closes the listener. With {@link #peerSecret} the listener refuses (401) a request without it.
   * The build fails with an {@link java.io.UncheckedIOException} when the port cannot be bound.
   * Default: no listener.
   */
  public LockstepBuilder listen(String bindAddress, int port) {
    this.listenAddress = bindAddress;
    this.listenPort = port;
    return this;
  }

  /**
   * The cluster's peer credential: sent as {@code Authorization: Bearer <secret>} when {@link
   * Lockstep#fleet()} asks the members, and required by this node's {@link #listen listener}. The
   * server's cluster secret. Printable ASCII without spaces. Default: none (nothing sent, nothing
   * required).
   */
  public LockstepBuilder peerSecret(@Nullable String secret) {
    this.peerSecret = secret;
    return this;
  }

  /** Validates and returns the configuration (the checks are {@link LockstepConfig}'s own). */
  public LockstepConfig config() {
    String id =
        instanceId == null || instanceId.isBlank()
            ? "ls-" + UUID.randomUUID().toString().substring(0, 8)
            : instanceId;
    long seed = randomSeed != null ? randomSeed : ThreadLocalRandom.current().nextLong();
    return new LockstepConfig(
        backendUri,
        backend,
        keyPrefix,
        id,
        advertiseUrl,
        operationTimeout,
        applyTimeout,
        reconnectBackoffMin,
        reconnectBackoffMax,
        progressInterval,
        maxKeyBytes,
        maxValueBytes,
        seed,
        callbackExecutor,
        maxPendingChanges,
        backendCallObserver,
        maxTotalKeys,
        maxTotalBytes,
        mode,
        nearMaxKeys,
        nearMaxBytes,
        nearOnChange,
        listenAddress,
        listenPort,
        peerSecret);
  }

  /**
   * Validates, creates and starts the node. The first listing proceeds in the background; see
   * {@link Replica#isReady()}.
   */
  public Lockstep build() {
    return Lockstep.start(config());
  }
}
