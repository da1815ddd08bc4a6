package io.lockstep.spi;

import io.lockstep.Versioned;
import java.util.List;

/**
 * Every entry of a namespace at one revision, and the history the revision belongs to.
 *
 * <p>A revision names one write only within one history. When the source loses its history (Redis
 * restarted without persistence, every Raft voter's folder lost, an etcd restore) it numbers
 * changes again from an earlier revision, and the same revision may name another write. The {@code
 * epoch} tells the histories apart: a listing whose epoch differs from the one a replica holds, or
 * whose revision is below the replica's applied revision, makes the engine <em>reset</em> (install
 * the listing as it is, values compared, applied revision moved back).
 *
 * @param revision the revision the listing reflects: every change up to it, none after
 * @param entries the entries, in any order
 * @param epoch the source's history id, {@link #NO_EPOCH} when the backend keeps none
 */
public record Snapshot(long revision, List<Versioned> entries, String epoch) {

  /** The epoch of a backend that keeps no history id (only a listing below applied then resets). */
  public static final String NO_EPOCH = "";

  public Snapshot {
    entries = List.copyOf(entries);
    if (epoch == null) {
      throw new IllegalArgumentException("epoch: null (use NO_EPOCH)");
    }
  }

  /** A listing of a backend that keeps no history id. */
  public Snapshot(long revision, List<Versioned> entries) {
    this(revision, entries, NO_EPOCH);
  }
}
