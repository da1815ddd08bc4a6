package io.lockstep.server;

import io.javalin.http.Context;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the requests this instance answered, by method and route (e.g. {@code GET /config/<key>})
 * and status, so load tools can check their own counts against the server's. Served at {@code GET
 * /stats/requests}. Thread safe; one {@link LongAdder} per route and status.
 */
final class RequestCounters {
  private final ConcurrentHashMap<String, LongAdder> counts = new ConcurrentHashMap<>();

  /** Counts a finished request (an after-handler). */
  void count(Context ctx) {
    String route = ctx.endpointHandlerPath();
    if (route == null || route.isEmpty() || route.equals("*")) {
      route = "(no route)";
    }
    String k = ctx.method().name() + " " + route + " " + ctx.statusCode();
    counts.computeIfAbsent(k, x -> new LongAdder()).increment();
  }

  /** {@code {"GET /config/<key>": {"total": n, "200": n, "404": n}, ...}}, sorted. */
  Map<String, Map<String, Long>> snapshot() {
    Map<String, Map<String, Long>> out = new TreeMap<>();
    counts.forEach(
        (k, v) -> {
          int cut = k.lastIndexOf(' ');
          Map<String, Long> byStatus =
              out.computeIfAbsent(k.substring(0, cut), x -> new TreeMap<>());
          long n = v.sum();
          byStatus.merge(k.substring(cut + 1), n, Long::sum);
          byStatus.merge("total", n, Long::sum);
        });
    return out;
  }

  /** {@code GET /stats/requests}. */
  void serve(Context ctx) {
    Json.send(ctx, 200, snapshot());
  }
}
