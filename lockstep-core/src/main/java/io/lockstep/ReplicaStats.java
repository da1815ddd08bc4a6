package io.lockstep;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What one replica reports about itself: a consistent snapshot taken at one moment (the end of the
 * last change applied), so {@code keys} and {@code digest} are those of {@code appliedRevision};
 * only the lag and the pending changes are measured when the snapshot is read.
 *
 * <p>Lag is "behind the source for this namespace": revisions the source has shown to be this
 * namespace's (changes the feed delivered, still waiting to be applied; on a backend that numbers
 * the namespace's own changes, a head it reported) and not yet applied. Revisions the source used
 * outside the namespace (etcd's cluster-wide revision moved by other prefixes) are never lag: a
 * current replica reports 0 whatever other prefixes do.
 *
 * @param appliedRevision the highest revision this instance has applied
 * @param headRevision the highest revision this instance knows this namespace has reached at the
 *     source (received, or applied)
 * @param lagRevisions {@code headRevision - appliedRevision}, never negative
 * @param lagMillis how long this instance has been behind {@code headRevision}: the age of the
 *     oldest change received and not yet applied, or of a known head not yet reached; 0 when
 *     current
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
 * @param pendingChanges changes received from the feed and waiting to be applied, now
 * @param peakPendingChanges the most changes that ever waited at once; never above the bound set by
 *     {@link LockstepBuilder#maxPendingChanges(int)} unless one revision alone is larger
 * @param feedPauses how many times the feed was paused because the bound was reached: closed once
 *     the replica had applied what it received, and resumed from the revision after (nothing is
 *     dropped)
 * @param epoch the id of the source's history the last listing belonged to ({@link
 *     io.lockstep.spi.Snapshot#epoch()}); empty before the first listing and for a backend that
 *     keeps none. A reset to a new history changes it.
 * @param backend the backend's own figures ({@link io.lockstep.spi.Backend#stats()}), by name, in
 *     the backend's order; empty when it reports none
 * @param near the near-mode figures ({@link ReplicaMode#NEAR}); null in full mode. In near mode
 *     {@code keys} counts the keys held and {@code digest} is 0: each instance holds a different
 *     set, so there is no digest to compare.
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
    long pendingChanges,
    long peakPendingChanges,
    long feedPauses,
    String epoch,
    Map<String, Object> backend,
    @Nullable NearStats near) {

  public ReplicaStats {
    backend = Collections.unmodifiableMap(new LinkedHashMap<>(backend));
  }

  /** The digest as the 16-digit hex string used on the wire. */
  public String digestHex() {
    return Digests.hex(digest);
  }
}
