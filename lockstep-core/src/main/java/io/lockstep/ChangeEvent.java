package io.lockstep;

import org.jspecify.annotations.Nullable;

/**
 * A change applied to this instance's copy of the map, delivered to {@link ChangeListener}s in
 * revision order.
 *
 * @param type whether the key was written or removed
 * @param key the key
 * @param value the new entry for {@link Type#PUT}; null for {@link Type#DELETE}
 * @param previous the entry this instance held before, or null
 * @param revision the revision of the change
 * @param fromRelist true when the change was found by comparing a fresh listing with memory (after
 *     a compaction, a gap, a {@link Replica#refresh()} or a reset after the source lost its
 *     history), rather than read from the feed
 */
public record ChangeEvent(
    Type type,
    String key,
    @Nullable Versioned value,
    @Nullable Versioned previous,
    long revision,
    boolean fromRelist) {

  /** The kind of change. */
  public enum Type {
    PUT,
    DELETE
  }
}
