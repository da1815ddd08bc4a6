package io.lockstep.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.lockstep.Durations;
import io.lockstep.GroupStats;
import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.NearStats;
import io.lockstep.ReplicaStats;
import io.lockstep.ReplicatedMap;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The routes about the instance and the cluster rather than the values: {@code /health/live},
 * {@code /health/ready}, {@code /stats}, {@code /cluster}, {@code /admin/refresh} and {@code
 * /admin/await}.
 */
final class NodeRoutes {
  static final String REVISION = "revision";
  static final String TIMEOUT = "timeout";
  private static final Set<String> AWAIT_PARAMS = Set.of(REVISION, TIMEOUT);

  private final Supplier<Lockstep> node;
  private final ServerSettings settings;
  private final Peers peers;
  private final CloudFoundry.Application application;
  private final Drain drain;
  private final LongPolls polls;
  private final Supplier<Map<String, GroupStats>> groups;
  private final Supplier<DriftRoutes.Stats> reconcile;
  private final Recent<Cluster> clusterView;
  private volatile boolean watchingMembers;
  private final Recent<Long> refreshing;

  NodeRoutes(
      Supplier<Lockstep> node,
      ServerSettings settings,
      Peers peers,
      CloudFoundry.Application application,
      Drain drain,
      LongPolls polls,
      Supplier<Map<String, GroupStats>> groups,
      Supplier<DriftRoutes.Stats> reconcile) {
    this.groups = groups;
    this.reconcile = reconcile;
    this.drain = drain;
    this.node = node;
    this.settings = settings;
    this.peers = peers;
    this.application = application;
    this.polls = polls;
    // A flood of /cluster calls asks the members once per period, not once per call.
    this.clusterView = new Recent<>(this::askMembers, settings.limits().clusterCacheTtl());
    // Concurrent /admin/refresh calls share one re-listing.
    this.refreshing = new Recent<>(() -> node.get().map().replica().refresh(), Duration.ZERO);
  }

  record Status(String status) {}

  record Ready(String status, long appliedRevision) {}

  /** {@code GET /health/live}: the process answers HTTP. */
  void live(Context ctx) {
    Json.send(ctx, 200, new Status("live"));
  }

  /**
   * {@code GET /health/ready}: 200 once the first listing is applied, else 503; 503 with {@code
   * Retry-After} again once the server is stopping.
   */
  void ready(Context ctx) {
    if (drain.draining()) {
      throw Drain.stopping("not ready");
    }
    ReplicatedMap map = node.get().map();
    if (!map.replica().isReady()) {
      throw new ApiException(
          503,
          ErrorMapper.NOT_READY,
          "this instance has not applied its first listing"
              + " yet (applied revision "
              + map.replica().appliedRevision()
              + ")");
    }
    Json.send(ctx, 200, new Ready("ready", map.replica().appliedRevision()));
  }

  /**
   * This instance's self-report, the body of {@code GET /stats}: the replica's stats, with {@code
   * epoch} the history the last listing belonged to ("" when none) and {@code backend} the
   * backend's own figures ({@link io.lockstep.ReplicaStats#backend()}, {@code {}} when none);
   * {@code mode} {@code full} or {@code near}, and in near mode {@code near} the held keys, the
   * bound, hits, misses and loads ({@link NearStats}); {@code application} (from {@code
   * VCAP_APPLICATION}) only when present.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Stats(
      String id,
      String url,
      String startedAt,
      long appliedRevision,
      long headRevision,
      long lagRevisions,
      long lagMillis,
      int keys,
      String digest,
      long relists,
      long reconnects,
      long duplicatesDropped,
      long gaps,
      long listenerFailures,
      long resets,
      int waiters,
      long pendingChanges,
      long peakPendingChanges,
      long feedPauses,
      String epoch,
      boolean ready,
      String mode,
      NearStats near,
      Map<String, Object> backend,
      CloudFoundry.Application application,
      Map<String, GroupStats> groups,
      DriftRoutes.Stats reconcile) {

    static Stats of(
        Lockstep n,
        CloudFoundry.Application application,
        Map<String, GroupStats> groups,
        DriftRoutes.Stats reconcile) {
      Member self = n.self();
      ReplicaStats s = n.map().replica().stats();
      return new Stats(
          self.id(),
          self.url(),
          self.startedAt().toString(),
          s.appliedRevision(),
          s.headRevision(),
          s.lagRevisions(),
          s.lagMillis(),
          s.keys(),
          s.digestHex(),
          s.relists(),
          s.reconnects(),
          s.duplicatesDropped(),
          s.gaps(),
          s.listenerFailures(),
          s.resets(),
          s.waiters(),
          s.pendingChanges(),
          s.peakPendingChanges(),
          s.feedPauses(),
          s.epoch(),
          s.ready(),
          s.near() == null ? "full" : "near",
          s.near(),
          s.backend(),
          application,
          groups,
          reconcile);
    }
  }

  /** {@code GET /stats}. */
  void stats(Context ctx) {
    Json.send(ctx, 200, Stats.of(node.get(), application, groups.get(), reconcile.get()));
  }

