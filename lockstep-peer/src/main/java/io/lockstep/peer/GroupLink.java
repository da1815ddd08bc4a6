package io.lockstep.peer;

import org.jgroups.Address;

/**
 * What the parts of a {@link PeerBackend} ({@link GroupView}, {@link LeaderClient}) need from its
 * channel: this instance's address, sending, and whether the backend was closed. The backend
 * implements it.
 */
interface GroupLink {
  /** This instance's address; null before the channel exists. */
  Address self();

  /**
   * Hands a message to JGroups, for {@code to} or, when it is null, for every instance; false when
   * it could not (closed backend, failed send).
   */
  boolean send(Address to, byte[] message);

  /** Whether the backend was closed. */
  boolean closed();
}
