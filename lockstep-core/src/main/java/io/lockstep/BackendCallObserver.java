package io.lockstep;

/**
 * Told about every call the node makes to its backend, for metrics: one call per completed
 * operation, on whatever thread completed it (a backend client's I/O thread, the replication
 * thread), so an implementation must be quick, must not block and must not throw. Every method does
 * nothing by default; the node never calls it on its in-memory read path. Set with {@link
 * LockstepBuilder#backendCallObserver}; core depends on no metrics library, the application maps
 * these calls onto its own (the server: Micrometer).
 */
public interface BackendCallObserver {

  /** Observes nothing: the default. */
  BackendCallObserver NONE = new BackendCallObserver() {};

  /** The kinds of backend call. */
  enum Call {
    /** A put or delete (compare-and-set included), until the backend answered. */
    WRITE,
    /** A read from the source ({@code use_cache=false}). */
    STRONG_READ,
    /** A whole listing (every page), from request to the last page or failure. */
    LISTING,
    /** A cluster counter read. */
    COUNTER_READ,
    /** A cluster counter increment (a batched one: the one increment a flush sends). */
    COUNTER_INCREMENT
  }

  /**
   * One backend call completed after {@code nanos}; {@code failed} when it failed or timed out (a
   * compare-and-set that lost is an answer, not a failure).
   */
  default void called(Call call, long nanos, boolean failed) {}

  /** The change feed broke (an error from the backend); the replica resumes it after a backoff. */
  default void feedBroke() {}

  /**
   * A batching counter sent one window of {@code increments} increments as one backend increment,
   * which took {@code nanos}; {@code failed} when it failed.
   */
  default void counterFlushed(int increments, long nanos, boolean failed) {}
}
