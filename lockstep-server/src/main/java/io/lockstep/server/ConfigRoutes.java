package io.lockstep.server;

import io.javalin.http.Context;
import io.lockstep.HistoryResetException;
import io.lockstep.LocalSnapshot;
import io.lockstep.Lockstep;
import io.lockstep.ReadConsistency;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import java.time.Duration;
import java.util.ArrayList;
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
 * The value routes: {@code /config/<key>} (read, write, delete one key) and {@code /config} (list
 * keys). Values are bytes stored as sent, with the request's Content-Type. Every check that can
 * refuse a request runs before anything is written.
 */
final class ConfigRoutes {
  static final String USE_CACHE = "use_cache";
  static final String MIN_REVISION = "min_revision";
  static final String PREFIX = "prefix";
  static final String LIMIT = "limit";
  static final int DEFAULT_LIMIT = 1000;
  static final int MAX_LIMIT = 10_000;

  private static final Set<String> READ_PARAMS = Set.of(USE_CACHE, MIN_REVISION);
  private static final Set<String> LIST_PARAMS = Set.of(PREFIX, LIMIT);

  private final Supplier<Lockstep> node;
  private final ServerSettings settings;
  private final Drain drain;
  private final LongPolls polls;

  ConfigRoutes(Supplier<Lockstep> node, ServerSettings settings, Drain drain, LongPolls polls) {
    this.node = node;
    this.settings = settings;
    this.drain = drain;
    this.polls = polls;
  }

  /** {@code GET /config/<key>?use_cache=true|false&min_revision=R}. */
  void get(Context ctx) {
    Requests.onlyParams(ctx, READ_PARAMS);
    Lockstep n = node.get();
    String key = Requests.validKey(ctx.pathParam("key"), n.config().maxKeyBytes());
    // The lab's rule: only the exact string "true" (or no parameter) reads from memory.
    String useCache = ctx.queryParam(USE_CACHE);
    boolean local = useCache == null || useCache.equals("true");
    OptionalLong minRevision = Requests.nonNegativeLong(ctx, MIN_REVISION);
    ReplicatedMap map = n.map();
    if (minRevision.isPresent()) {
      awaitApplied(map, minRevision.getAsLong(), settings.maxWait(), MIN_REVISION, drain, polls);
    }
    if (local) {
      requireReady(map);
    }
    long applied = map.replica().appliedRevision();
    Versioned v = local ? map.get(key) : map.get(key, ReadConsistency.STRONG);
    if (v == null) {
      throw ApiException.notFound(
          "no such key '"
              + key
              + "'"
              + (local ? " on this instance at applied" + " revision " + applied : ""),
          Map.of(Headers.APPLIED, Long.toString(applied)));
    }
    ctx.header(Headers.REVISION, Long.toString(v.modRevision()))
        .header(Headers.APPLIED, Long.toString(applied))
        .header(Headers.ETAG, Headers.etag(v.modRevision()))
        .contentType(v.contentType())
        .result(v.value());
  }

  /** Memory answers nothing before the first listing is applied: "absent" would be a lie. */
  static void requireReady(ReplicatedMap map) {
    if (!map.replica().isReady()) {
      throw new ApiException(
          503,
          ErrorMapper.NOT_READY,
          "this instance has not applied its first listing"
              + " yet, so it cannot answer from memory; retry, or read with use_cache=false");
    }
  }

  /**
   * Waits until this instance has applied {@code revision}, at most {@code bound}; then fails with
   * 504 {@code timeout}, naming {@code what} was waited for and carrying {@code
   * X-Lockstep-Applied}. A wait takes one of {@code polls}' places (503 {@code overloaded} with
   * {@code Retry-After} when none is free) and is refused while {@code drain} is draining.
   */
  static void awaitApplied(
      ReplicatedMap map, long revision, Duration bound, String what, Drain drain, LongPolls polls) {
    if (map.replica().appliedRevision() >= revision) {
      return;
    }
    if (drain.draining()) {
      throw Drain.stopping("not waiting for " + what + " " + revision);
    }
    polls.acquire(what + " " + revision);
    try {
      waitFor(map, revision, bound, what, drain);
    } finally {
      polls.release();
    }
  }

