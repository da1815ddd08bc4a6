package io.lockstep;

import java.time.Duration;

/**
 * How a {@link ClusterCounter} sends its increments.
 *
 * @param batchWindow {@link Duration#ZERO} (the default): every increment is its own backend
 *     operation. Above zero: increments on this instance are summed for up to this long and sent as
 *     one backend increment; the total stays exact, only its freshness (and each increment's
 *     latency) is bounded by the window. At most 60 s.
 */
public record CounterOptions(Duration batchWindow) {
  private static final Duration MAX_WINDOW = Duration.ofSeconds(60);

  /** Every increment goes to the backend at once. */
  public static final CounterOptions UNBATCHED = new CounterOptions(Duration.ZERO);

  public CounterOptions {
    if (batchWindow == null || batchWindow.isNegative() || batchWindow.compareTo(MAX_WINDOW) > 0) {
      throw new IllegalArgumentException("batchWindow: must be from 0 to 60 s, was " + batchWindow);
    }
  }

  /** Increments summed for up to {@code window} before one backend increment. */
  public static CounterOptions batched(Duration window) {
    return new CounterOptions(window);
  }

  /** True when increments are batched. */
  public boolean batching() {
    return !batchWindow.isZero();
  }
}
