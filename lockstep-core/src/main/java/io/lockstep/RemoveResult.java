package io.lockstep;

import java.util.List;

/**
 * How a {@link LoadingGroup#remove} broadcast went.
 *
 * @param reached ids of the other members that confirmed the removal
 * @param missed ids of the other members that did not answer with success before the peer deadline
 *     (they may still serve the old value until it expires or they leave the membership)
 */
public record RemoveResult(List<String> reached, List<String> missed) {
  public RemoveResult {
    reached = List.copyOf(reached);
    missed = List.copyOf(missed);
  }

  /** True when every other live member confirmed. */
  public boolean complete() {
    return missed.isEmpty();
  }
}
