package io.lockstep;

/**
 * The source of truth lost its history (Redis restarted without persistence, every Raft voter's
 * folder lost, an etcd restore) and this instance reset to the source's new state. Revisions issued
 * before the reset name writes of the old history: a wait for one of them (a {@code min_revision}
 * token, a write waiting to be applied here) cannot be answered and fails with this exception. A
 * write that fails with it may or may not have been kept by the new history; read the key again.
 */
public class HistoryResetException extends LockstepException {
  private static final long serialVersionUID = 1L;
  private final long revision;
  private final long previousApplied;

  public HistoryResetException(long revision, long previousApplied, String reason) {
    super(
        "the source's history was reset ("
            + reason
            + "): this instance moved from applied revision "
            + previousApplied
            + " of the old history to revision "
            + revision
            + " of the new one; revisions of the old history can no longer be waited for");
    this.revision = revision;
    this.previousApplied = previousApplied;
  }

  /** The revision of the listing the instance reset to. */
  public long revision() {
    return revision;
  }

  /** The applied revision before the reset, in the old history. */
  public long previousApplied() {
    return previousApplied;
  }
}
