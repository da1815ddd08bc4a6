package io.lockstep.spi;

import io.lockstep.Versioned;
import java.util.List;

/**
 * Every entry of a namespace at one revision.
 *
 * @param revision the revision the listing reflects: every change up to it, none after
 * @param entries the entries, in any order
 */
public record Snapshot(long revision, List<Versioned> entries) {
  public Snapshot {
    entries = List.copyOf(entries);
  }
}