  /**
   * The body of {@code GET /_lockstep/replica}: what {@link Lockstep#fleet()} asks each member
   * ({@link io.lockstep.FleetStatus#REPLICA_PATH}).
   */
  record ReplicaAnswer(String member, long appliedRevision, long headRevision) {}

  /** {@code GET /_lockstep/replica}: this member's applied revision, for a peer's fleet(). */
  void replica(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    Lockstep n = node.get();
    ReplicaStats r = n.map().replica().stats();
    ctx.header("Cache-Control", "no-store");
    Json.send(ctx, 200, new ReplicaAnswer(n.self().id(), r.appliedRevision(), r.headRevision()));
  }

  /** One member in {@code GET /cluster}: what it reported, or why it could not be asked. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record MemberView(
      String id,
      String url,
      String startedAt,
      Long appliedRevision,
      Integer keys,
      String digest,
      Long resets,
      String epoch,
      boolean reachable,
      String error,
      Long dataLoaderCalls) {

    static MemberView reached(Member m, JsonNode stats) {
      return new MemberView(
          m.id(),
          m.url(),
          m.startedAt().toString(),
          stats.path("appliedRevision").asLong(),
          stats.path("keys").asInt(),
          stats.path("digest").asText(),
          stats.path("resets").asLong(),
          stats.path("epoch").isTextual() ? stats.path("epoch").asText() : null,
          true,
          null,
          loaderCalls(stats.path("groups").path(GroupRoutes.DATA)));
    }

    /** The loader calls a member's group made (successful and failed), if it reported the group. */
    private static @org.jspecify.annotations.Nullable Long loaderCalls(JsonNode group) {
      return group.isObject()
          ? group.path("localLoads").asLong() + group.path("localLoadErrors").asLong()
          : null;
    }

