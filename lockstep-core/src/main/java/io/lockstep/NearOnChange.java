package io.lockstep;

/**
 * What a near-mode replica ({@link ReplicaMode#NEAR}) does when the feed changes a key it holds;
 * chosen with {@link LockstepBuilder#nearOnChange}. A delete always drops the key.
 */
public enum NearOnChange {
  /** Replace the held value with the changed one (the default): the next read is a hit. */
  UPDATE,
  /** Drop the key: the next read loads it from the source again. */
  INVALIDATE
}
