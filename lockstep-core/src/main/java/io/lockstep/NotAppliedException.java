package io.lockstep;

/**
 * A write was committed by the source of truth at {@link #revision()}, but this instance had not
 * applied that revision within the configured bound (its change feed is down or far behind). The
 * write is durable and will reach every instance; only the local read-your-write promise could not
 * be kept in time.
 */
public class NotAppliedException extends LockstepException {
  private static final long serialVersionUID = 1L;
  private final long revision;
  private final long appliedRevision;

  public NotAppliedException(long revision, long appliedRevision, java.time.Duration waited) {
    super(
        "write committed at revision "
            + revision
            + " but this instance applied only up to "
            + appliedRevision
            + " within "
            + waited.toMillis()
            + " ms");
    this.revision = revision;
    this.appliedRevision = appliedRevision;
  }

  public long revision() {
    return revision;
  }

  public long appliedRevision() {
    return appliedRevision;
  }
}
