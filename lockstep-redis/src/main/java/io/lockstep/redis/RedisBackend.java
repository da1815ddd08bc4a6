package io.lockstep.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.MaintNotificationsConfig;
import io.lettuce.core.MapScanCursor;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lockstep.BackendUnavailableException;
import io.lockstep.IncrementResult;
import io.lockstep.LockstepException;
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
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The Redis backend: one map in one Redis server (5.0 or later; tested with 7.0), through Lettuce.
 * Create it with a URI (the {@code redis} and {@code rediss} schemes are found by {@link
 * RedisBackendProvider}).
 *
 * <h2>URI</h2>
 *
 * <p>{@code redis://host:port[/db][?key=value&...]} (port 6379 when omitted, database 0 when no
 * path); {@code rediss://} is the same over TLS. Parameters, all optional; any other is refused:
 *
 * <ul>
 *   <li>{@code timeout}: the bound of every command and of connecting ({@code 250ms}, {@code 3s},
 *       {@code 1m} or ISO-8601); default: the node's operation timeout.
 *   <li>{@code stream_max_len}: about how many changes the map's stream keeps ({@code XADD MAXLEN
 *       ~}); a replica further behind than that relists; default 10000.
 *   <li>{@code member_ttl}: how long a membership record outlives its instance, at least 1s;
 *       default 10s. Live instances refresh it every third of that.
 *   <li>{@code idempotency_ttl}: how long a client's request id (an HTTP {@code Idempotency-Key},
 *       kept as {@code <ns>:idem:<digest>} with its fingerprint and answer) is remembered, at least
 *       1s; default 24h.
 *   <li>{@code page_size}: entries asked for per page of a listing ({@code HSCAN ... COUNT}; Redis
 *       may answer a few more, and a small hash in one page), 1 to 100000; default 1000.
 *   <li>{@code user}, {@code password}, {@code password_file}: the ACL user and its password (or a
 *       file whose first line is the password); also {@code redis://user:password@host}; see {@link
 *       RedisAuth}. Default: no {@code AUTH}.
 *   <li>{@code ca_file}, {@code cert_file}, {@code key_file} ({@code rediss} only): the CA bundle
 *       the server's certificate is verified against (default: the JDK's trust store), and this
 *       client's certificate and key, PEM.
 * </ul>
 *
 * <h2>Layout</h2>
 *
 * <p>With {@code <ns>} the node's key prefix: {@code <ns>:rev} (the map's revision counter), {@code
 * <ns>:data} (a hash: map key to envelope), {@code <ns>:log} (the change stream, entry {@code
 * <rev>-0} per change), {@code <ns>:epoch} (the history id), the pub/sub channel {@code
 * <ns>:changes}, {@code <ns>:counter:<name>} (a cluster counter, changed by {@code INCRBY} only,
 * outside the map and its revisions), and {@code <ns>:members:<id>} (one string per live instance,
 * with a TTL; registrations and deregistrations are announced on the channel {@code
 * <ns>:membership}). {@link RedisValueCodec} describes the envelope and the change message. Every
 * change goes through one Lua script ({@code write.lua}) that bumps the counter, writes the hash,
 * appends to the stream and publishes, atomically; programs other than Lockstep must write through
 * the same script to be seen (docs/backends/redis.md says how).
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>Revisions number this map's changes 1, 2, 3, ... ({@link RevisionModel#CONTIGUOUS}).
 *   <li>{@link #snapshot()} is the map exactly at one revision, read page by page ({@link
 *       RedisListing}): a small script reads the counter {@code R0} and the epoch, {@code HSCAN}
 *       reads the hash {@code page_size} entries per command, then the stream's changes after
 *       {@code R0} up to the counter {@code R1} read at the end are replayed on top. Each page is
 *       one command bounded by {@code timeout} and reported to the engine's {@link
 *       ListingProgress}, so a listing of any size finishes as long as each page does; a cancelled
 *       listing reads no further page. A listing fails (and the engine lists again after its
 *       backoff) when the stream no longer holds every change of {@code R0+1..R1} (more than {@code
 *       stream_max_len} changes came while it ran), or the epoch, the server ({@code run_id}) or
 *       the counter's history changed meanwhile.
 *   <li>{@link #watch} subscribes first, then reads the stream from the requested revision, then
 *       follows pub/sub, filling any jump from the stream: it delivers a contiguous sequence, or
 *       reports {@code onCompacted} when the stream no longer holds a revision it needs, or {@code
 *       onError} when the subscription connection drops.
 *   <li>Conditional writes compare the key's mod revision inside the script; strong reads are one
 *       script on the single server, which Redis serves in order with every write.
 *   <li>An unreachable Redis fails every command at once ({@code REJECT_COMMANDS}: nothing is
 *       queued while disconnected), and every command is bounded by {@code timeout}.
 *   <li>{@code write.lua} checks everything that could fail (key types, the counter, the new stream
 *       id against the stream's last id) before its first change: all or nothing.
 *   <li>Every write and counter increment carries a request id ({@code <ns>:req:<id>}, kept for
 *       {@code max(10s, 2 x timeout)}) under which the script remembers its answer. When the
 *       connection is lost while one is in flight, the backend sends the same request again until
 *       Redis answers or {@code timeout} passes: it is applied at most once, and the caller gets
 *       its real answer, or {@code mayHaveCommitted} when none came in time.
 *   <li>Values in {@code <ns>:data} not in Lockstep's envelope (written by another program) are
 *       skipped by listings, fail a strong read of their key, and are counted and named ({@link
 *       #stats()}: {@code undecodableValues}, {@code undecodableKeys}) and logged at WARNING once
 *       per key.
 * </ul>
 *
 * <h2>Non-guarantees</h2>
 *
 * <ul>
 *   <li>Durability is Redis's: an acknowledged write survives a restart only as far as the server's
 *       persistence goes ({@code appendonly yes} with {@code appendfsync always} for no loss;
 *       {@code everysec} may lose about a second on a crash). A failover to a replica may lose
 *       acknowledged writes (replication is asynchronous). Lost writes mean the counter goes back
 *       and revisions are handed out again. {@code <ns>:epoch} (a random id the listing and
 *       catch-up scripts create with {@code SET NX}) is lost with the data, so the next listing or
 *       catch-up reports a new {@link Snapshot#epoch() epoch}, and a catch-up that finds the
 *       counter below where its feed started reports compaction: either way the engine resets to
 *       Redis's state (docs/backends/redis.md, "When Redis loses writes").
 *   <li>A listing under writes finishes only if the stream keeps every change made while it runs:
 *       more than about {@code stream_max_len} changes during one listing fail it, and every retry
 *       alike while the write rate stays that high (raise {@code stream_max_len} or {@code
 *       page_size}). Redis is never blocked for more than one page, but a listing holds the whole
 *       map in this process's memory while it is read (one entry per key, as the replica will).
 *   <li>Sentinel, Cluster and AUTH are not supported yet.
 * </ul>
 *
 * <p>Connections: one multiplexed command connection shared by every operation of this backend,
 * plus one pub/sub connection (Redis serves subscriptions on a connection of their own). Both
 * connect on first use and reconnect by themselves. Thread safe; {@link #close()} closes both.
 */
public final class RedisBackend implements Backend {
  private static final System.Logger LOG = System.getLogger(RedisBackend.class.getName());
  static final int RANGE_BATCH = 1000;
  private static final long MIN_REQUEST_TTL_MILLIS = 10_000;
  private static final long MAX_RESEND_DELAY_MILLIS = 200;
  private static final byte[] OP_PUT = bytes("put");
  private static final byte[] OP_DEL = bytes("del");
  private static final byte[] ANY = bytes(Long.toString(ANY_REVISION));
  private static final byte[] EMPTY = new byte[0];
  private static final byte[] DEFAULT_TYPE = bytes(Versioned.DEFAULT_CONTENT_TYPE);
  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private final RedisSettings settings;
  private final String address;
  private final String ns;
  private final byte[][] dataKeys;
  private final byte[][] listKeys; // rev, data, epoch
  private final byte[][] logKeys;
  private final byte[] channel;
  private final byte[] membersChannel;
  private final byte[] maxLen;
  private final ScanArgs scanArgs;
  private final byte[] requestTtl;
  private final byte[] idempotencyTtl;
  private final byte[] requestPrefix; // <ns>:req:
  private final byte[] rev;
  private final byte[] data;
  private final byte[] log;
  private final UndecodableValues undecodable = new UndecodableValues();
  private final RedisClient client;
  private final RedisURI redisUri;
  private final RedisMembership membership;
  private final ScheduledThreadPoolExecutor housekeeping;
  private final Set<RedisFeed> feeds = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Object connect = new Object();
  private CompletableFuture<StatefulRedisConnection<byte[], byte[]>> commands; // guarded by connect
  private CompletableFuture<StatefulRedisPubSubConnection<byte[], byte[]>>
      pubsub; // guarded by connect
  // The command connection once connected: Lettuce reconnects it by itself, so it stays the one.
  private volatile @Nullable RedisAsyncCommands<byte[], byte[]> connected;

  private RedisBackend(RedisSettings settings, BackendContext context) {
    this.settings = settings;
    this.address = settings.address();
    this.ns = context.keyPrefix();
    byte[] rev = bytes(ns + ":rev");
    byte[] data = bytes(ns + ":data");
    byte[] log = bytes(ns + ":log");
    this.rev = rev;
    this.data = data;
    this.log = log;
    this.requestPrefix = bytes(ns + ":req:");
    byte[] epoch = bytes(ns + ":epoch");
    this.dataKeys = new byte[][] {rev, data};
    this.listKeys = new byte[][] {rev, data, epoch};
    this.logKeys = new byte[][] {rev, log, epoch};
    this.channel = bytes(ns + ":changes");
    this.membersChannel = bytes(ns + ":membership");
    this.maxLen = bytes(Long.toString(settings.streamMaxLen()));
    this.scanArgs = ScanArgs.Builder.limit(settings.pageSize());
    this.requestTtl =
        bytes(Long.toString(Math.max(MIN_REQUEST_TTL_MILLIS, 2 * settings.timeout().toMillis())));
    this.idempotencyTtl = bytes(Long.toString(settings.idempotencyTtl().toMillis()));
    RedisURI.Builder uri =
        RedisURI.builder()
            .withHost(settings.host())
            .withPort(settings.port())
            .withDatabase(settings.database())
            .withSsl(settings.tls())
            .withVerifyPeer(true) // the certificate chain and the host name
            .withTimeout(settings.timeout())
            .withClientName("lockstep-" + context.instanceId());
    RedisAuth.Credentials auth = settings.auth();
    if (auth != null) {
      if (auth.user() == null) {
        uri.withPassword(auth.password().toCharArray());
      } else {
        uri.withAuthentication(auth.user(), auth.password().toCharArray());
      }
    }
    this.redisUri = uri.build();
    this.client = RedisClient.create(SharedResources.acquire(), redisUri);
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .maintNotificationsConfig(
                MaintNotificationsConfig
                    .disabled()) // Redis Enterprise only; logs once per connection
            .disconnectedBehavior(
                ClientOptions.DisconnectedBehavior.REJECT_COMMANDS) // fail fast, queue nothing
            .timeoutOptions(TimeoutOptions.enabled(settings.timeout()))
            .sslOptions(
                settings.tlsFiles() == null
                    ? io.lettuce.core.SslOptions.create()
                    : settings.tlsFiles().sslOptions())
            .socketOptions(
                SocketOptions.builder().connectTimeout(settings.timeout()).keepAlive(true).build())
            .build());
    this.housekeeping = BackendSupport.housekeeping("lockstep-redis-" + context.instanceId());
    this.membership = new RedisMembership(this, ns + ":members:", settings.memberTtl());
  }

  /**
   * Creates a backend; it connects on first use.
   *
   * @throws IllegalArgumentException when the URI is not a valid Redis URI (message names the part)
   */
  public static RedisBackend create(BackendUri uri, BackendContext context) {
    return new RedisBackend(RedisSettings.parse(uri, context), context);
  }

  @Override
  public RevisionModel revisionModel() {
    return RevisionModel.CONTIGUOUS;
  }

  // ---------------------------------------------------------------------------------------------
  // Listing and strong reads
  // ---------------------------------------------------------------------------------------------

  @Override
  public CompletableFuture<Snapshot> snapshot() {
    return snapshot(ListingProgress.NONE);
  }

  /**
   * The listing page by page ({@link RedisListing}), each page reported to {@code progress}; stops
   * once it is cancelled.
   */
  @Override
  public CompletableFuture<Snapshot> snapshot(ListingProgress progress) {
    return new RedisListing(this, progress, beforeListingPage).run();
  }

  /** The listing's first step: {@code {rev, epoch, number of entries}}, read atomically. */
  CompletableFuture<List<Object>> listingStart() {
    return script(RedisScript.SNAPSHOT, listKeys, "listing of " + ns, false, newEpoch());
  }

  /** One page of the listing: {@code HSCAN <ns>:data cursor COUNT page_size}. */
  CompletableFuture<MapScanCursor<byte[], byte[]>> scanPage(ScanCursor cursor) {
    return mapped(
        commands().thenCompose(c -> c.hscan(data, cursor, scanArgs).toCompletableFuture()),
        "listing page of " + ns + ":data",
        false);
  }

  /** The server process's {@code run_id} ({@code INFO server}): another one after a restart. */
  CompletableFuture<String> runId() {
    return mapped(
            commands().thenCompose(c -> c.info("server").toCompletableFuture()),
            "INFO server",
            false)
        .thenApply(
            info -> {
              for (String line : info.split("\r?\n")) {
                if (line.startsWith("run_id:")) {
                  return line.substring("run_id:".length()).trim();
                }
              }
              throw new BackendUnavailableException(
                  "redis INFO server at " + address + " names no run_id", null);
            });
  }

  /**
   * Test hook: called before each listing page with the number of pages read so far; the page is
   * read once the stage it returns completes (it must not block: it runs on Lettuce's threads).
   */
  volatile @Nullable IntFunction<? extends CompletionStage<?>> beforeListingPage;

  /** Counts one undecodable value of {@code key}; true the first time the key is found. */
  boolean foundUndecodable(String key) {
    return undecodable.found(key);
  }

  String namespace() {
    return ns;
  }

  String address() {
    return address;
  }

  long streamMaxLen() {
    return settings.streamMaxLen();
  }

  @Override
  public CompletableFuture<StrongRead> get(String key) {
    return script(RedisScript.GET, dataKeys, "read of '" + key + "'", false, bytes(key))
        .thenApply(
            reply -> {
              long rev = (Long) reply.get(0);
              byte[] env = reply.size() > 1 ? (byte[]) reply.get(1) : null;
              if (env == null) {
                return new StrongRead(null, rev);
              }
              try {
                return new StrongRead(RedisValueCodec.decodeEnvelope(key, env), rev);
              } catch (IllegalArgumentException e) {
                LOG.log(
                    undecodable.found(key) ? Level.WARNING : Level.DEBUG,
                    "strong read of ''{0}'' in {1}: its value is not a Lockstep envelope: {2}",
                    key,
                    ns,
                    e.getMessage());
                throw new LockstepException(
                    "the value of '"
                        + key
                        + "' in "
                        + ns
                        + ":data is not a Lockstep envelope (written outside write.lua?): "
                        + e.getMessage(),
                    e);
              }
            });
  }

  // ---------------------------------------------------------------------------------------------
  // Writes
  // ---------------------------------------------------------------------------------------------

  @Override
  public CompletableFuture<WriteResult> put(
      String key, byte[] value, String contentType, long expectedRevision) {
    return put(key, value, contentType, expectedRevision, null);
  }

  @Override
  public CompletableFuture<WriteResult> put(
      String key,
      byte[] value,
      String contentType,
      long expectedRevision,
      @Nullable String requestId) {
    BackendSupport.checkExpectedRevision(expectedRevision);
    String type = contentType == null ? Versioned.DEFAULT_CONTENT_TYPE : contentType;
    return write(
        key,
        true,
        expectedRevision,
        Versioned.DEFAULT_CONTENT_TYPE.equals(type) ? DEFAULT_TYPE : bytes(type),
        value,
        requestId,
        requestId == null ? null : RequestIds.put(key, value, type, expectedRevision));
  }

  @Override
  public CompletableFuture<WriteResult> delete(
      String key, long expectedRevision, @Nullable String requestId) {
    if (requestId == null) {
      return delete(key, expectedRevision);
    }
    BackendSupport.checkExpectedRevision(expectedRevision);
    return write(
        key,
        false,
        expectedRevision,
        EMPTY,
        EMPTY,
        requestId,
        RequestIds.delete(key, expectedRevision));
  }

  @Override
  public CompletableFuture<WriteResult> delete(String key, long expectedRevision) {
    BackendSupport.checkExpectedRevision(expectedRevision);
    if (expectedRevision == 0) {
      // "Only if absent": there is nothing to delete; a present key is a conflict.
      return get(key)
          .thenApply(
              r ->
                  r.entry() == null
                      ? WriteResult.notFound(r.revision())
                      : WriteResult.conflict(r.entry().modRevision(), r.entry()));
    }
    return write(key, false, expectedRevision, EMPTY, EMPTY, null, null);
  }

  private CompletableFuture<WriteResult> write(
      String key,
      boolean put,
      long expected,
      byte[] type,
      byte[] value,
      @Nullable String requestId,
      @Nullable String fingerprint) {
    String what = (put ? "put" : "delete") + " of '" + key + "'";
    byte[][] keys = {rev, data, log, requestKey(requestId)};
    byte[] op = put ? OP_PUT : OP_DEL;
    byte[] k = bytes(key);
    byte[] exp = expected == ANY_REVISION ? ANY : bytes(Long.toString(expected));
    byte[][] args =
        fingerprint == null
            ? new byte[][] {op, k, exp, type, value, maxLen, channel, requestTtl}
            : new byte[][] {
              op, k, exp, type, value, maxLen, channel, idempotencyTtl, bytes(fingerprint)
            };
    return idempotent(
        () -> script(RedisScript.WRITE, keys, what, true, args),
        reply -> {
          long status = (Long) reply.get(0);
          long rev = (Long) reply.get(1);
          boolean replayed = reply.size() > 3;
          if (status == 4) {
            throw RequestIds.reused(what);
          }
          WriteResult r;
          if (status == 1) {
            r = WriteResult.applied(rev);
          } else if (status == 2) {
            r = WriteResult.notFound(rev);
          } else {
            byte[] env = reply.size() > 2 ? (byte[]) reply.get(2) : null;
            r =
                WriteResult.conflict(
                    rev, env == null ? null : RedisValueCodec.decodeEnvelope(key, env));
          }
          return replayed ? r.asReplay() : r;
        });
  }

  /**
   * The request key of a write or increment: for a client's request id {@code <ns>:idem:<digest>};
   * otherwise a fresh {@code <ns>:req:<id>}, 128 random bits, one per write or increment.
   */
  private byte[] requestKey(@Nullable String requestId) {
    if (requestId != null) {
      return bytes(ns + ":idem:" + RequestIds.digest(requestId));
    }
    ThreadLocalRandom r = ThreadLocalRandom.current();
    int p = requestPrefix.length;
    byte[] out = Arrays.copyOf(requestPrefix, p + 32);
    hex(r.nextLong(), out, p);
    hex(r.nextLong(), out, p + 16);
    return out;
  }

  private static void hex(long v, byte[] out, int at) {
    for (int i = 15; i >= 0; i--) {
      out[at + i] = HEX[(int) (v & 0xf)];
      v >>>= 4;
    }
  }

  /**
   * Runs {@code attempt}, a script call that carries a request id the script remembers, and sends
   * it again (the same call, so the same request id) when its connection was lost after it may have
   * reached Redis: Redis applies it at most once, and the caller gets the first answer rather than
   * "may have committed". Sends again every 10 to 200 ms while the connection is down, until Redis
   * answers or {@code timeout} after the first send; then fails with the first failure, which says
   * the write may have committed.
   */
  private <T> CompletableFuture<T> idempotent(Supplier<CompletableFuture<T>> attempt) {
    return idempotent(attempt, Function.identity());
  }

  /** {@link #idempotent(Supplier)}, with {@code answer} applied to the reply in the same step. */
  private <T, R> CompletableFuture<R> idempotent(
      Supplier<CompletableFuture<T>> attempt, Function<? super T, ? extends R> answer) {
    long deadline = System.nanoTime() + settings.timeout().toNanos();
    CompletableFuture<R> result = new CompletableFuture<>();
    attempt
        .get()
        .whenComplete(
            (v, err) -> {
              if (err == null) {
                answer(result, answer, v);
              } else if (BackendSupport.unwrap(err) instanceof BackendUnavailableException u
                  && u.mayHaveCommitted()) {
                resend(attempt, answer, u, deadline, 10, result);
              } else {
                result.completeExceptionally(BackendSupport.unwrap(err));
              }
            });
    return result;
  }

  private static <T, R> void answer(
      CompletableFuture<R> result, Function<? super T, ? extends R> answer, T reply) {
    R r;
    try {
      r = answer.apply(reply);
    } catch (RuntimeException e) {
      result.completeExceptionally(e);
      return;
    }
    result.complete(r);
  }

  private <T, R> void resend(
      Supplier<CompletableFuture<T>> attempt,
      Function<? super T, ? extends R> answer,
      BackendUnavailableException first,
      long deadline,
      long delayMillis,
      CompletableFuture<R> result) {
    if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMillis) >= deadline
        || closed.get()) {
      result.completeExceptionally(first);
      return;
    }
    Runnable again =
        () ->
            attempt
                .get()
                .whenComplete(
                    (v, err) -> {
                      if (err == null) {
                        answer(result, answer, v);
                      } else if (BackendSupport.anyCause(
                          err, c -> c instanceof RedisCommandExecutionException)) {
                        result.completeExceptionally(first); // an error answer: give up
                      } else {
                        long delay = Math.min(2 * delayMillis, MAX_RESEND_DELAY_MILLIS);
                        resend(attempt, answer, first, deadline, delay, result);
                      }
                    });
    try {
      housekeeping.schedule(again, delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(first); // closed
    }
  }

  /**
   * How many values this backend found undecodable since it started, not in Lockstep's envelope or
   * change-message format (written to {@code <ns>:data} or {@code <ns>:log} by another program): a
   * listing skips them and counts each again, a strong read of one fails and counts it, a stream
   * entry is counted and makes the feed relist. A key is logged at WARNING the first time it is
   * found (of the last 1000 distinct keys), a stream entry each time.
   */
  public long undecodableValues() {
    return undecodable.count();
  }

  /**
   * {@code undecodableValues}: {@link #undecodableValues()}; {@code undecodableKeys}: the map keys
   * of the last 10 distinct undecodable values found in {@code <ns>:data}, the most recent last (a
   * malformed stream entry is counted, not named: its key cannot be read).
   */
  @Override
  public Map<String, Object> stats() {
    Map<String, Object> stats = new LinkedHashMap<>();
    stats.put("undecodableValues", undecodable.count());
    stats.put("undecodableKeys", undecodable.latestKeys());
    return stats;
  }

  /** Counts one malformed stream entry (for the feed). */
  void countUndecodable() {
    undecodable.foundUnnamed();
  }

  // ---------------------------------------------------------------------------------------------
  // Watching
  // ---------------------------------------------------------------------------------------------

  @Override
  public Feed watch(long fromRevision, FeedListener listener) {
    BackendSupport.checkFromRevision(fromRevision);
    RedisFeed feed = new RedisFeed(this, fromRevision, listener);
    if (closed.get()) {
      feed.fail(new IllegalStateException("redis backend closed"));
      return feed;
    }
    feeds.add(feed); // before subscribing: no message after the subscription may be missed
    subscribe()
        .whenComplete(
            (ok, err) -> {
              if (err != null) {
                feed.fail(translate(err, "subscription to " + ns + ":changes", false));
              } else {
                feed.subscribed();
              }
            });
    return feed;
  }

  /** The stream's entries from {@code from} on, at most {@link #RANGE_BATCH}, with the counter. */
  CompletableFuture<List<Object>> range(long from) {
    return script(
        RedisScript.RANGE,
        logKeys,
        "stream read of " + ns + ":log",
        false,
        bytes(Long.toString(from)),
        bytes(Integer.toString(RANGE_BATCH)),
        newEpoch());
  }

  /**
   * A candidate history id: the scripts make it {@code <ns>:epoch} only when that key is missing
   * (SET NX), so the namespace keeps the first one until Redis loses it with the data.
   */
  private static byte[] newEpoch() {
    return bytes(UUID.randomUUID().toString());
  }

  /** The epoch a script answered. */
  static String epochOf(Object reply) {
    return reply instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : Snapshot.NO_EPOCH;
  }

  void forget(RedisFeed feed) {
    feeds.remove(feed);
  }

  private CompletableFuture<Void> subscribe() {
    return pubsub().thenCompose(c -> c.async().subscribe(channel).toCompletableFuture());
  }

  private void onMessage(byte[] message) {
    RedisValueCodec.Message m;
    try {
      m = RedisValueCodec.decodeMessage(message);
    } catch (IllegalArgumentException e) {
      // Not written by the script: the feeds notice the jump it leaves and read the stream.
      LOG.log(
          Level.WARNING, "ignoring a malformed message on {0}:changes: {1}", ns, e.getMessage());
      return;
    }
    for (RedisFeed f : feeds) {
      f.onMessage(m);
    }
  }

  /** Subscribes to the membership channel, {@code <ns>:membership} (for membership watches). */
  CompletableFuture<Void> subscribeMembership() {
    return pubsub().thenCompose(c -> c.async().subscribe(membersChannel).toCompletableFuture());
  }

  /** Tells membership watches that someone registered or left (a hint; its body is the id). */
  CompletableFuture<Long> publishMembership(byte[] id) {
    return commands().thenCompose(c -> c.publish(membersChannel, id).toCompletableFuture());
  }

  private void onPubSubDisconnected() {
    membership.onPubSubDisconnected();
    for (RedisFeed f : List.copyOf(feeds)) {
      f.fail(
          new BackendUnavailableException(
              "redis subscription connection to " + address + " lost", null));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Connections
  // ---------------------------------------------------------------------------------------------

  /** The command connection, connecting now when it never has or the last attempt failed. */
  CompletableFuture<RedisAsyncCommands<byte[], byte[]>> commands() {
    CompletableFuture<StatefulRedisConnection<byte[], byte[]>> c;
    synchronized (connect) {
      if (closed.get()) {
        return CompletableFuture.failedFuture(
            new BackendUnavailableException("redis backend closed", null));
      }
      if (commands == null || commands.isCompletedExceptionally()) {
        commands = client.connectAsync(ByteArrayCodec.INSTANCE, redisUri).toCompletableFuture();
      }
      c = commands;
    }
    return c.thenApply(
        conn -> {
          RedisAsyncCommands<byte[], byte[]> a = conn.async();
          connected = a;
          return a;
        });
  }

  private CompletableFuture<StatefulRedisPubSubConnection<byte[], byte[]>> pubsub() {
    synchronized (connect) {
      if (closed.get()) {
        return CompletableFuture.failedFuture(
            new BackendUnavailableException("redis backend closed", null));
      }
      if (pubsub == null || pubsub.isCompletedExceptionally()) {
        pubsub =
            client
                .connectPubSubAsync(ByteArrayCodec.INSTANCE, redisUri)
                .toCompletableFuture()
                .thenApply(
                    c -> {
                      c.addListener(
                          new RedisPubSubAdapter<byte[], byte[]>() {
                            @Override
                            public void message(byte[] ch, byte[] message) {
                              if (Arrays.equals(ch, channel)) {
                                onMessage(message);
                              } else if (Arrays.equals(ch, membersChannel)) {
                                membership.onMessage();
                              }
                            }
                          });
                      if (c instanceof RedisChannelHandler<?, ?> h) {
                        h.addListener(
                            new RedisConnectionStateListener() {
                              @Override
                              public void onRedisDisconnected(
                                  RedisChannelHandler<?, ?> connection) {
                                onPubSubDisconnected();
                              }
                            });
                      }
                      return c;
                    });
      }
      return pubsub;
    }
  }

  /** Runs a script on the command connection, failing with the SPI's exceptions. */
  CompletableFuture<List<Object>> script(
      RedisScript s, byte[][] keys, String what, boolean write, byte[]... args) {
    RedisAsyncCommands<byte[], byte[]> r = connected;
    if (r == null || closed.get()) {
      return mapped(commands().thenCompose(c -> s.run(c, keys, args)), what, write);
    }
    // Connected: send at once, and answer (NOSCRIPT fallback, error translation) in one step.
    CompletableFuture<List<Object>> out = new CompletableFuture<>();
    s.evalsha(r, keys, args)
        .whenComplete(
            (v, err) -> {
              if (err == null) {
                out.complete(v);
              } else if (RedisErrors.isNoScript(err)) {
                mapped(s.eval(r, keys, args), what, write)
                    .whenComplete(
                        (v2, err2) -> {
                          if (err2 == null) {
                            out.complete(v2);
                          } else {
                            out.completeExceptionally(BackendSupport.unwrap(err2));
                          }
                        });
              } else {
                out.completeExceptionally(translate(err, what, write));
              }
            });
    return out;
  }

  /** The future, failing with the SPI's exceptions. */
  <T> CompletableFuture<T> mapped(CompletableFuture<T> f, String what, boolean write) {
    return BackendSupport.translated(f, t -> translate(t, what, write));
  }

  RuntimeException translate(Throwable t, String what, boolean write) {
    return RedisErrors.translate(t, what, address, write);
  }

  long timeoutMillis() {
    return settings.timeout().toMillis();
  }

  ScheduledFuture<?> scheduleAtFixedRate(Runnable task, long periodMillis) {
    try {
      return housekeeping.scheduleAtFixedRate(
          task, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      return null;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Membership and life cycle
  // ---------------------------------------------------------------------------------------------

  @Override
  public Membership membership() {
    return membership;
  }

  // ---------------------------------------------------------------------------------------------
  // Counters: <ns>:counter:<name>, INCRBY (atomic in Redis, no read-modify-write here)
  // ---------------------------------------------------------------------------------------------

  @Override
  public CounterStore counters() {
    return counters;
  }

  private final CounterStore counters =
      new CounterStore() {
        @Override
        public CompletableFuture<IncrementResult> incrementAndGet(
            String name, long delta, @Nullable String requestId) {
          if (requestId == null) {
            return incrementAndGet(name, delta).thenApply(v -> new IncrementResult(v, false));
          }
          String what = "increment of counter '" + name + "'";
          byte[][] keys = {bytes(ns + ":counter:" + name), requestKey(requestId)};
          return idempotent(
                  () ->
                      script(
                          RedisScript.INCREMENT,
                          keys,
                          what,
                          true,
                          bytes(Long.toString(delta)),
                          idempotencyTtl,
                          bytes(RequestIds.increment(name, delta))))
              .thenApply(
                  reply -> {
                    long flag = (Long) reply.get(1);
                    if (flag == 2) {
                      throw RequestIds.reused(what);
                    }
                    long v =
                        Long.parseLong(
                            new String((byte[]) reply.get(0), StandardCharsets.US_ASCII));
                    return new IncrementResult(v, flag == 1);
                  });
        }

        @Override
        public CompletableFuture<Long> incrementAndGet(String name, long delta) {
          byte[][] keys = {bytes(ns + ":counter:" + name), requestKey(null)};
          return idempotent(
                  () ->
                      script(
                          RedisScript.INCREMENT,
                          keys,
                          "increment of counter '" + name + "'",
                          true,
                          bytes(Long.toString(delta)),
                          requestTtl))
              .thenApply(
                  reply ->
                      Long.parseLong(new String((byte[]) reply.get(0), StandardCharsets.US_ASCII)));
        }

        @Override
        public CompletableFuture<Long> get(String name) {
          return mapped(
                  commands()
                      .thenCompose(
                          r -> r.get(bytes(ns + ":counter:" + name)).toCompletableFuture()),
                  "read of counter '" + name + "'",
                  false)
              .thenApply(
                  v -> v == null ? 0L : Long.parseLong(new String(v, StandardCharsets.US_ASCII)));
        }
      };

  /**
   * Deletes open registrations (bounded by the timeout), stops every feed, closes both connections.
   * Idempotent.
   */
  @Override
  public void close() {
    if (closed.get()) {
      return;
    }
    membership.closeAll();
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    for (RedisFeed f : List.copyOf(feeds)) {
      f.close();
    }
    housekeeping.shutdownNow();
    CompletableFuture<StatefulRedisConnection<byte[], byte[]>> cmd;
    CompletableFuture<StatefulRedisPubSubConnection<byte[], byte[]>> ps;
    synchronized (connect) { // closed is set: nothing connects any more
      cmd = commands;
      ps = pubsub;
    }
    // Outside the lock: a connection's close waits for its event loop, whose callbacks may be
    // waiting for this lock (commands() from a late membership close).
    closeQuietly(cmd);
    closeQuietly(ps);
    try {
      client.shutdown(java.time.Duration.ZERO, settings.timeout());
    } catch (RuntimeException e) {
      LOG.log(Level.DEBUG, "closing the redis client failed", e);
    } finally {
      SharedResources.release();
    }
  }

  private static void closeQuietly(
      CompletableFuture<? extends io.lettuce.core.api.StatefulConnection<?, ?>> f) {
    if (f != null && f.isDone() && !f.isCompletedExceptionally()) {
      try {
        f.join().close();
      } catch (RuntimeException e) {
        LOG.log(Level.DEBUG, "closing a redis connection failed", e);
      }
    }
  }

  @Override
  public String toString() {
    return "RedisBackend[" + address + ", namespace=" + ns + "]";
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Lettuce's event loops and timers, shared by every backend of the JVM (64 replicas in one test
   * JVM would otherwise start 64 thread pools), shut down when the last backend closes.
   */
  private static final class SharedResources {
    private static ClientResources resources;
    private static int users;

    static synchronized ClientResources acquire() {
      if (users++ == 0) {
        resources =
            DefaultClientResources.builder()
                .ioThreadPoolSize(2)
                .computationThreadPoolSize(2)
                .build();
      }
      return resources;
    }

    static synchronized void release() {
      if (--users == 0) {
        resources.shutdown(0, 2, TimeUnit.SECONDS);
        resources = null;
      }
    }
  }
}
