package io.lockstep;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one replica reports about itself: a consistent snapshot taken at one moment (the end of the
 * last change applied), so {@code keys} and {@code digest} are those of {@code appliedRevision};
 * only {@code lagMillis} is measured, and {@code backend} asked, when the snapshot is read.
 *
 * @param appliedRevision the highest revision this instance has applied
 * @param headRevision the highest revision this instance knows the source has reached
 * @param lagRevisions {@code headRevision - appliedRevision}, never negative
 * @param lagMillis how long this instance has been behind the known head, 0 when current
 * @param keys the number of keys held in memory
 * @param digest the order-independent digest over (key, mod revision, value) of the keys held
 * @param relists how many times the instance re-listed after its first list (compaction, gap,
 *     out-of-order event, refresh)
 * @param reconnects how many times the change feed was re-established after an error
 * @param duplicatesDropped changes seen again and ignored
 * @param gaps jumps detected in a contiguous feed
 * @param listenerFailures how many times a change listener threw (each is logged and the change
 *     stays applied)
 * @param ready whether the first listing has been applied
 * @param resets how many times the source's history was found reset (a new epoch, or a listing
 *     below the applied revision) and the instance installed the source's state as it is, moving
 *     its applied revision to the listing's (each reset is also counted in {@code relists})
 * @param waiters callers waiting right now for this instance to apply a revision it has not reached
 *     ({@code min_revision} reads, writes waiting for their own change); each is removed when it is
 *     answered, times out or is cancelled
 * @param epoch the id of the source's history the last listing belonged to ({@link
 *     io.lockstep.spi.Snapshot#epoch()}); empty before the first listing and for a backend that
 *     keeps none. A reset to a new history changes it.
 * @param backend the backend's own figures ({@link io.lockstep.spi.Backend#stats()}), by name, in
 *     the backend's order; empty when it reports none
 */
public record ReplicaStats(
    long appliedRevision,
    long headRevision,
    long lagRevisions,
    long lagMillis,
    int keys,
    long digest,
    long relists,
    long reconnects,
    long duplicatesDropped,
    long gaps,
    long listenerFailures,
    boolean ready,
    long resets,
    int waiters,
    String epoch,
    Map<String, Object> backend) {

  public ReplicaStats {
    backend = Collections.unmodifiableMap(new LinkedHashMap<>(backend));
  }

  /** The digest as the 16-digit hex string used on the wire. */
  public String digestHex() {
    return Digests.hex(digest);
  }
}
