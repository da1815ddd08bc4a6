package io.lockstep.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.javalin.http.Context;
import io.lockstep.GroupAnswer;
import io.lockstep.GroupLoadException;
import io.lockstep.GroupOptions;
import io.lockstep.GroupStats;
import io.lockstep.Loaded;
import io.lockstep.LoadingGroup;
import io.lockstep.Lockstep;
import io.lockstep.RemoveResult;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The loading groups of a server: the peer protocol ({@code GET} and {@code DELETE
 * /_lockstep/groups/{group}/<key>}, to {@link LoadingGroup#serve} and {@link
 * LoadingGroup#serveRemove}), and the groupcache example's demo group {@value #DATA} behind {@code
 * GET /data/<id>} (a loader that sleeps {@link DataGroupSettings#delay()} and answers the id and
 * the instant of the load), {@code DELETE /data/<id>} and {@code GET /stats/hot|main}.
 *
 * <p>Members are the node's (each advertising this server's URL), or a fixed list from the
 * environment: {@code PEERS_SELF} (this instance's URL) and {@code PEERS_SET} (every member's URL,
 * comma-separated), as the example reads them. Peer calls carry the cluster secret.
 */
final class GroupRoutes implements AutoCloseable {
  /** The demo group's name. */
  static final String DATA = "data";

  static final String PEERS_SELF = "PEERS_SELF";
  static final String PEERS_SET = "PEERS_SET";

  private final Map<String, LoadingGroup> groups = new ConcurrentHashMap<>();

  /** The body of {@code GET /data/<id>}, as the example's {@code Data}. */
  record Data(String guid, @JsonProperty("date_created") String dateCreated) {}

  /** The body of a {@code DELETE /data/<id>} some member did not confirm. */
  record Removed(String guid, List<String> reached, List<String> missed) {}

  /** Opens the demo group on {@code node}; called once the node is open. */
  void open(Lockstep node, ServerSettings settings) {
    DataGroupSettings data = settings.dataGroup();
    GroupOptions.Builder options =
        GroupOptions.builder()
            .defaultTtl(data.ttl())
            .peerDeadline(data.peerDeadline())
            .peerSecret(settings.access().clusterSecret());
    String self = settings.environment().get(PEERS_SELF);
    String set = settings.environment().get(PEERS_SET);
    if (self != null && !self.isBlank() && set != null && !set.isBlank()) {
      List<String> peers = new ArrayList<>();
      for (String p : set.split(",")) {
        if (!p.isBlank()) {
          peers.add(p.strip());
        }
      }
      options.staticPeers(self.strip(), peers);
    }
    Duration delay = data.delay();
    LoadingGroup group =
        node.group(
            DATA,
            id -> {
              if (!delay.isZero()) {
                Thread.sleep(delay);
              }
              return Loaded.of(Json.bytes(new Data(id, Instant.now().toString())), data.ttl());
            },
            options.build());
    groups.put(DATA, group);
  }

  /** Every open group's figures, by name (sorted). */
  Map<String, GroupStats> stats() {
    Map<String, GroupStats> out = new TreeMap<>();
    groups.forEach((name, g) -> out.put(name, g.stats()));
    return out;
  }

  private LoadingGroup data() {
    LoadingGroup g = groups.get(DATA);
    if (g == null) {
      throw new ApiException(503, ErrorMapper.NOT_READY, "the data group is not open yet");
    }
    return g;
  }

  /** {@code GET /data/<id>}: the entry, loaded once per cluster on the id's owner. */
  void getData(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    String id = ctx.pathParam("key");
    byte[] value;
    try {
      value = data().get(id).join();
    } catch (RuntimeException e) {
      Throwable t = ErrorMapper.unwrap(e);
      if (t instanceof GroupLoadException g) {
        throw new ApiException(502, "load_failed", String.valueOf(g.getMessage()));
      }
      throw t instanceof RuntimeException r ? r : e;
    }
    ctx.status(200).contentType(Json.CONTENT_TYPE).result(value);
  }

  /**
   * {@code DELETE /data/<id>}: drops the id on every member; 204 when every member confirmed, else
   * 200 naming those that did not.
   */
  void deleteData(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    String id = ctx.pathParam("key");
    RemoveResult r;
    try {
      r = data().remove(id).join();
    } catch (RuntimeException e) {
      Throwable t = ErrorMapper.unwrap(e);
      throw t instanceof RuntimeException re ? re : e;
    }
    if (r.complete()) {
      ctx.status(204);
    } else {
      Json.send(ctx, 200, new Removed(id, r.reached(), r.missed()));
    }
  }

  /** {@code GET /stats/{name}}: {@code hot} or {@code main}, the data group's cache; else 400. */
  void cacheStats(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    String name = ctx.pathParam("name");
    GroupStats s = data().stats();
    switch (name) {
      case "hot" -> Json.send(ctx, 200, s.hot());
      case "main" -> Json.send(ctx, 200, s.main());
      default ->
          throw ApiException.badRequest(
              "unknown cache '" + name + "'; expected hot or main (or /stats, /stats/requests)");
    }
  }

  private @Nullable LoadingGroup peerGroup(Context ctx) {
    LoadingGroup g = groups.get(ctx.pathParam("group"));
    if (g == null) {
      peerError(ctx, 404, ErrorMapper.NOT_FOUND, "no group named '" + ctx.pathParam("group") + "'");
      return null;
    }
    if (!g.authorized(ctx.header(Headers.AUTHORIZATION))) {
      peerError(ctx, 401, ErrorMapper.UNAUTHORIZED, "this route needs the cluster secret");
      return null;
    }
    return g;
  }

  /** {@code GET /_lockstep/groups/{group}/<key>}: a peer asks for a value. */
  void peerGet(Context ctx) {
    LoadingGroup g = peerGroup(ctx);
    if (g == null) {
      return;
    }
    boolean forwarded = ctx.header(GroupAnswer.FORWARDED_HEADER) != null;
    GroupAnswer a = g.serve(ctx.pathParam("key"), forwarded).join();
    if (a.status() != 200) {
      peerError(ctx, a.status(), codeOf(a.status()), String.valueOf(a.error()));
      return;
    }
    if (a.expiresInMillis() >= 0) {
      ctx.header(GroupAnswer.EXPIRES_HEADER, Long.toString(a.expiresInMillis()));
    }
    ctx.status(200).contentType("application/octet-stream").result(a.value());
  }

  /** {@code DELETE /_lockstep/groups/{group}/<key>}: a peer's removal, applied here only. */
  void peerDelete(Context ctx) {
    LoadingGroup g = peerGroup(ctx);
    if (g == null) {
      return;
    }
    g.serveRemove(ctx.pathParam("key")).join();
    ctx.status(204);
  }

  private static String codeOf(int status) {
    return switch (status) {
      case 400 -> "invalid_key";
      case 401 -> ErrorMapper.UNAUTHORIZED;
      case 405 -> ErrorMapper.METHOD_NOT_ALLOWED;
      case 502 -> "load_failed";
      case 503 -> "unavailable";
      case 504 -> "load_timeout";
      default -> ErrorMapper.codeFor(status);
    };
  }

  private static void peerError(Context ctx, int status, String code, String message) {
    ctx.header(
        GroupAnswer.ERROR_HEADER,
        URLEncoder.encode(message, StandardCharsets.UTF_8).replace("+", "%20"));
    Json.send(ctx, status, new ErrorMapper.ErrorBody(code, message));
  }

  @Override
  public void close() {
    groups.values().forEach(LoadingGroup::close);
    groups.clear();
  }
}
