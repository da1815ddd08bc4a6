package io.lockstep;

/**
 * What a {@link ReplicatedMap} keeps in memory; chosen with {@link LockstepBuilder#mode}.
 *
 * <ul>
 *   <li>{@link #FULL} (the default): every key of the namespace, listed at start and followed.
 *   <li>{@link #NEAR}: only the keys this instance has read, bounded by count or weight; a miss
 *       loads the key from the source (a strong single-key read), and the same ordered feed keeps
 *       the keys held up to date. See {@code docs/replicated-map.md}, "Near mode".
 * </ul>
 */
public enum ReplicaMode {
  FULL,
  NEAR
}
