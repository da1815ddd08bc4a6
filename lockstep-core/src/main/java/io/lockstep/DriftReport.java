package io.lockstep;

import java.time.Duration;
import java.util.List;

/**
 * What one drift check of one replica found: compared with the source of truth at {@code revision},
 * which keys differed and which were repaired. See {@code docs/drift.md}.
 *
 * @param target the replica checked (an instance id or URL)
 * @param revision the source revision the replica was compared at
 * @param keysChecked the keys compared: the source's at {@code revision} and those only the replica
 *     held, less the keys that changed on the replica after {@code revision} while it was checked
 *     (they are checked next time)
 * @param drifted the keys whose entry (value, mod revision, or presence) differed, sorted
 * @param repaired the drifted keys now holding the source's entry, sorted; empty when the check did
 *     not repair
 * @param bytesMoved the bytes exchanged with the replica: range digests, entry summaries and repair
 *     requests (the source's listing is not counted; the repaired values come from the source)
 * @param took how long the check took, listing the source included
 */
public record DriftReport(
    String target,
    long revision,
    long keysChecked,
    List<String> drifted,
    List<String> repaired,
    long bytesMoved,
    Duration took) {

  public DriftReport {
    drifted = List.copyOf(drifted);
    repaired = List.copyOf(repaired);
  }

  /** The drifted keys that were not repaired, sorted. */
  public List<String> unrepaired() {
    java.util.Set<String> fixed = java.util.Set.copyOf(repaired);
    return drifted.stream().filter(k -> !fixed.contains(k)).toList();
  }
}
