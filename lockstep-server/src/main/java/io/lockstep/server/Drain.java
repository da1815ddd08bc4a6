package io.lockstep.server;

import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The first step of a graceful stop: once {@link #begin()} is called, {@code /health/ready} answers
 * 503, new long polls ({@code min_revision} reads that would wait, {@code /admin/await}) are
 * refused and those waiting are answered at once, each with 503 {@code not_ready} and {@code
 * Retry-After}, so clients go to another instance while this one still answers everything else.
 * Thread safe.
 */
final class Drain {
  /** Seconds a client is asked to wait before it retries (here or, better, elsewhere). */
  static final String RETRY_AFTER_SECONDS = "1";

  private final CompletableFuture<Void> begun = new CompletableFuture<>();

  /** Starts draining; idempotent. */
  void begin() {
    begun.complete(null);
  }

  boolean draining() {
    return begun.isDone();
  }

  /** Completes when draining begins: what a long poll waits on besides its revision. */
  CompletableFuture<Void> begun() {
    return begun;
  }

  /** The answer to a long poll, or a readiness probe, while draining. */
  static ApiException stopping(String what) {
    return new ApiException(
        503,
        ErrorMapper.NOT_READY,
        "this instance is stopping: " + what + "; retry on another instance",
        Map.of("Retry-After", RETRY_AFTER_SECONDS));
  }
}
