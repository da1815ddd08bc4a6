/**
 * The embedded peer backend ({@code peer:...}): {@link io.lockstep.peer.PeerBackend} keeps a
 * replicated map among the instances themselves, with no server. A few voters agree on every write
 * through Raft (jgroups-raft); the leader multicasts each committed change, with a contiguous
 * revision, to every instance; listings and strong reads go through the Raft log. Discovery is a
 * static list, a shared folder or DNS. The adapter is thin: ordering checks, gap detection,
 * relisting and digests are core's.
 */
package io.lockstep.peer;
