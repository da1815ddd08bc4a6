package io.lockstep;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * {@link Lockstep#awaitFleet} gave up: within its timeout, some live member had not applied the
 * revision, or did not answer. Carries the last {@link FleetStatus} read, which names those members
 * ({@link FleetStatus#behind}, {@link FleetStatus#unreachable()}); its cause is a {@link
 * TimeoutException}. Nothing is undone: the revision is committed and keeps spreading.
 */
public class FleetNotConvergedException extends LockstepException {
  private static final long serialVersionUID = 1L;
  private final long revision;
  private final transient FleetStatus lastStatus;

  public FleetNotConvergedException(long revision, FleetStatus lastStatus, Duration waited) {
    super(message(revision, lastStatus, waited), new TimeoutException("waited " + waited));
    this.revision = revision;
    this.lastStatus = lastStatus;
  }

  private static String message(long revision, FleetStatus s, Duration waited) {
    StringBuilder b =
        new StringBuilder("the fleet did not apply revision ")
            .append(revision)
            .append(" within ")
            .append(waited.toMillis())
            .append(" ms: members=")
            .append(s.members().size());
    java.util.List<FleetStatus.MemberRevision> behind = s.behind(revision);
    java.util.List<FleetStatus.MemberRevision> unreachable = s.unreachable();
    if (s.members().isEmpty()) {
      b.append(", no member listed");
    }
    if (!behind.isEmpty()) {
      b.append(", behind=[");
      for (int i = 0; i < behind.size(); i++) {
        FleetStatus.MemberRevision m = behind.get(i);
        b.append(i == 0 ? "" : ", ")
            .append(m.member().id())
            .append('@')
            .append(m.appliedRevision());
      }
      b.append(']');
    }
    if (!unreachable.isEmpty()) {
      b.append(", unreachable=[");
      for (int i = 0; i < unreachable.size(); i++) {
        FleetStatus.MemberRevision m = unreachable.get(i);
        b.append(i == 0 ? "" : ", ").append(m.member().id()).append(": ").append(m.error());
      }
      b.append(']');
    }
    return b.toString();
  }

  /** The revision waited for. */
  public long revision() {
    return revision;
  }

  /** The last status read before giving up. */
  public FleetStatus lastStatus() {
    return lastStatus;
  }
}
