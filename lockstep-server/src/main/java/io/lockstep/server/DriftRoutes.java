package io.lockstep.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.lockstep.BackendUnavailableException;
import io.lockstep.DriftReport;
import io.lockstep.DriftTarget;
import io.lockstep.KeyRange;
import io.lockstep.Lockstep;
import io.lockstep.LockstepException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Drift check and repair over HTTP (docs/drift.md): {@code POST /admin/drift/ranges} and {@code
 * POST /admin/drift/repair}, which a remote {@code lockstep check} drives; {@code POST
 * /admin/reconcile}, which checks this instance against the source here; and the anti-entropy runs
 * of {@code --reconcile-every}. Every run of a check on this instance is counted ({@link #stats()},
 * {@code /stats} and {@code /metrics}). Thread safe.
 */
final class DriftRoutes implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(DriftRoutes.class.getName());
  static final int MAX_RANGES = 100_000;
  static final int MAX_KEYS = 10_000;
  private static final Set<String> RECONCILE_PARAMS = Set.of("repair");

  private final Supplier<Lockstep> node;
  private final ServerSettings settings;
  private final AtomicLong runs = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong driftedKeys = new AtomicLong();
  private final AtomicLong repairedKeys = new AtomicLong();
  private final AtomicLong bytesMoved = new AtomicLong();
  private volatile @Nullable DriftReport last;
  private volatile @Nullable Instant lastAt;
  private volatile @Nullable String lastError;
  private volatile @Nullable ScheduledExecutorService timer;

  DriftRoutes(Supplier<Lockstep> node, ServerSettings settings) {
    this.node = node;
    this.settings = settings;
  }

  /**
   * What {@code /stats} shows under {@code reconcile}.
   *
   * @param every the anti-entropy period in ms, 0 when off
   * @param last the last report, null before the first run
   */
  record Stats(
      long everyMillis,
      long runs,
      long failures,
      long driftedKeys,
      long repairedKeys,
      long bytesMoved,
      @Nullable String lastAt,
      @Nullable ObjectNode last,
      @Nullable String lastError) {}

  Stats stats() {
    DriftReport r = last;
    Instant at = lastAt;
    return new Stats(
        settings.reconcileEvery().toMillis(),
        runs.get(),
        failures.get(),
        driftedKeys.get(),
        repairedKeys.get(),
        bytesMoved.get(),
        at == null ? null : at.toString(),
        r == null ? null : DriftWire.report(r),
        lastError);
  }

  long runs() {
    return runs.get();
  }

  long failures() {
    return failures.get();
  }

  long driftedKeys() {
    return driftedKeys.get();
  }

  long repairedKeys() {
    return repairedKeys.get();
  }

  /** Starts the anti-entropy runs, when {@link ServerSettings#reconcileEvery()} is set. */
  void start() {
    Duration every = settings.reconcileEvery();
    if (every.isZero()) {
      return;
    }
    ScheduledExecutorService t =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread th = new Thread(r, "lockstep-reconcile");
              th.setDaemon(true);
              return th;
            });
    timer = t;
    scheduleNext(t, new SplittableRandom());
  }

  private void scheduleNext(ScheduledExecutorService t, SplittableRandom random) {
    long period = settings.reconcileEvery().toNanos();
    long delay = period + random.nextLong(Math.max(1, period / 5));
    try {
      t.schedule(
          () -> {
            try {
              run(true);
            } catch (RuntimeException e) {
              LOG.log(Level.WARNING, "scheduled drift check failed: " + e.getMessage());
            } finally {
              if (timer != null) {
                scheduleNext(t, random);
              }
            }
          },
          delay,
          TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      // closed
    }
  }

  /** One counted check of this instance against the source. */
  DriftReport run(boolean repair) {
    Lockstep n = node.get();
    try {
      DriftReport r = n.reconcile(repair);
      runs.incrementAndGet();
      driftedKeys.addAndGet(r.drifted().size());
      repairedKeys.addAndGet(r.repaired().size());
      bytesMoved.addAndGet(r.bytesMoved());
      last = r;
      lastAt = Instant.now();
      lastError = null;
      if (!r.drifted().isEmpty()) {
        LOG.log(
            Level.WARNING,
            "drift check at revision "
                + r.revision()
                + ": "
                + r.drifted().size()
                + " key(s) drifted "
                + abbreviate(r.drifted())
                + ", "
                + r.repaired().size()
                + " repaired");
      }
      return r;
    } catch (RuntimeException e) {
      runs.incrementAndGet();
      failures.incrementAndGet();
      lastAt = Instant.now();
      lastError = e.getMessage();
      if (e instanceof LockstepException && !(e instanceof BackendUnavailableException)) {
        // e.g. this replica did not apply the listing's revision in time: try again later
        throw new ApiException(503, "drift_check_failed", e.getMessage());
      }
      throw e;
    }
  }

  private static String abbreviate(List<String> keys) {
    return keys.size() <= 10 ? keys.toString() : keys.subList(0, 10) + " and more";
  }

  /** {@code POST /admin/reconcile?repair=true|false}: a check here; the report. */
  void reconcile(Context ctx) {
    Requests.onlyParams(ctx, RECONCILE_PARAMS);
    String repair = ctx.queryParam("repair");
    if (repair != null && !repair.equals("true") && !repair.equals("false")) {
      throw ApiException.badRequest("repair: must be true or false, was '" + repair + "'");
    }
    Json.send(ctx, 200, DriftWire.report(run(!"false".equals(repair))));
  }

  /** {@code POST /admin/drift/ranges}: range digests and entry summaries as of a revision. */
  void ranges(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    JsonNode body = jsonBody(ctx);
    JsonNode rev = body.get("revision");
    if (rev == null || !rev.canConvertToLong() || !rev.isIntegralNumber() || rev.asLong() < 0) {
      throw ApiException.badRequest("revision: must be a non-negative integer, was " + rev);
    }
    List<KeyRange> digests = ranges(body, "digests");
    List<KeyRange> entries = ranges(body, "entries");
    if (digests.size() + entries.size() > MAX_RANGES) {
      throw ApiException.badRequest("at most " + MAX_RANGES + " ranges per request");
    }
    DriftTarget.Ranges answer;
    try {
      answer = node.get().driftTarget().ranges(rev.asLong(), digests, entries);
    } catch (BackendUnavailableException e) {
      throw e;
    } catch (LockstepException e) {
      throw new ApiException(409, "drift_check_conflict", e.getMessage());
    }
    Json.send(ctx, 200, DriftWire.rangesAnswer(answer));
  }

  /** {@code POST /admin/drift/repair}: installs the source's entry for the keys given. */
  void repair(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    JsonNode body = jsonBody(ctx);
    JsonNode keys = body.get("keys");
    if (keys == null || !keys.isArray()) {
      throw ApiException.badRequest("keys: must be an array of keys");
    }
    if (keys.size() > MAX_KEYS) {
      throw ApiException.badRequest(
          "keys: at most " + MAX_KEYS + " per request, was " + keys.size());
    }
    Set<String> ks = new LinkedHashSet<>();
    for (JsonNode k : keys) {
      if (!k.isTextual()) {
        throw ApiException.badRequest("keys: every key must be a string, was " + k);
      }
      ks.add(Requests.validKey(k.asText(), Integer.MAX_VALUE));
    }
    DriftTarget.Repaired r = node.get().driftTarget().repair(new ArrayList<>(ks));
    ObjectNode o = Json.MAPPER.createObjectNode();
    r.repaired().forEach(o.putArray("repaired")::add);
    r.skipped().forEach(o.putArray("skipped")::add);
    Json.send(ctx, 200, o);
  }

  private JsonNode jsonBody(Context ctx) {
    byte[] raw = Requests.body(ctx, settings.maxValueBytes());
    JsonNode body;
    try {
      body = Json.MAPPER.readTree(raw);
    } catch (IOException e) {
      throw ApiException.badRequest("body: not JSON: " + e.getMessage());
    }
    if (body == null || !body.isObject()) {
      throw ApiException.badRequest("body: must be a JSON object");
    }
    return body;
  }

  private static List<KeyRange> ranges(JsonNode body, String field) {
    JsonNode a = body.get(field);
    if (a == null || a.isNull()) {
      return List.of();
    }
    if (!a.isArray()) {
      throw ApiException.badRequest(field + ": must be an array of ranges such as \"8:a3\"");
    }
    if (a.size() > MAX_RANGES) {
      throw ApiException.badRequest(field + ": at most " + MAX_RANGES + " ranges");
    }
    List<KeyRange> out = new ArrayList<>(a.size());
    for (JsonNode r : a) {
      if (!r.isTextual()) {
        throw ApiException.badRequest(field + ": every range must be a string, was " + r);
      }
      try {
        out.add(KeyRange.parse(r.asText()));
      } catch (IllegalArgumentException e) {
        throw ApiException.badRequest(field + ": " + e.getMessage());
      }
    }
    return out;
  }

  @Override
  public void close() {
    ScheduledExecutorService t = timer;
    timer = null;
    if (t != null) {
      t.shutdownNow();
    }
  }
}
