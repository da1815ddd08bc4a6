package io.lockstep.peer;

import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.util.List;
import org.jgroups.stack.Protocol;

/**
 * What {@code io.lockstep.jmh.HotPathProbe} needs of the peer backend's package-private parts: the
 * leader test, and the very protocol stack a voter runs (so the raw jgroups-raft reference runs on
 * the same transport, discovery, failure detection and Raft settings). Lives in the backend's
 * package on the benchmark jar's class path only; not part of the backend.
 */
public final class PeerProbeAccess {
  private PeerProbeAccess() {}

  /** Whether this voter currently leads. */
  public static boolean isLeader(PeerBackend backend) {
    return backend.isLeader();
  }

  /** The stack {@link PeerBackend} would build for {@code uri} (RAFT included for a voter). */
  public static List<Protocol> stack(String uri, BackendContext context) throws Exception {
    return PeerStack.build(PeerSettings.parse(BackendUri.parse(uri), context), v -> {});
  }
}