    static MemberView unreachable(Member m, String error) {
      return new MemberView(
          m.id(),
          m.url(),
          m.startedAt().toString(),
          null,
          null,
          null,
          null,
          null,
          false,
          error,
          null);
    }
  }

  /** The body of {@code GET /cluster}; {@code application} (this instance's) only when present. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Cluster(String self, CloudFoundry.Application application, List<MemberView> members) {}

  /**
   * {@code GET /cluster}: the registered members, each asked for its {@code /stats} at once and
   * concurrently, each bounded by the peer timeout; sorted by id.
   */
  void cluster(Context ctx) {
    watchMembersOnce();
    Json.send(ctx, 200, clusterView.get().join()); // fails as BackendUnavailableException: 503
  }

  /**
   * The cached {@code /cluster} answer is dropped as soon as a member joins or leaves, so the cache
   * bounds the fan-out of a flood of calls without hiding a departure for its whole period. The
   * watch ends with the node.
   */
  private void watchMembersOnce() {
    if (!watchingMembers) {
      synchronized (this) {
        if (!watchingMembers) {
          // The watch's first call gives the list as it is: not a change.
          java.util.concurrent.atomic.AtomicBoolean first =
              new java.util.concurrent.atomic.AtomicBoolean(true);
          node.get()
              .watchMembers(
                  members -> {
                    if (!first.getAndSet(false)) {
                      clusterView.invalidate();
                    }
                  });
          watchingMembers = true;
        }
      }
    }
  }

  /** Asks every registered member for its {@code /stats}, concurrently. */
  private CompletableFuture<Cluster> askMembers() {
    Lockstep n = node.get();
    return n.members()
        .thenCompose(
            members -> {
              List<CompletableFuture<MemberView>> asks = new ArrayList<>(members.size());
              for (Member m : members) {
                asks.add(ask(m));
              }
              // never fails: ask() turns every failure into an unreachable view
              return CompletableFuture.allOf(asks.toArray(CompletableFuture<?>[]::new))
                  .thenApply(
                      done -> {
                        List<MemberView> views = new ArrayList<>(asks.size());
                        for (CompletableFuture<MemberView> f : asks) {
                          views.add(f.join());
                        }
                        views.sort(Comparator.comparing(MemberView::id));
                        return new Cluster(n.self().id(), application, views);
                      });
            });
  }

  private CompletableFuture<MemberView> ask(Member m) {
    return peers
        .get(m, "/stats", settings.peerTimeout())
        .thenApply(
            reply -> {
              if (!reply.answered()) {
                return MemberView.unreachable(m, reply.failure());
              }
              if (reply.status() != 200) {
                return MemberView.unreachable(
                    m,
                    "GET /stats answered HTTP "
                        + reply.status()
                        + (reply.status() == 401 || reply.status() == 403
                            ? " (give every member the same cluster secret)"
                            : ""));
              }
              try {
                return MemberView.reached(m, Json.MAPPER.readTree(reply.body()));
              } catch (IOException e) {
                return MemberView.unreachable(
                    m, "GET /stats answered something other than JSON: " + e.getMessage());
              }
            });
  }

  record Refreshed(long revision) {}

  /** {@code POST /admin/refresh}: re-list from the source now; answers the listing's revision. */
  void refresh(Context ctx) {
    var unused = node.get(); // 503 while the node is not open
    Duration bound = settings.maxWait();
    try {
      long revision = refreshing.get().get(bound.toNanos(), TimeUnit.NANOSECONDS);
      Json.send(ctx, 200, new Refreshed(revision));
    } catch (TimeoutException e) {
      throw new ApiException(
          503,
          ErrorMapper.BACKEND_UNAVAILABLE,
          "the re-listing did not complete within "
              + bound.toMillis()
              + " ms (is the backend reachable?); this instance keeps retrying");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiException(503, ErrorMapper.BACKEND_UNAVAILABLE, "interrupted while re-listing");
    } catch (ExecutionException e) {
      throw new IllegalStateException("re-listing failed", e.getCause());
    }
  }

  /** The answer of {@code GET /admin/await}. */
  record Awaited(String id, long revision, long appliedRevision) {}

  /**
   * {@code GET /admin/await?revision=R&timeout=D}: answers once this instance has applied revision
   * {@code R}, waiting at most {@code D} (default and ceiling: the server's max wait); then 504.
   * What {@code /api/v1/refresh} asks every member.
   */
  void await(Context ctx) {
    Requests.onlyParams(ctx, AWAIT_PARAMS);
    OptionalLong revision = Requests.nonNegativeLong(ctx, REVISION);
    if (revision.isEmpty()) {
      throw ApiException.badRequest(
          "query parameter '" + REVISION + "' is required: the revision to wait for");
    }
    Duration bound = settings.maxWait();
    String raw = ctx.queryParam(TIMEOUT);
    if (raw != null) {
      Duration asked;
      try {
        asked = Durations.parse(raw);
      } catch (RuntimeException e) {
        throw ApiException.badRequest("query parameter '" + TIMEOUT + "': " + e.getMessage());
      }
      if (asked.compareTo(bound) < 0) {
        bound = asked;
      }
    }
    Lockstep n = node.get();
    ReplicatedMap map = n.map();
    ConfigRoutes.awaitApplied(map, revision.getAsLong(), bound, REVISION, drain, polls);
    Json.send(
        ctx,
        200,
        new Awaited(n.self().id(), revision.getAsLong(), map.replica().appliedRevision()));
  }
}