  /**
   * The wait itself; while {@code drain} is draining, one in progress ends at once, with 503 {@code
   * not_ready} and {@code Retry-After} ({@link Drain#stopping}).
   */
  private static void waitFor(
      ReplicatedMap map, long revision, Duration bound, String what, Drain drain) {
    // Handlers run on virtual threads, so waiting here parks no platform thread. The waiter is
    // cancelled however the wait ends, so a revision never reached leaves nothing behind.
    CompletableFuture<Long> wait = map.replica().awaitRevisionAsync(revision);
    try {
      CompletableFuture.anyOf(wait, drain.begun()).get(bound.toNanos(), TimeUnit.NANOSECONDS);
      if (!wait.isDone()) {
        throw Drain.stopping("stopped waiting for " + what + " " + revision);
      }
      wait.get(); // done: its failure, if any, is handled below
    } catch (ExecutionException e) {
      if (drain.draining() && !(e.getCause() instanceof HistoryResetException)) {
        throw Drain.stopping("stopped waiting for " + what + " " + revision);
      }
      rethrowAwaitFailure(e, revision);
    } catch (TimeoutException e) {
      long applied = map.replica().appliedRevision();
      throw new ApiException(
          504,
          ErrorMapper.TIMEOUT,
          what
              + " "
              + revision
              + " not reached: this"
              + " instance applied only up to "
              + applied
              + " within "
              + bound.toMillis()
              + " ms",
          Map.of(Headers.APPLIED, Long.toString(applied)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiException(
          503,
          ErrorMapper.BACKEND_UNAVAILABLE,
          "interrupted while waiting for revision " + revision);
    } finally {
      wait.cancel(false);
    }
  }

  private static void rethrowAwaitFailure(ExecutionException e, long revision) {
    if (e.getCause() instanceof HistoryResetException reset) {
      throw reset; // 410 history_reset: the revision named a write of a history that is gone
    }
    throw new IllegalStateException("waiting for revision " + revision + " failed", e.getCause());
  }

  /**
   * {@code PUT /config/<key>} and its alias {@code POST}: store the body, optionally
   * compare-and-set.
   */
  void put(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    Lockstep n = node.get();
    String key = Requests.validKey(ctx.pathParam("key"), n.config().maxKeyBytes());
    OptionalLong expected = Requests.ifMatch(ctx);
    String requestId = Requests.idempotencyKey(ctx);
    byte[] value = Requests.body(ctx, settings.maxValueBytes());
    String contentType = Requests.contentType(ctx);
    ReplicatedMap map = n.map();
    WriteResult r;
    if (requestId == null) {
      r =
          expected.isPresent()
              ? map.compareAndSet(key, expected.getAsLong(), value, contentType)
              : map.put(key, value, contentType);
    } else {
      r =
          (expected.isPresent()
                  ? map.compareAndSetAsync(key, expected.getAsLong(), value, contentType, requestId)
                  : map.putAsync(key, value, contentType, requestId))
              .join(); // failures are unwrapped by the ErrorMapper
    }
    replayed(ctx, r);
    if (r.status() == WriteResult.Status.CONFLICT) {
      throw conflict(key, expected.getAsLong(), r);
    }
    ctx.status(200)
        .header(Headers.REVISION, Long.toString(r.revision()))
        .header(Headers.ETAG, Headers.etag(r.revision()))
        .contentType(contentType != null ? contentType : Versioned.DEFAULT_CONTENT_TYPE)
        .result(value);
  }

  /** {@code DELETE /config/<key>}, optionally compare-and-delete. */
  void delete(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    Lockstep n = node.get();
    String key = Requests.validKey(ctx.pathParam("key"), n.config().maxKeyBytes());
    OptionalLong expected = Requests.ifMatch(ctx);
    String requestId = Requests.idempotencyKey(ctx);
    ReplicatedMap map = n.map();
    WriteResult r;
    if (requestId == null) {
      r = expected.isPresent() ? map.compareAndDelete(key, expected.getAsLong()) : map.delete(key);
    } else {
      r =
          (expected.isPresent()
                  ? map.compareAndDeleteAsync(key, expected.getAsLong(), requestId)
                  : map.deleteAsync(key, requestId))
              .join();
    }
    replayed(ctx, r);
    switch (r.status()) {
      case APPLIED -> ctx.status(204).header(Headers.REVISION, Long.toString(r.revision()));
      case NOT_FOUND ->
          throw ApiException.notFound(
              "no such key '" + key + "'", withReplay(r, Headers.REVISION, r.revision()));
      case CONFLICT -> throw conflict(key, expected.getAsLong(), r);
    }
  }

  /**
   * Marks a replayed answer with {@code Idempotent-Replayed: true}; error answers keep the header
   * (the error mapper only adds its own).
   */
  private static void replayed(Context ctx, WriteResult r) {
    if (r.replayed()) {
      ctx.header(Headers.IDEMPOTENT_REPLAYED, "true");
    }
  }

  private static ApiException conflict(String key, long expected, WriteResult r) {
    String now =
        r.revision() == 0 ? "the key does not exist" : "the key is at revision " + r.revision();
    String wanted = expected == 0 ? "must not exist" : "must be at revision " + expected;
    return new ApiException(
        412,
        ErrorMapper.PRECONDITION_FAILED,
        "If-Match: key '" + key + "' " + wanted + ", but " + now + "; nothing was changed",
        withReplay(r, Headers.REVISION, r.revision()));
  }

  private static Map<String, String> withReplay(WriteResult r, String header, long value) {
    return r.replayed()
        ? Map.of(header, Long.toString(value), Headers.IDEMPOTENT_REPLAYED, "true")
        : Map.of(header, Long.toString(value));
  }

  /**
   * {@code PUT|POST|DELETE|GET /config/} and {@code PUT|POST|DELETE /config}: a key is required.
   */
  void emptyKey(Context ctx) {
    throw ApiException.badRequest(
        "key: empty; the key goes in the path, as " + ctx.method() + " /config/<key>");
  }

  /** One key in a listing. */
  record KeyInfo(String key, long revision, String contentType, int size) {}

  /** The answer of {@code GET /config}. */
  record Listing(long appliedRevision, List<KeyInfo> keys) {}

  /** {@code GET /config?prefix=P&limit=N}: the keys held in memory, sorted. */
  void list(Context ctx) {
    Requests.onlyParams(ctx, LIST_PARAMS);
    String prefix = ctx.queryParam(PREFIX);
    int limit = Requests.intInRange(ctx, LIMIT, DEFAULT_LIMIT, 1, MAX_LIMIT);
    ReplicatedMap map = node.get().map();
    requireReady(map);
    // The keys and the revision they are at, from one moment: never a revision they are not at.
    LocalSnapshot snapshot = map.replica().snapshot(prefix == null ? "" : prefix, limit);
    long applied = snapshot.revision();
    List<Versioned> entries = snapshot.entries();
    List<KeyInfo> keys = new ArrayList<>(entries.size());
    for (Versioned v : entries) {
      keys.add(new KeyInfo(v.key(), v.modRevision(), v.contentType(), v.value().length));
    }
    ctx.header(Headers.APPLIED, Long.toString(applied));
    Json.send(ctx, 200, new Listing(applied, keys));
  }
}
