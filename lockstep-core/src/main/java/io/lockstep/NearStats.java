package io.lockstep;

/**
 * A near-mode replica's own figures ({@link ReplicaStats#near()}); the counters count from the
 * start of the instance.
 *
 * @param heldKeys the keys held in memory now (after pending evictions are done)
 * @param maxKeys the bound on the number of keys held, 0 when the bound is by weight
 * @param maxBytes the bound on the weight held (key and value bytes), 0 when the bound is by count
 * @param onChange what a change to a held key does
 * @param hits reads answered from memory
 * @param misses reads that found the key not held (each waits for a load, its own or one under way
 *     for the same key)
 * @param loads strong reads of one key sent to the source for misses (one per key at a time)
 * @param loadFailures loads that failed (the source unreachable or too slow); the read fails too
 * @param staleLoadsDropped loads whose value was not kept because the feed had applied a newer
 *     change of the key while the load was out, or a listing had dropped the held keys meanwhile
 * @param evictions keys dropped to stay within the bound
 */
public record NearStats(
    long heldKeys,
    long maxKeys,
    long maxBytes,
    NearOnChange onChange,
    long hits,
    long misses,
    long loads,
    long loadFailures,
    long staleLoadsDropped,
    long evictions) {}
