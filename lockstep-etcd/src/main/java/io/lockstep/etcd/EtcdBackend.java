package io.lockstep.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.maintenance.StatusResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.OptionsUtil;
import io.etcd.jetcd.options.PutOption;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import io.lockstep.LockstepConfig;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendSupport;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.CounterStore;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.Membership;
import io.lockstep.spi.RequestIds;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The etcd v3 backend: one namespace of an etcd cluster, through jetcd. Create it with a URI (the
 * {@code etcd} scheme is found by {@link EtcdBackendProvider}).
 *
 * <h2>URI</h2>
 *
 * <p>{@code etcd://[user:password@]host:port[,host:port...][?key=value&...]}: client endpoints
 * (port 2379 when omitted), {@code https} with {@code tls=true} or {@code ca_file}; requests are
 * balanced over them round robin. Parameters, all optional; any other is refused:
 *
 * <ul>
 *   <li>{@code timeout}: the deadline of each etcd request ({@code 250ms}, {@code 3s}, {@code 1m},
 *       ... as {@link io.lockstep.Durations} reads them); default: the node's operation timeout.
 *       Watches and lease keep-alives are streams and have none.
 *   <li>{@code page_size}: keys per page of a listing, 1 to 100000; default 1000.
 *   <li>{@code member_ttl}: how long a membership record outlives its instance, whole seconds from
 *       {@code 2s} to {@code 3600s} (an etcd lease counts seconds); default {@code 10s}. A bare
 *       number is refused with a message showing it with a unit.
 *   <li>{@code idempotency_ttl}: how long a client's request id (an HTTP {@code Idempotency-Key},
 *       kept as {@code <keyPrefix>/_idem/<digest>}, see {@link EtcdRequestIds}) is remembered, at
 *       least {@code 2s}; default {@code 24h}.
 *   <li>{@code tls}, {@code ca_file}, {@code cert_file}, {@code key_file}, {@code user}, {@code
 *       password}, {@code password_file}: TLS and authentication, see {@link EtcdAuth}.
 * </ul>
 *
 * <h2>Layout</h2>
 *
 * <p>Map key {@code K} is the etcd key {@code <keyPrefix>/K} (as the etcd lab stores {@code
 * key_prefix + "/" + key}); membership records live under {@code <keyPrefix>/_members/} and cluster
 * counters under {@code <keyPrefix>/_counters/} ({@link EtcdCounters}), which the map's listing and
 * feed leave out, as they leave out every key with such a reserved segment further in (another
 * node's records when its prefix nests under this one's: {@code <keyPrefix>/prod/_members/...} is a
 * member of the node with prefix {@code <keyPrefix>/prod}). Keys under the prefix that are not
 * valid UTF-8, or empty after it, are not map keys and are left out too. Values are stored as
 * {@link EtcdValueCodec} describes; a value's {@link Versioned#modRevision()} is etcd's {@code
 * mod_revision}.
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>Revisions are etcd's cluster-wide revision ({@link RevisionModel#SPARSE}): writes elsewhere
 *       in the cluster make jumps between this namespace's revisions.
 *   <li>{@link #snapshot()} is one consistent listing at one revision: a linearizable first page
 *       fixes the revision, every further page is read at that revision. Each page is one request
 *       with its own deadline and is reported to the engine's {@link ListingProgress}, so a listing
 *       of any size finishes as long as each page does; a cancelled listing reads no further page.
 *   <li>{@link #watch} delivers every change of the namespace from the requested revision, in
 *       order, each revision in one call, until the watch breaks; then it reports once ({@code
 *       onCompacted} or {@code onError}) and stops. It never resumes by itself: jetcd's own resume
 *       is never left to run (the engine resumes from its applied revision with a new watch).
 *   <li>Conditional writes are single etcd transactions comparing {@code create_revision} (expected
 *       0) or {@code mod_revision}; a lost comparison reads the current entry in the same
 *       transaction. Strong reads are linearizable.
 *   <li>An unreachable etcd fails requests fast with {@link
 *       io.lockstep.BackendUnavailableException}: no wait-for-ready (nothing is queued in the
 *       client until etcd returns), no jetcd retries, a deadline on every request. A write whose
 *       request may have reached etcd before it failed says so ({@link
 *       io.lockstep.BackendUnavailableException#mayHaveCommitted()}).
 * </ul>
 *
 * <h2>Non-guarantees</h2>
 *
 * <ul>
 *   <li>A progress notification only moves a quiet replica's revision forward when every endpoint
 *       runs an etcd that orders requested progress with events (3.4.31+, 3.5.13+, 3.6+); with
 *       older servers progress proves the watch alive but not how far the cluster has moved, so a
 *       quiet namespace's applied revision stays at its last change while other namespaces write,
 *       and the replica's lag figures cannot count revisions it has not been told about.
 *   <li>A write whose answer was lost may or may not have been committed (it says so); a listing of
 *       a namespace so large that one key does not fit in a response (256 MiB) cannot be read.
 *   <li>TLS and etcd authentication are not supported yet.
 * </ul>
 *
 * <p>Thread safe. {@link #close()} closes the jetcd client, every feed and every registration.
 */
public final class EtcdBackend implements Backend {
  private static final System.Logger LOG = System.getLogger(EtcdBackend.class.getName());
  private static final String MEMBERS = "_members/";
  private static final int MAX_INBOUND_BYTES = 256 << 20;
  private static final Set<String> REPORTED = ConcurrentHashMap.newKeySet();

  private final EtcdSettings settings;
  private final String endpoints;
  private final Client client;
  private final KV kv;
  private final Lease lease;
  private final Watch watch;
  private final ByteSequence namespace;
  private final byte[] namespaceBytes;
  private final ByteSequence membersPrefix;
  private final byte[] membersBytes;
  private final byte[] countersBytes;
  private final byte[] idemBytes;
  private final EtcdRequestIds requestIds;
  private final EtcdCounters counters;
  private final EtcdMembership membership;
  private final ScheduledThreadPoolExecutor housekeeping;
  private final Set<EtcdFeed> feeds = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicBoolean probing = new AtomicBoolean();
  private volatile boolean probed;
  private volatile List<String> serverVersions;
  private volatile EtcdFeed.ProgressMode progressMode = EtcdFeed.ProgressMode.LIVENESS_ONLY;

  private EtcdBackend(EtcdSettings settings, BackendContext context) {
    this.settings = settings;
    this.endpoints =
        settings.endpoints().stream().map(URI::toString).collect(Collectors.joining(",", "[", "]"));
    String ns = context.keyPrefix() + "/";
    this.namespace = ByteSequence.from(ns, StandardCharsets.UTF_8);
    this.namespaceBytes = namespace.getBytes();
    this.membersPrefix = ByteSequence.from(ns + MEMBERS, StandardCharsets.UTF_8);
    this.membersBytes = membersPrefix.getBytes();
    this.countersBytes = (ns + EtcdCounters.PREFIX).getBytes(StandardCharsets.UTF_8);
    this.idemBytes = (ns + LockstepConfig.IDEMPOTENCY_PREFIX).getBytes(StandardCharsets.UTF_8);
    this.housekeeping = BackendSupport.housekeeping("lockstep-etcd-" + context.instanceId());
    Duration timeout = settings.requestTimeout();
    io.etcd.jetcd.ClientBuilder builder =
        Client.builder()
            .endpoints(settings.endpoints().toArray(URI[]::new))
            .waitForReady(
                false) // fail at once while unreachable, instead of queueing until it returns
            .retryMaxAttempts(0) // the engine owns retries
            .connectTimeout(timeout)
            .keepaliveTime(Duration.ofSeconds(10))
            .keepaliveTimeout(Duration.ofSeconds(5))
            .keepaliveWithoutCalls(true)
            .maxInboundMessageSize(
                MAX_INBOUND_BYTES) // watch batches of large values exceed gRPC's 4 MiB
            .interceptor(new Deadline(timeout));
    EtcdAuth auth = settings.auth();
    if (auth.tls()) {
      try {
        builder.sslContext(
            ssl -> {
              if (auth.caFile() != null) {
                ssl.trustManager(auth.caFile().toFile());
              }
              if (auth.certFile() != null) {
                ssl.keyManager(auth.certFile().toFile(), auth.keyFile().toFile());
              }
            });
      } catch (javax.net.ssl.SSLException | RuntimeException e) {
        throw new IllegalArgumentException("backend URI: cannot use the TLS files: " + e, e);
      }
    }
    if (auth.user() != null) {
      builder
          .user(ByteSequence.from(auth.user(), StandardCharsets.UTF_8))
          .password(ByteSequence.from(auth.password(), StandardCharsets.UTF_8));
    }
    this.client = builder.build();
    this.kv = client.getKVClient();
    this.lease = client.getLeaseClient();
    this.watch = client.getWatchClient();
    this.membership = new EtcdMembership(this);
    this.counters = new EtcdCounters(this, context.operationTimeout());
    this.requestIds =
        new EtcdRequestIds(this, settings.idempotencyTtl(), context.operationTimeout());
  }

  /**
   * Creates a backend; the jetcd client connects on first use.
   *
   * @throws IllegalArgumentException when the URI is not a valid etcd URI (message names the part)
   */
  public static EtcdBackend create(BackendUri uri, BackendContext context) {
    return new EtcdBackend(EtcdSettings.parse(uri, context), context);
  }

  @Override
  public RevisionModel revisionModel() {
    return RevisionModel.SPARSE;
  }

  // ---------------------------------------------------------------------------------------------
  // Listing
  // ---------------------------------------------------------------------------------------------

  @Override
  public CompletableFuture<Snapshot> snapshot() {
    return snapshot(ListingProgress.NONE);
  }

  /** The listing page by page, each page reported to {@code progress}; stops once cancelled. */
  @Override
  public CompletableFuture<Snapshot> snapshot(ListingProgress progress) {
    return page(namespace, 0, settings.pageSize(), new ArrayList<>(), progress);
  }

  /**
   * The history id of an etcd cluster: its cluster id. A restore with {@code etcdutl snapshot
   * restore} or a cluster rebuilt from scratch under other member names gets a new one; one rebuilt
   * under the same names and token gets the same id, and only its revisions going back (a listing
   * or a progress header below the applied revision) tell the engine.
   */
  static String epochOf(long clusterId) {
    return "etcd-cluster-" + Long.toHexString(clusterId);
  }

  /**
   * One page of the listing from {@code from}; {@code revision} 0 for the first page, which is
   * linearizable and fixes the revision every later page is read at. A page too large for one
   * response is read again in halves. Each page read is reported to {@code progress}; none is read
   * once it is cancelled.
   */
  private CompletableFuture<Snapshot> page(
      ByteSequence from, long revision, int limit, List<Versioned> acc, ListingProgress progress) {
    if (progress.isCancelled()) {
      return CompletableFuture.failedFuture(
          new CancellationException(
              "listing of " + namespace() + " cancelled after " + acc.size() + " entries"));
    }
    GetOption.Builder opt =
        GetOption.builder().withRange(OptionsUtil.prefixEndOf(namespace)).withLimit(limit);
    if (revision > 0) {
      opt.withRevision(revision);
    }
    return kv.get(from, opt.build())
        .handle(
            (resp, err) -> {
              if (err != null) {
                if (limit > 1 && EtcdErrors.isCode(err, ErrorCode.RESOURCE_EXHAUSTED)) {
                  return page(from, revision, limit / 2, acc, progress);
                }
                return CompletableFuture.<Snapshot>failedFuture(
                    translate(err, "listing of " + namespace(), false));
              }
              long rev = revision > 0 ? revision : resp.getHeader().getRevision();
              List<KeyValue> kvs = resp.getKvs();
              for (KeyValue kv : kvs) {
                String key = mapKey(kv.getKey());
                if (key != null) {
                  acc.add(toVersioned(key, kv));
                }
              }
              progress.page(kvs.size());
              if (resp.isMore() && !kvs.isEmpty()) {
                ByteSequence next =
                    kvs.get(kvs.size() - 1).getKey().concat(ByteSequence.from(new byte[] {0}));
                return page(next, rev, limit, acc, progress);
              }
              return CompletableFuture.completedFuture(
                  new Snapshot(rev, acc, epochOf(resp.getHeader().getClusterId())));
            })
        .thenCompose(f -> f);
  }

  // ---------------------------------------------------------------------------------------------
  // Watching
  // ---------------------------------------------------------------------------------------------

  @Override
  public Feed watch(long fromRevision, FeedListener listener) {
    BackendSupport.checkFromRevision(fromRevision);
    probeVersions();
    EtcdFeed feed = new EtcdFeed(this, fromRevision, listener);
    if (closed.get()) {
      feed.onError(new IllegalStateException("etcd backend closed"));
      return feed;
    }
    feeds.add(feed);
    feed.start(watch, namespace, fromRevision);
    return feed;
  }

  /** What progress notifications prove here; see {@link EtcdFeed.ProgressMode}. */
  EtcdFeed.ProgressMode progressMode() {
    return progressMode;
  }

  /** The etcd versions of the endpoints, in order, once every one has answered; else null. */
  List<String> serverVersions() {
    return serverVersions;
  }

  /** Asks every endpoint for its version, until all have answered once. */
  private void probeVersions() {
    if (probed || closed.get() || !probing.compareAndSet(false, true)) {
      return;
    }
    List<CompletableFuture<String>> versions = new ArrayList<>();
    for (URI e : settings.endpoints()) {
      CompletableFuture<String> v;
      try {
        v =
            client
                .getMaintenanceClient()
                .statusMember("ip:///" + e.getHost() + ":" + e.getPort())
                .thenApply(StatusResponse::getVersion);
      } catch (RuntimeException ex) {
        v = CompletableFuture.failedFuture(ex);
      }
      versions.add(v.orTimeout(settings.requestTimeout().toMillis(), TimeUnit.MILLISECONDS));
    }
    CompletableFuture.allOf(versions.toArray(CompletableFuture[]::new))
        .whenComplete(
            (ok, err) -> {
              try {
                if (err == null) {
                  List<String> vs = versions.stream().map(CompletableFuture::join).toList();
                  boolean ordered = vs.stream().allMatch(EtcdFeed.ProgressMode::ordersProgress);
                  progressMode =
                      ordered ? EtcdFeed.ProgressMode.TRUSTED : EtcdFeed.ProgressMode.LIVENESS_ONLY;
                  serverVersions = vs;
                  probed = true;
                  boolean first =
                      REPORTED.add(endpoints + vs); // once per JVM, not once per replica
                  LOG.log(
                      ordered || !first ? Level.DEBUG : Level.INFO,
                      "etcd {0} at {1}: {2}",
                      vs,
                      endpoints,
                      ordered
                          ? "progress notifications advance the applied revision"
                          : "progress notifications are not ordered with events before 3.4.31/3.5.13; used for liveness only");
                }
              } finally {
                probing.set(false);
              }
            });
  }

  // ---------------------------------------------------------------------------------------------
  // Writes and strong reads
  // ---------------------------------------------------------------------------------------------

  @Override
  public CompletableFuture<WriteResult> put(
      String key, byte[] value, String contentType, long expectedRevision) {
    ByteSequence k = keyOf(key);
    ByteSequence v = ByteSequence.from(EtcdValueCodec.encode(value, contentType));
    String what = "put of '" + key + "'";
    if (expectedRevision == ANY_REVISION) {
      return mapped(kv.put(k, v), what, true)
          .thenApply(r -> WriteResult.applied(r.getHeader().getRevision()));
    }
    BackendSupport.checkExpectedRevision(expectedRevision);
    return mapped(
            kv.txn()
                .If(condition(k, expectedRevision))
                .Then(Op.put(k, v, PutOption.DEFAULT))
                .Else(Op.get(k, GetOption.DEFAULT))
                .commit(),
            what,
            true)
        .thenApply(
            r ->
                r.isSucceeded()
                    ? WriteResult.applied(r.getHeader().getRevision())
                    : conflict(key, r));
  }

  @Override
  public CompletableFuture<WriteResult> delete(String key, long expectedRevision) {
    ByteSequence k = keyOf(key);
    String what = "delete of '" + key + "'";
    if (expectedRevision == ANY_REVISION) {
      return mapped(kv.delete(k), what, true)
          .thenApply(
              r ->
                  r.getDeleted() == 0
                      ? WriteResult.notFound(r.getHeader().getRevision())
                      : WriteResult.applied(r.getHeader().getRevision()));
    }
    BackendSupport.checkExpectedRevision(expectedRevision);
    Op[] then = expectedRevision == 0 ? new Op[0] : new Op[] {Op.delete(k, DeleteOption.DEFAULT)};
    return mapped(
            kv.txn()
                .If(condition(k, expectedRevision))
                .Then(then)
                .Else(Op.get(k, GetOption.DEFAULT))
                .commit(),
            what,
            true)
        .thenApply(
            r -> {
              if (!r.isSucceeded()) {
                return conflict(key, r);
              }
              // Expected 0 means "only if absent": there is nothing to delete.
              return expectedRevision == 0
                  ? WriteResult.notFound(r.getHeader().getRevision())
                  : WriteResult.applied(r.getHeader().getRevision());
            });
  }

  @Override
  public CompletableFuture<WriteResult> put(
      String key,
      byte[] value,
      String contentType,
      long expectedRevision,
      @Nullable String requestId) {
    if (requestId == null) {
      return put(key, value, contentType, expectedRevision);
    }
    BackendSupport.checkExpectedRevision(expectedRevision);
    return requestIds.write(
        key,
        ByteSequence.from(EtcdValueCodec.encode(value, contentType)),
        expectedRevision,
        requestId,
        RequestIds.put(key, value, contentType, expectedRevision));
  }

  @Override
  public CompletableFuture<WriteResult> delete(
      String key, long expectedRevision, @Nullable String requestId) {
    if (requestId == null) {
      return delete(key, expectedRevision);
    }
    BackendSupport.checkExpectedRevision(expectedRevision);
    return requestIds.write(
        key, null, expectedRevision, requestId, RequestIds.delete(key, expectedRevision));
  }

  @Override
  public CompletableFuture<StrongRead> get(String key) {
    ByteSequence k = keyOf(key);
    return mapped(kv.get(k), "strong read of '" + key + "'", false)
        .thenApply(
            r -> {
              List<KeyValue> kvs = r.getKvs();
              return new StrongRead(
                  kvs.isEmpty() ? null : toVersioned(key, kvs.get(0)), r.getHeader().getRevision());
            });
  }

  private static Cmp condition(ByteSequence k, long expected) {
    return expected == 0
        ? new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
        : new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(expected));
  }

  private WriteResult conflict(String key, TxnResponse r) {
    List<GetResponse> gets = r.getGetResponses();
    if (gets.isEmpty() || gets.get(0).getKvs().isEmpty()) {
      return WriteResult.conflict(0, null);
    }
    KeyValue cur = gets.get(0).getKvs().get(0);
    return WriteResult.conflict(cur.getModRevision(), toVersioned(key, cur));
  }

  // ---------------------------------------------------------------------------------------------
  // Membership and life cycle
  // ---------------------------------------------------------------------------------------------

  @Override
  public Membership membership() {
    return membership;
  }

  /** Cluster counters under {@code <keyPrefix>/_counters/}; see {@link EtcdCounters}. */
  @Override
  public CounterStore counters() {
    return counters;
  }

  /** Revokes open registrations, stops every feed, and closes the jetcd client. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    membership.closeAll();
    for (EtcdFeed f : List.copyOf(feeds)) {
      f.close();
    }
    housekeeping.shutdownNow();
    client.close();
  }

  @Override
  public String toString() {
    return "EtcdBackend[" + endpoints + ", namespace=" + namespace() + "]";
  }

  // ---------------------------------------------------------------------------------------------
  // For the feed and the membership (package private)
  // ---------------------------------------------------------------------------------------------

  EtcdSettings settings() {
    return settings;
  }

  KV kv() {
    return kv;
  }

  Lease lease() {
    return lease;
  }

  Watch watchClient() {
    return watch;
  }

  EtcdRequestIds requestIds() {
    return requestIds;
  }

  ByteSequence membersPrefix() {
    return membersPrefix;
  }

  String namespace() {
    return namespace.toString(StandardCharsets.UTF_8);
  }

  ByteSequence keyOf(String key) {
    return namespace.concat(ByteSequence.from(key, StandardCharsets.UTF_8));
  }

  /**
   * The map key of an etcd key in the namespace, or null when it is not one: a membership record, a
   * cluster counter, not valid UTF-8, or nothing after the prefix.
   */
  String mapKey(ByteSequence etcdKey) {
    byte[] b = etcdKey.getBytes();
    if (b.length <= namespaceBytes.length
        || !startsWith(b, namespaceBytes)
        || startsWith(b, membersBytes)
        || startsWith(b, countersBytes)
        || startsWith(b, idemBytes)) {
      return null;
    }
    String key;
    try {
      key =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(b, namespaceBytes.length, b.length - namespaceBytes.length))
              .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
    // Prefixes nest: under prefix "app", "app/prod/_members/x" is a record of the node with prefix
    // "app/prod", never a key of this map.
    return LockstepConfig.isReservedKey(key) ? null : key;
  }

  Versioned toVersioned(String key, KeyValue kv) {
    EtcdValueCodec.Decoded d = EtcdValueCodec.decode(kv.getValue().getBytes());
    return new Versioned(key, d.value(), d.contentType(), kv.getModRevision());
  }

  /** The future, failing with the exceptions the SPI promises. */
  <T> CompletableFuture<T> mapped(CompletableFuture<T> f, String what, boolean write) {
    return BackendSupport.translated(f, t -> translate(t, what, write));
  }

  RuntimeException translate(Throwable t, String what, boolean write) {
    return EtcdErrors.translate(t, what, endpoints, write);
  }

  void forget(EtcdFeed feed) {
    feeds.remove(feed);
  }

  /** Closes a jetcd watcher on another thread (never inside jetcd's own callback). */
  void closeLater(Watch.Watcher w) {
    execute(w::close);
  }

  void execute(Runnable task) {
    try {
      housekeeping.execute(task);
    } catch (RejectedExecutionException e) {
      // closed: the client's close takes everything down
    }
  }

  ScheduledFuture<?> schedule(Runnable task, long delayMillis) {
    try {
      return housekeeping.schedule(task, delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      return null;
    }
  }

  private static boolean startsWith(byte[] b, byte[] prefix) {
    return b.length >= prefix.length
        && Arrays.equals(b, 0, prefix.length, prefix, 0, prefix.length);
  }

  /**
   * Puts a deadline on every unary call, so a frozen or partitioned etcd cannot hold one forever.
   */
  private static final class Deadline implements ClientInterceptor {
    private final long millis;

    Deadline(Duration timeout) {
      this.millis = timeout.toMillis();
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      if (method.getType() == MethodDescriptor.MethodType.UNARY && options.getDeadline() == null) {
        options = options.withDeadlineAfter(millis, TimeUnit.MILLISECONDS);
      }
      return next.newCall(method, options);
    }
  }
}
