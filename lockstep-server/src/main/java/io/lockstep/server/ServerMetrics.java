package io.lockstep.server;

import io.javalin.http.Context;
import io.lockstep.BackendCallObserver;
import io.lockstep.GroupStats;
import io.lockstep.Lockstep;
import io.lockstep.NearStats;
import io.lockstep.ReplicaStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/**
 * This server's meters on a Prometheus registry of its own, served at {@code GET /metrics} in the
 * Prometheus text format: HTTP request timers (by method, route template and status class), the
 * replica's figures (read from {@link ReplicaStats} at scrape time), backend call timers (the node
 * reports each call through {@link BackendCallObserver}), counter flushes, and the JVM's. Every
 * meter is listed in {@code docs/operations.md}. Thread safe.
 */
final class ServerMetrics implements BackendCallObserver, AutoCloseable {
  /** The content type of the Prometheus text format, version 0.0.4. */
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** The histogram buckets of every timer: 13 fixed bounds, 1 ms to 10 s (and +Inf). */
  private static final Duration[] BUCKETS =
      java.util.stream.LongStream.of(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
          .mapToObj(Duration::ofMillis)
          .toArray(Duration[]::new);

  private static final java.util.Set<String> KNOWN_METHODS =
      java.util.Set.of("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "TRACE");
  private static final long STATS_MAX_AGE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ConcurrentHashMap<String, Timer> requestTimers = new ConcurrentHashMap<>();
  private final Map<Call, Timer> backendOk = new EnumMap<>(Call.class);
  private final Map<Call, Timer> backendFailed = new EnumMap<>(Call.class);
  private final Counter feedErrors;
  private final Timer flushesOk;
  private final Timer flushesFailed;
  private final DistributionSummary flushIncrements;
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final List<Supplier<@Nullable GroupStats>> groupStats = new CopyOnWriteArrayList<>();
  private volatile @Nullable ReplicaStats lastStats;
  private volatile @Nullable Supplier<@Nullable ReplicaStats> replicaStats;
  private volatile long lastStatsNanos;

  ServerMetrics() {
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    for (Call c : Call.values()) {
      backendOk.put(c, backendTimer(c, "success"));
      backendFailed.put(c, backendTimer(c, "failure"));
    }
    feedErrors =
        Counter.builder("lockstep.backend.feed.errors")
            .description("Times the change feed broke; each is resumed after a backoff")
            .register(registry);
    flushesOk = flushTimer("success");
    flushesFailed = flushTimer("failure");
    flushIncrements =
        DistributionSummary.builder("lockstep.counter.flush.increments")
            .description("Increments sent together by one batched counter flush")
            .register(registry);
  }

  private Timer backendTimer(Call c, String outcome) {
    return Timer.builder("lockstep.backend.calls")
        .description("Calls to the backend, by kind and outcome")
        .tag("call", c.name().toLowerCase(Locale.ROOT))
        .tag("outcome", outcome)
        .serviceLevelObjectives(BUCKETS)
        .register(registry);
  }

  private Timer flushTimer(String outcome) {
    return Timer.builder("lockstep.counter.flushes")
        .description("Batched counter flushes (one backend increment each), by outcome")
        .tag("outcome", outcome)
        .register(registry);
  }

  /** The replica's figures, read from {@code node} (null while it is not open yet: NaN). */
  void bindReplica(Supplier<@Nullable Lockstep> node) {
    Supplier<@Nullable ReplicaStats> stats = () -> stats(node);
    replicaStats = stats; // meters hold their state weakly: this keeps it
    gauge(
        "lockstep.replica.applied.revision",
        "Last revision applied here",
        stats,
        s -> s.appliedRevision());
    gauge(
        "lockstep.replica.head.revision",
        "Newest revision the source reported",
        stats,
        s -> s.headRevision());
    gauge(
        "lockstep.replica.lag.revisions",
        "Head revision minus applied revision",
        stats,
        s -> s.lagRevisions());
    TimeGauge.builder(
            "lockstep.replica.lag",
            stats,
            TimeUnit.MILLISECONDS,
            sup -> value(sup, s -> s.lagMillis()))
        .description("How long the oldest change not yet applied has been waiting")
        .register(registry);
    gauge("lockstep.replica.keys", "Keys in memory", stats, s -> s.keys());
    gauge(
        "lockstep.replica.waiters",
        "Reads and writes waiting for a revision",
        stats,
        s -> s.waiters());
    gauge(
        "lockstep.replica.pending.changes",
        "Changes received and not yet applied (queue depth)",
        stats,
        s -> s.pendingChanges());
    gauge(
        "lockstep.replica.pending.changes.peak",
        "Most changes ever waiting to be applied",
        stats,
        s -> s.peakPendingChanges());
    gauge(
        "lockstep.replica.ready",
        "1 once the first listing is applied, else 0",
        stats,
        s -> s.ready() ? 1 : 0);
    counter("lockstep.replica.relists", "Re-listings from the source", stats, s -> s.relists());
    counter(
        "lockstep.replica.gaps",
        "Revision gaps seen on the feed (each causes a re-listing)",
        stats,
        s -> s.gaps());
    counter(
        "lockstep.replica.resets",
        "Times the source's history went backwards and the replica reset",
        stats,
        s -> s.resets());
    counter("lockstep.replica.reconnects", "Feed reconnects", stats, s -> s.reconnects());
    counter(
        "lockstep.replica.listener.failures",
        "Change listener calls that threw",
        stats,
        s -> s.listenerFailures());
    counter(
        "lockstep.replica.feed.pauses",
        "Feed pauses because too many changes were waiting",
        stats,
        s -> s.feedPauses());
    counter(
        "lockstep.replica.duplicates.dropped",
        "Revisions the feed delivered twice, dropped",
        stats,
        s -> s.duplicatesDropped());
  }

  /**
   * The drift checks run on this instance ({@code POST /admin/reconcile} and {@code
   * --reconcile-every}): {@code lockstep_reconcile_runs_total}, {@code
   * lockstep_reconcile_failures_total}, {@code lockstep_reconcile_drifted_keys_total}, {@code
   * lockstep_reconcile_repaired_keys_total}.
   */
  void bindReconcile(DriftRoutes drift) {
    FunctionCounter.builder("lockstep.reconcile.runs", drift, d -> d.runs())
        .description("Drift checks of this replica against the source")
        .register(registry);
    FunctionCounter.builder("lockstep.reconcile.failures", drift, d -> d.failures())
        .description("Drift checks that failed (source unreachable, timeout)")
        .register(registry);
    FunctionCounter.builder("lockstep.reconcile.drifted.keys", drift, d -> d.driftedKeys())
        .description("Keys found different from the source by drift checks")
        .register(registry);
    FunctionCounter.builder("lockstep.reconcile.repaired.keys", drift, d -> d.repairedKeys())
        .description("Drifted keys repaired from the source")
        .register(registry);
  }

  /**
   * The near-mode figures ({@link ReplicaStats#near()}), as {@code /stats} shows them under {@code
   * near}. Bound once the node is open, and only in near mode; needs {@link #bindReplica} first.
   */
  void bindNear() {
    Supplier<@Nullable ReplicaStats> stats = replicaStats;
    if (stats == null) {
      return;
    }
    gauge(
        "lockstep.replica.near.held.keys", "Keys held (near mode)", stats, near(n -> n.heldKeys()));
    gauge(
        "lockstep.replica.near.max.keys",
        "The bound on the keys held (near mode; 0 when bounded by bytes)",
        stats,
        near(n -> n.maxKeys()));
    counter("lockstep.replica.near.hits", "Reads answered from memory", stats, near(n -> n.hits()));
    counter(
        "lockstep.replica.near.misses", "Reads of a key not held", stats, near(n -> n.misses()));
    counter(
        "lockstep.replica.near.loads",
        "Strong reads sent to the source for misses",
        stats,
        near(n -> n.loads()));
    counter(
        "lockstep.replica.near.load.failures",
        "Loads that failed",
        stats,
        near(n -> n.loadFailures()));
    counter(
        "lockstep.replica.near.stale.loads.dropped",
        "Loads not kept: a newer change went by, or a listing dropped the keys held",
        stats,
        near(n -> n.staleLoadsDropped()));
    counter(
        "lockstep.replica.near.evictions",
        "Keys dropped to stay within the bound",
        stats,
        near(n -> n.evictions()));
  }

  private static ToDoubleFunction<ReplicaStats> near(ToDoubleFunction<NearStats> f) {
    return s -> s.near() == null ? Double.NaN : f.applyAsDouble(s.near());
  }

  private void gauge(
      String name,
      String help,
      Supplier<@Nullable ReplicaStats> stats,
      ToDoubleFunction<ReplicaStats> f) {
    Gauge.builder(name, stats, sup -> value(sup, f)).description(help).register(registry);
  }

  private void counter(
      String name,
      String help,
      Supplier<@Nullable ReplicaStats> stats,
      ToDoubleFunction<ReplicaStats> f) {
    FunctionCounter.builder(name, stats, sup -> value(sup, f)).description(help).register(registry);
  }

  private static double value(
      Supplier<@Nullable ReplicaStats> sup, ToDoubleFunction<ReplicaStats> f) {
    ReplicaStats s = sup.get();
    return s == null ? Double.NaN : f.applyAsDouble(s);
  }

  /**
   * The loading groups' figures (as {@code /stats} shows them under {@code groups}), tagged with
   * the group's name: a counter per groupcache figure and a gauge per cache's items and bytes. A
   * group not open yet reads NaN.
   */
  void bindGroup(String group, Supplier<@Nullable GroupStats> stats) {
    groupStats.add(stats); // meters hold their state weakly: this keeps it
    groupCounter(group, "gets", "Group gets, and peer requests served", stats, GroupStats::gets);
    groupCounter(
        group, "cache.hits", "Gets answered from the main or hot cache", stats, s -> s.cacheHits());
    groupCounter(group, "peer.loads", "Values fetched from their owner", stats, s -> s.peerLoads());
    groupCounter(
        group,
        "peer.errors",
        "Failed fetches from an owner (then loaded here)",
        stats,
        s -> s.peerErrors());
    groupCounter(group, "loads", "Gets that missed both caches", stats, s -> s.loads());
    groupCounter(
        group,
        "loads.deduped",
        "Fetches and loads that ran after single-flight",
        stats,
        s -> s.loadsDeduped());
    groupCounter(
        group, "local.loads", "Loader calls here that succeeded", stats, s -> s.localLoads());
    groupCounter(
        group,
        "local.load.errors",
        "Loader calls here that failed or passed the deadline",
        stats,
        s -> s.localLoadErrors());
    groupCounter(group, "server.requests", "Gets served to peers", stats, s -> s.serverRequests());
    for (String cache : List.of("main", "hot")) {
      ToDoubleFunction<GroupStats> items = s -> (cache.equals("main") ? s.main() : s.hot()).items();
      ToDoubleFunction<GroupStats> bytes = s -> (cache.equals("main") ? s.main() : s.hot()).bytes();
      Gauge.builder("lockstep.group.cache.items", stats, sup -> groupValue(sup, items))
          .description("Entries held in a group's cache")
          .tag("group", group)
          .tag("cache", cache)
          .register(registry);
      Gauge.builder("lockstep.group.cache.bytes", stats, sup -> groupValue(sup, bytes))
          .description("Weight of a group's cache: value + key length + overhead per entry")
          .tag("group", group)
          .tag("cache", cache)
          .baseUnit("bytes")
          .register(registry);
    }
  }

  private void groupCounter(
      String group,
      String name,
      String help,
      Supplier<@Nullable GroupStats> stats,
      ToDoubleFunction<GroupStats> f) {
    FunctionCounter.builder("lockstep.group." + name, stats, sup -> groupValue(sup, f))
        .description(help)
        .tag("group", group)
        .register(registry);
  }

  private static double groupValue(
      Supplier<@Nullable GroupStats> sup, ToDoubleFunction<GroupStats> f) {
    GroupStats s = sup.get();
    return s == null ? Double.NaN : f.applyAsDouble(s);
  }

  /** One stats object per scrape (at most 100 ms old), not one per meter. */
  private @Nullable ReplicaStats stats(Supplier<@Nullable Lockstep> node) {
    long now = System.nanoTime();
    ReplicaStats s = lastStats;
    if (s != null && now - lastStatsNanos < STATS_MAX_AGE_NANOS) {
      return s;
    }
    Lockstep n = node.get();
    if (n == null) {
      return null;
    }
    s = n.map().replica().stats();
    lastStats = s;
    lastStatsNanos = now;
    return s;
  }

  /** One answered request; {@code route} is the route template, never the path itself. */
  void request(String requestMethod, String route, int status, long nanos) {
    // A client names the method: only the known ones become tag values.
    String method = KNOWN_METHODS.contains(requestMethod) ? requestMethod : "OTHER";
    String statusClass = status >= 100 && status < 600 ? (status / 100) + "xx" : "other";
    String k = method + ' ' + route + ' ' + statusClass;
    Timer t = requestTimers.get(k);
    if (t == null) {
      t =
          requestTimers.computeIfAbsent(
              k,
              x ->
                  Timer.builder("lockstep.http.requests")
                      .description(
                          "HTTP requests answered, by method, route template and status class")
                      .tag("method", method)
                      .tag("route", route)
                      .tag("status", statusClass)
                      .serviceLevelObjectives(BUCKETS)
                      .register(registry));
    }
    t.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void called(Call call, long nanos, boolean failed) {
    (failed ? backendFailed : backendOk).get(call).record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void feedBroke() {
    feedErrors.increment();
  }

  @Override
  public void counterFlushed(int increments, long nanos, boolean failed) {
    (failed ? flushesFailed : flushesOk).record(nanos, TimeUnit.NANOSECONDS);
    flushIncrements.record(increments);
  }

  /** {@code GET /metrics}: every meter in the Prometheus text format. */
  void scrape(Context ctx) {
    ctx.status(200).contentType(CONTENT_TYPE).result(registry.scrape());
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }
}
