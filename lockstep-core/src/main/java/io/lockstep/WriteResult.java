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
 * @param replayed true when this is the remembered first answer to an earlier write with the same
 *     request id, which this call did not make again (see {@link ReplicatedMap#putAsync(String,
 *     byte[], String, String)})
 */
public record WriteResult(
    Status status, long revision, @Nullable Versioned current, boolean replayed) {

  /** A first answer (not a replay). */
  public WriteResult(Status status, long revision, @Nullable Versioned current) {
    this(status, revision, current, false);
  }

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

  /**
   * This answer as the replay of a remembered one: same status and revision, {@code current} null.
   */
  public WriteResult asReplay() {
    return new WriteResult(status, revision, null, true);
  }
}
