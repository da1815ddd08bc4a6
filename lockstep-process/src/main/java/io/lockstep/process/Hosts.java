package io.lockstep.process;

import java.util.List;

/**
 * Where the processes of a {@link ServerCluster} run when not all on this host's loopback: host i
 * has an address to bind to and a command prefix that runs a process there (for example {@code ip
 * netns exec ns-i}). The testkit's NetLab is one.
 */
public interface Hosts {

  /** How many hosts there are. */
  int size();

  /** The address processes on host {@code i} (0-based) bind to. */
  String address(int i);

  /** The command prefix that runs a process on host {@code i}. */
  List<String> exec(int i);
}
