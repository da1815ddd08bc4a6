package io.lockstep;

/**
 * A listener registration; closing it removes the listener. Closing is idempotent and throws
 * nothing, so it fits try-with-resources without a {@code catch}. Thread safe.
 */
@FunctionalInterface
public interface Registration extends AutoCloseable {

  /** Removes the listener; later calls do nothing. */
  @Override
  void close();
}
