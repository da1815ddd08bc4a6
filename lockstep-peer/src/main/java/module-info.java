/** The embedded peer backend ({@code peer:}), Raft among the instances on jgroups-raft. */
module io.lockstep.peer {
  requires io.lockstep;
  requires org.jgroups;
  requires jgroups.raft;

  provides io.lockstep.spi.BackendProvider with
      io.lockstep.peer.PeerBackendProvider;
}
