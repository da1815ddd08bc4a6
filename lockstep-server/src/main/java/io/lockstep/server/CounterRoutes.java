package io.lockstep.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.javalin.http.Context;
import io.lockstep.CounterOptions;
import io.lockstep.IncrementResult;
import io.lockstep.Lockstep;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The counter routes: {@code GET /count} (the replicas request counter) and the named cluster
 * counters {@code GET /counters/<name>}, {@code POST /counters/<name>?by=N}.
 *
 * <p>{@code GET /count} first adds 1 to the cluster counter {@value #REQUESTS} in the backend; only
 * when that succeeded does it add 1 to this instance's in-memory counter of the same name. So a
 * backend failure answers 503 and changes neither count.
 */
final class CounterRoutes {
  /**
   * The counter {@code GET /count} counts in; {@code GET /counters/requests} reads the same total.
   */
  static final String REQUESTS = "requests";

  static final String BY = "by";

  /** The names core takes (it refuses others with 400). */
  private static final java.util.regex.Pattern VALID_NAME =
      java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1,128}");

  static final long MAX_BY = 1_000_000_000_000L;

  private final Supplier<Lockstep> node;
  private final CounterOptions options;
  private final CounterNames names;

  CounterRoutes(Supplier<Lockstep> node, java.time.Duration batch, CounterNames names) {
    this.node = node;
    this.options = batch.isZero() ? CounterOptions.UNBATCHED : CounterOptions.batched(batch);
    this.names = names;
  }

  record Count(
      String instance,
      @JsonProperty("instance_requests") long instanceRequests,
      @JsonProperty("cluster_requests") long clusterRequests) {}

  record CounterValue(String name, long value) {}

  /**
   * {@code GET /count}: counts this request, then answers both counts (JSON, or the sentence for
   * {@code Accept: text/plain}).
   */
  void count(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    Lockstep n = node.get();
    long cluster =
        n.counter(REQUESTS, options)
            .incrementAndGet(1); // throws (503) before the local count moves
    long local = n.localCounter(REQUESTS).incrementAndGet();
    String accept = ctx.header("Accept");
    if (accept != null && accept.contains("text/plain") && !accept.contains("application/json")) {
      ctx.status(200)
          .contentType("text/plain; charset=utf-8")
          .result(
              ("You are talking to instance "
                      + hostPort(n, ctx)
                      + ".\nThis is request "
                      + local
                      + " to this instance and request "
                      + cluster
                      + " to the cluster.\n")
                  .getBytes(StandardCharsets.UTF_8));
      return;
    }
    Json.send(ctx, 200, new Count(n.self().id(), local, cluster));
  }

  /** {@code GET /counters/<name>}: the cluster counter's value in the backend. */
  void get(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    String name = ctx.pathParam("name");
    // A read needs no batching window: unbatched, it keeps nothing per name.
    Json.send(
        ctx, 200, new CounterValue(name, node.get().counter(name, CounterOptions.UNBATCHED).get()));
  }

  /**
   * {@code POST /counters/<name>?by=N}: adds N (default 1, at most 10^12 either way) and answers
   * the new value.
   */
  void increment(Context ctx) {
    Requests.onlyParams(ctx, Set.of(BY));
    String name = ctx.pathParam("name");
    String raw = ctx.queryParam(BY);
    long by = 1;
    if (raw != null) {
      try {
        by = Long.parseLong(raw.trim());
      } catch (NumberFormatException e) {
        throw ApiException.badRequest("by: a whole number expected, was '" + raw + "'");
      }
      if (Math.abs(by) > MAX_BY) {
        throw ApiException.badRequest(
            "by: must be from -" + MAX_BY + " to " + MAX_BY + ", was " + raw);
      }
    }
    String requestId = Requests.idempotencyKey(ctx);
    if (VALID_NAME.matcher(name).matches()) { // a bad name is core's 400, never a held name
      names.admit(name);
    }
    if (requestId == null) {
      Json.send(
          ctx, 200, new CounterValue(name, node.get().counter(name, options).incrementAndGet(by)));
      return;
    }
    IncrementResult r = node.get().counter(name, options).incrementAsync(by, requestId).join();
    if (r.replayed()) {
      ctx.header(Headers.IDEMPOTENT_REPLAYED, "true");
    }
    Json.send(ctx, 200, new CounterValue(name, r.value()));
  }

  /** How this instance is reached: host:port of its advertised URL, else of the request. */
  static String hostPort(Lockstep n, Context ctx) {
    String url = n.self().url();
    if (url != null && !url.isEmpty()) {
      try {
        URI u = URI.create(url);
        if (u.getHost() != null) {
          int port =
              u.getPort() != -1 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
          return u.getHost() + ":" + port;
        }
      } catch (IllegalArgumentException ignored) {
        // fall through to the request's view
      }
    }
    return ctx.host() != null && !ctx.host().isEmpty() ? ctx.host() : "localhost:" + ctx.port();
  }
}
