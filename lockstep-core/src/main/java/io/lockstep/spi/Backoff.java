package io.lockstep.spi;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Capped exponential backoff with jitter: the one retry delay of the engine and of the backends.
 *
 * <p>Attempt {@code n} (counted from 1) has the ceiling {@code min × 2^(n-1)}, capped at {@code
 * max}, and waits a delay drawn uniformly from {@code [ceiling × (1 - jitter), ceiling]}: {@code
 * jitter} 0.5 (the default of {@link #of}) waits between half and all of the ceiling, 1 anywhere
 * from 0 ("full jitter", for many contenders retrying one thing), 0 exactly the ceiling.
 *
 * <pre>{@code
 * Backoff.Attempts retry = Backoff.of(Duration.ofMillis(100), Duration.ofSeconds(5))
 *     .attempts(new SplittableRandom(seed));
 * long wait = retry.nextNanos(); // after a failure
 * retry.reset();                 // after a success
 * }</pre>
 *
 * <p>Immutable and thread safe. Randomness is the caller's: pass a seeded generator for a sequence
 * that replays, or {@link java.util.concurrent.ThreadLocalRandom#current()} where any will do.
 *
 * @param min the ceiling of the first attempt, positive
 * @param max the largest ceiling, at least {@code min}
 * @param jitter the fraction of the ceiling the delay may fall short of it, in [0, 1]
 */
public record Backoff(Duration min, Duration max, double jitter) {

  /** The jitter of {@link #of}: each delay lies in [ceiling/2, ceiling]. */
  public static final double DEFAULT_JITTER = 0.5;

  /** Validates every field. */
  public Backoff {
    if (min == null || min.isZero() || min.isNegative()) {
      throw new IllegalArgumentException("min: must be a positive duration, was " + min);
    }
    if (max == null || max.compareTo(min) < 0) {
      throw new IllegalArgumentException("max: must be >= min (" + min + "), was " + max);
    }
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new IllegalArgumentException("jitter: must be in [0, 1], was " + jitter);
    }
  }

  /** From {@code min} doubling to {@code max}, each delay in [ceiling/2, ceiling]. */
  public static Backoff of(Duration min, Duration max) {
    return new Backoff(min, max, DEFAULT_JITTER);
  }

  /** This backoff with another jitter. */
  public Backoff withJitter(double jitter) {
    return new Backoff(min, max, jitter);
  }

  /**
   * The ceiling of attempt {@code attempt}, in nanoseconds: {@code min × 2^(attempt-1)}, capped at
   * {@code max}.
   *
   * @throws IllegalArgumentException when {@code attempt < 1}
   */
  public long ceilingNanos(int attempt) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt: must be >= 1, was " + attempt);
    }
    long lo = min.toNanos();
    long hi = max.toNanos();
    int shift = attempt - 1;
    if (shift >= Long.numberOfLeadingZeros(lo)) { // min << shift would overflow
      return hi;
    }
    return Math.min(hi, lo << shift);
  }

  /**
   * The delay before attempt {@code attempt}, in nanoseconds, drawn from {@code random}.
   *
   * @throws IllegalArgumentException when {@code attempt < 1}
   */
  public long delayNanos(int attempt, RandomGenerator random) {
    long ceiling = ceilingNanos(attempt);
    long span = (long) (ceiling * jitter);
    return span == 0 ? ceiling : ceiling - span + random.nextLong(span + 1);
  }

  /** A run of attempts drawing its jitter from {@code random}, starting at the first attempt. */
  public Attempts attempts(RandomGenerator random) {
    return new Attempts(this, random);
  }

  /**
   * The delays of one run of failures: each {@link #nextNanos()} is one attempt further, until
   * {@link #reset()} after a success. Not thread safe: one retry loop owns it.
   */
  public static final class Attempts {
    private static final int MAX_COUNTED = 64; // past this the ceiling is max anyway

    private final Backoff backoff;
    private final RandomGenerator random;
    private int failures;

    private Attempts(Backoff backoff, RandomGenerator random) {
      this.backoff = backoff;
      this.random = random;
    }

    /** Counts a failure and returns the delay before the next attempt, in nanoseconds. */
    public long nextNanos() {
      failures = Math.min(failures + 1, MAX_COUNTED);
      return backoff.delayNanos(failures, random);
    }

    /** Starts again from the first attempt (after a success). */
    public void reset() {
      failures = 0;
    }

    /** The failures counted since the last reset (at most 64). */
    public int failures() {
      return failures;
    }
  }
}
