package io.lockstep;

import org.jspecify.annotations.Nullable;

/**
 * The outcome of a write. Expected outcomes are values, not exceptions: a compare-and-set that
 * loses returns {@link Status#CONFLICT} with the key's current revision.
 *
 * @param status what happened
 * @param revision for {@link Status#APPLIED}, the committed revision (already applied on the
 *     instance that wrote it); for {@link Status#CONFLICT}, the key's current mod revision, or 0
 *     when the key is absent; for {@link Status#NOT_FOUND}, the revision the store was at
 * @param current for {@link Status#CONFLICT}, the current entry if the store reported it; otherwise
 *     null
 */
public record WriteResult(Status status, long revision, @Nullable Versioned current) {

  /** What a write did. */
  public enum Status {
    /** The write was committed at {@link #revision()}. */
    APPLIED,
    /** A delete found no such key; nothing changed. */
    NOT_FOUND,
    /** A compare-and-set found a different revision; nothing changed. */
    CONFLICT
  }

  public static WriteResult applied(long revision) {
    return new WriteResult(Status.APPLIED, revision, null);
  }

  public static WriteResult notFound(long revision) {
    return new WriteResult(Status.NOT_FOUND, revision, null);
  }

  public static WriteResult conflict(long currentRevision, @Nullable Versioned current) {
    return new WriteResult(Status.CONFLICT, currentRevision, current);
  }

  public boolean isApplied() {
    return status == Status.APPLIED;
  }
}
