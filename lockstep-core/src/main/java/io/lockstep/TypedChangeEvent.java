package io.lockstep;

import org.jspecify.annotations.Nullable;

/**
 * A change applied to a {@link TypedMap}, delivered to {@link TypedChangeListener}s on the
 * replication thread after the map's decoded store has taken it.
 *
 * @param type whether the key was written or removed
 * @param key the key within the typed map (without the map's name)
 * @param value the new entry for {@link ChangeEvent.Type#PUT} (it may be undecodable, see {@link
 *     TypedEntry#isDecoded()}); null for a delete
 * @param previous the entry this instance held before, or null
 * @param revision the revision of the change
 * @param fromRelist true when found by comparing a fresh listing with memory (see {@link
 *     ChangeEvent#fromRelist()})
 * @param <V> the value type
 */
public record TypedChangeEvent<V>(
    ChangeEvent.Type type,
    String key,
    @Nullable TypedEntry<V> value,
    @Nullable TypedEntry<V> previous,
    long revision,
    boolean fromRelist) {}
