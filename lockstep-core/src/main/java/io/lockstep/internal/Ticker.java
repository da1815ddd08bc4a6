package io.lockstep.internal;

/**
 * A source of nanosecond time for measuring elapsed durations, as Caffeine's {@code Ticker}: the
 * engine reads time only through one, so tests can drive it by hand. Implementations must be thread
 * safe.
 */
@FunctionalInterface
interface Ticker {

  /**
   * Nanoseconds since an arbitrary origin; only differences between two readings are meaningful.
   */
  long nanos();

  /** The ticker backed by {@link System#nanoTime()}. */
  static Ticker system() {
    return System::nanoTime;
  }
}
