package io.lockstep.server;

import java.util.Map;
import java.util.concurrent.Semaphore;

/**
 * The bound on requests waiting for a revision at once ({@code min_revision} reads, {@code
 * /admin/await}). A wait past it is refused at once with 503 {@code overloaded} and {@code
 * Retry-After: 1}, so waiting requests cannot pile up without end. Thread safe.
 */
final class LongPolls {
  private final int max;
  private final Semaphore permits;

  LongPolls(int max) {
    this.max = max;
    this.permits = new Semaphore(max);
  }

  /** Takes a place, or throws the 503; give it back with {@link #release()}. */
  void acquire(String what) {
    if (!permits.tryAcquire()) {
      throw new ApiException(
          503,
          ErrorMapper.OVERLOADED,
          "too many requests waiting for a revision on this instance (the limit is "
              + max
              + "); "
              + what
              + " was not waited for; retry later, or read without waiting",
          Map.of(Headers.RETRY_AFTER, "1"));
    }
  }

  void release() {
    permits.release();
  }

  /** Places taken now. */
  int inUse() {
    return max - permits.availablePermits();
  }
}
