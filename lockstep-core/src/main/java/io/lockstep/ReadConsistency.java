package io.lockstep;

/** Where a read is answered from. */
public enum ReadConsistency {
  /**
   * From this instance's memory: a lock-free map lookup with no I/O. It may lag the source of truth
   * by the feed delay (see {@link ReplicaStats#lagMillis()}), and keeps serving while the backend
   * is unreachable. Reads on one instance never go back in time.
   */
  LOCAL,
  /**
   * From the source of truth, linearizable where the backend is: the answer reflects every write
   * acknowledged before the read began. Fails with {@link BackendUnavailableException} when the
   * backend cannot be reached.
   */
  STRONG
}
