package io.lockstep.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.ReplicaStats;
import io.lockstep.ReplicatedMap;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The routes about the instance and the cluster rather than the values: {@code /health/live},
 * {@code /health/ready}, {@code /stats}, {@code /cluster} and {@code /admin/refresh}.
 */
final class NodeRoutes {
  private final Supplier<Lockstep> node;
  private final ServerSettings settings;
  private final HttpClient peers;

  NodeRoutes(Supplier<Lockstep> node, ServerSettings settings, HttpClient peers) {
    this.node = node;
    this.settings = settings;
    this.peers = peers;
  }

  record Status(String status) {}

  record Ready(String status, long appliedRevision) {}

  /** {@code GET /health/live}: the process answers HTTP. */
  void live(Context ctx) {
    Json.send(ctx, 200, new Status("live"));
  }

  /** {@code GET /health/ready}: 200 once the first listing is applied, else 503. */
  void ready(Context ctx) {
    ReplicatedMap map = node.get().map();
    if (!map.isReady()) {
      throw new ApiException(503, ErrorMapper.NOT_READY, "this instance has not applied its first listing"
          + " yet (applied revision " + map.appliedRevision() + ")");
    }
    Json.send(ctx, 200, new Ready("ready", map.appliedRevision()));
  }

  /** This instance's self-report, the body of {@code GET /stats}. */
  record Stats(String id, String url, String startedAt, long appliedRevision, long headRevision,
      long lagRevisions, long lagMillis, int keys, String digest, long relists, long reconnects,
      long duplicatesDropped, long gaps, boolean ready) {

    static Stats of(Lockstep n) {
      Member self = n.self();
      ReplicaStats s = n.map().stats();
      return new Stats(self.id(), self.url(), self.startedAt().toString(), s.appliedRevision(),
          s.headRevision(), s.lagRevisions(), s.lagMillis(), s.keys(), s.digestHex(), s.relists(),
          s.reconnects(), s.duplicatesDropped(), s.gaps(), s.ready());
    }
  }

  /** {@code GET /stats}. */
  void stats(Context ctx) {
    Json.send(ctx, 200, Stats.of(node.get()));
  }

  /** One member in {@code GET /cluster}: what it reported, or why it could not be asked. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record MemberView(String id, String url, String startedAt, Long appliedRevision, Integer keys,
      String digest, boolean reachable, String error) {

    static MemberView reached(Member m, JsonNode stats) {
      return new MemberView(m.id(), m.url(), m.startedAt().toString(),
          stats.path("appliedRevision").asLong(), stats.path("keys").asInt(),
          stats.path("digest").asText(), true, null);
    }

    static MemberView unreachable(Member m, String error) {
      return new MemberView(m.id(), m.url(), m.startedAt().toString(), null, null, null, false, error);
    }
  }

  record Cluster(String self, List<MemberView> members) {}

  /**
   * {@code GET /cluster}: the registered members, each asked for its {@code /stats} at once and
   * concurrently, each bounded by the peer timeout; sorted by id.
   */
  void cluster(Context ctx) {
    Lockstep n = node.get();
    List<Member> members = n.members().join(); // fails as BackendUnavailableException: 503
    List<CompletableFuture<MemberView>> asks = new ArrayList<>(members.size());
    for (Member m : members) {
      asks.add(ask(m));
    }
    List<MemberView> views = new ArrayList<>(asks.size());
    for (CompletableFuture<MemberView> f : asks) {
      views.add(f.join()); // never fails: ask() turns every failure into an unreachable view
    }
    views.sort(Comparator.comparing(MemberView::id));
    Json.send(ctx, 200, new Cluster(n.self().id(), views));
  }

  private CompletableFuture<MemberView> ask(Member m) {
    if (m.url().isBlank()) {
      return CompletableFuture.completedFuture(MemberView.unreachable(m, "no URL registered"));
    }
    HttpRequest request;
    try {
      String base = m.url().endsWith("/") ? m.url().substring(0, m.url().length() - 1) : m.url();
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/stats"))
          .timeout(settings.peerTimeout()).GET();
      if (settings.authToken() != null) {
        b.header(Headers.AUTHORIZATION, "Bearer " + settings.authToken());
      }
      request = b.build();
    } catch (IllegalArgumentException e) {
      return CompletableFuture.completedFuture(MemberView.unreachable(m, "bad URL: " + e.getMessage()));
    }
    Duration bound = settings.peerTimeout().plusMillis(250); // the request timeout covers headers only
    return peers.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
        .orTimeout(bound.toMillis(), TimeUnit.MILLISECONDS)
        .handle((resp, err) -> {
          if (err != null) {
            Throwable t = ErrorMapper.unwrap(err);
            return MemberView.unreachable(m, t instanceof TimeoutException || t instanceof java.net.http.HttpTimeoutException
                ? "no answer within " + settings.peerTimeout().toMillis() + " ms" : t.toString());
          }
          if (resp.statusCode() != 200) {
            return MemberView.unreachable(m, "GET /stats answered HTTP " + resp.statusCode());
          }
          try {
            return MemberView.reached(m, Json.MAPPER.readTree(resp.body()));
          } catch (IOException e) {
            return MemberView.unreachable(m, "GET /stats answered something other than JSON: " + e.getMessage());
          }
        });
  }

  record Refreshed(long revision) {}

  /** {@code POST /admin/refresh}: re-list from the source now; answers the listing's revision. */
  void refresh(Context ctx) {
    Duration bound = settings.maxWait();
    try {
      long revision = node.get().map().refresh().get(bound.toNanos(), TimeUnit.NANOSECONDS);
      Json.send(ctx, 200, new Refreshed(revision));
    } catch (TimeoutException e) {
      throw new ApiException(503, ErrorMapper.BACKEND_UNAVAILABLE, "the re-listing did not complete within "
          + bound.toMillis() + " ms (is the backend reachable?); this instance keeps retrying");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiException(503, ErrorMapper.BACKEND_UNAVAILABLE, "interrupted while re-listing");
    } catch (ExecutionException e) {
      throw new IllegalStateException("re-listing failed", e.getCause());
    }
  }
}
