package io.lockstep.peer;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.function.Consumer;
import org.jgroups.View;
import org.jgroups.protocols.FD_ALL3;
import org.jgroups.protocols.FD_SOCK2;
import org.jgroups.protocols.FILE_PING;
import org.jgroups.protocols.FRAG4;
import org.jgroups.protocols.MERGE3;
import org.jgroups.protocols.SERIALIZE;
import org.jgroups.protocols.SYM_ENCRYPT;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.TCP_NIO2;
import org.jgroups.protocols.UFC_NB;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.VERIFY_SUSPECT2;
import org.jgroups.protocols.dns.DNS_PING;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;
import org.jgroups.protocols.raft.ELECTION;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.stack.Protocol;
import org.jgroups.util.Util;

/**
 * Builds the JGroups protocol stack of one instance, in code (no XML to keep in step):
 *
 * <pre>
 *   RAFT, ELECTION          voters only: the Raft log (file, fsync on) and leader election;
 *                           RAFT is CurrentTermRaft (a new leader commits through its own term)
 *   VoterViewFilter         Raft sees voters only; the backend sees the full view
 *   FRAG4, UFC_NB           fragmentation; flow control for unicasts only, never blocking (no MFC)
 *   GMS, NO_DUPES           views; refuses a second member with the same Raft id, and suspects at once
 *                           a member whose restart, at its address, asks to join (RestartAwareNoDupes)
 *   STABLE, UNICAST3, NAKACK2   reliable FIFO unicast and multicast
 *   VERIFY_SUSPECT2, FD_ALL3, FD_SOCK2   failure detection (silence for failure_timeout, or a closed socket)
 *   MERGE3                  finds and merges split groups (after a partition heals)
 *   LaggardGuard            suspects early a silent member while much is kept for retransmission
 *   SERIALIZE, SYM_ENCRYPT  with secret_file only: every message above discovery, headers included,
 *                           encrypted with the group's key (PeerSecret)
 *   TCPPING | FILE_PING | DNS_PING   discovery, chosen by the URI
 *   TCP_NIO2                transport: non-blocking connects and writes; tcp_nodelay on (Nagle gave a 44 ms p99);
 *                           the sender-sends bundler (a message leaves on the thread that sends it)
 * </pre>
 */
final class PeerStack {
  private PeerStack() {}

  /** How long a joiner waits for discovery answers before it starts a group of its own. */
  static final long JOIN_TIMEOUT_MILLIS = 1500;

  /**
   * Messages queued per connection while the peer does not read (beyond that, dropped and
   * retransmitted).
   */
  static final int MAX_SEND_BUFFERS = 64;

  /**
   * Bytes of multicasts kept for retransmission (NAKACK2, every sender's) beyond which a silent
   * member is suspected early (LaggardGuard).
   */
  static final long MAX_RETAINED = 32L << 20;

  /**
   * Bytes of unicasts queued for one destination that has not granted credits (UFC_NB's
   * max_queue_size; beyond the 5 MB of credits). Only when this is full too does a sender wait.
   */
  static final int MAX_UNICAST_QUEUE = 16 << 20;

  /**
   * How often the Raft leader resends entries a follower is missing (jgroups-raft's default: 1 s).
   */
  static final long RESEND_INTERVAL_MILLIS = 100;

  static List<Protocol> build(PeerSettings s, Consumer<View> fullViews) throws Exception {
    registerRaftWireClasses();
    InetAddress bindAddr = Util.getAddress(s.bind().host(), Util.getIpStackType());
    List<Protocol> stack = new ArrayList<>();
    // Not JGroups' TCP: it connects and writes with blocking calls, and every message of an
    // instance
    // leaves through one bundler thread. When a partition silently drops packets, MERGE3 and
    // discovery
    // keep sending to the cut-off members, each send opens a connection, and the connect blocks
    // that
    // thread for the connect timeout (seen in thread dumps: both majority voters' bundlers in
    // connect()); a write to a member whose socket buffer is full would block it too. Every message
    // to
    // every reachable member waits meanwhile, Raft's appends and acks included, and the majority
    // side
    // cannot commit. TCP_NIO2 never blocks the sender: connects complete in the background, and a
    // connection that cannot take more data queues up to max_send_buffers messages, then drops them
    // (NAKACK2 and UNICAST3 retransmit).
    TCP_NIO2 tcp = new TCP_NIO2().setMaxSendBuffers(MAX_SEND_BUFFERS);
    tcp.setBindAddr(bindAddr);
    // JGroups refuses port 0 with static discovery; pick a free one here (others find a non-voter
    // through the voters, never through its port).
    tcp.setValue("bind_port", s.bind().port() != 0 ? s.bind().port() : freePort(bindAddr));
    tcp.setValue("port_range", 0);
    tcp.tcpNodelay(true);
    // The sending thread writes its message itself when no other thread is sending (else the one
    // that is sends it with its own): no hand-off to a bundler thread. TCP_NIO2 never blocks that
    // thread (see above). JGroups' default, the transfer-queue bundler, queues every message for
    // one bundler thread: on a busy machine each such hand-off waits to be scheduled, and a write
    // crosses three of them (the leader's append, a follower's ack, the committed change).
    tcp.setBundlerType("sender-sends");
    stack.add(tcp);
    stack.add(discovery(s));
    if (s.secret() != null) {
      // Everything above discovery travels encrypted with the group's key: SERIALIZE first turns
      // the whole message (headers, addresses) into a payload, which SYM_ENCRYPT encrypts
      // (AES-256-CBC, a random IV per message). A member with another key can read nothing, and
      // its JOIN cannot be read either, so it never joins.
      SYM_ENCRYPT encrypt = new SYM_ENCRYPT().setSecretKey(s.secret().aesKey());
      encrypt.symAlgorithm("AES/CBC/PKCS5Padding");
      encrypt.symIvLength(16);
      stack.add(encrypt);
      stack.add(new SERIALIZE());
    }
    long failure = s.failureTimeout().toMillis();
    // A member silent for half the failure timeout (two heartbeats missed) while NAKACK2 holds
    // more than MAX_RETAINED is suspected at once, not after failure_timeout: see LaggardGuard.
    stack.add(new LaggardGuard(MAX_RETAINED, failure / 2));
    stack.add(
        new MERGE3()
            .setMinInterval(Math.min(1000, failure / 4))
            .setMaxInterval(Math.min(3000, failure / 2)));
    // FD_SOCK2's own server must listen on this instance's address, as the transport does. Left
    // unset (a programmatic stack gets no default), it listens on every address and names itself by
    // the host name's address; instances on several hosts with the same port (7800 everywhere, as
    // with DNS discovery) then all carry the same name, a peer's answer to a CONNECT is addressed
    // to
    // the peer itself, and every connect times out. Members on the same side are then suspected and
    // unsuspected over and over, and since FD_SOCK2 runs these connects on the thread that delivers
    // a
    // view or a message, views and messages are held up for seconds at a time.
    stack.add(new FD_SOCK2().setBindAddress(bindAddr));
    // A member frozen by SIGSTOP keeps its sockets open, so FD_SOCK2 says nothing: FD_ALL3 (no
    // heartbeat for failure_timeout) and VERIFY_SUSPECT2 exclude it. Until then every sender's
    // NAKACK2 keeps all it multicast (the frozen member holds back STABLE), so with no MFC this
    // is what bounds that memory: write rate x (failure_timeout + verification), or sooner
    // LaggardGuard's suspicion once that is over MAX_RETAINED.
    stack.add(new FD_ALL3().setTimeout(failure).setInterval(Math.max(250, failure / 5)));
    stack.add(new VERIFY_SUSPECT2().setTimeout(Math.min(1500, failure / 2)));
    stack.add(new NAKACK2().setXmitInterval(500));
    stack.add(new UNICAST3().setXmitInterval(500));
    stack.add(new STABLE());
    stack.add(new RestartAwareNoDupes());
    GMS gms = new GMS().setJoinTimeout(JOIN_TIMEOUT_MILLIS);
    gms.setValue("print_local_addr", false);
    stack.add(gms);
    // Flow control only for unicasts, and one that never blocks the sender (issue 13). JGroups'
    // MFC made a multicast wait until every member had granted credits: one member frozen by
    // SIGSTOP (a GC pause, a debugger) stopped granting, and after 5 MB (about 125 writes of 20
    // KB, each sent twice: Raft's AppendEntries and the committed change, both multicast to the
    // whole group) the sender blocked until failure detection excluded the frozen member, about
    // 11.5 s later. The blocked sender was jgroups-raft's single processing thread: every write
    // of the group waited (measured: a 10.9 s gap with no completed write, 12 refused after 3 s).
    // A multicast cannot go to some members and wait for one, so there is no MFC: what is kept
    // for a member that does not read is bounded by excluding it, early under heavy writes
    // (LaggardGuard), else by failure detection (see FD_ALL3 above, docs/backends/peer.md).
    // UFC blocked the same way per destination (e.g. Raft's resends to a frozen follower, on the
    // same processing thread). UFC_NB queues a destination's messages once its credits are
    // spent, up to MAX_UNICAST_QUEUE bytes, and the sender goes on.
    stack.add(new UFC_NB().setMaxQueueSize(MAX_UNICAST_QUEUE));
    stack.add(new FRAG4());
    stack.add(new VoterViewFilter(s.isVoter() ? new HashSet<>(s.voters()) : null, fullViews));
    if (s.isVoter()) {
      stack.add(new ELECTION());
      // Raft's commit rule for a new leader, which jgroups-raft 1.1.0 lacks: see CurrentTermRaft.
      RAFT raft =
          new CurrentTermRaft()
              .raftId(s.selfVoter())
              .members(s.voters())
              .logDir(s.dataDir().toAbsolutePath().toString())
              .logPrefix("raft")
              .logUseFsync(true)
              // A follower that fell behind (e.g. right after an election) is caught up by these
              // resends,
              // one entry at a time, and only when no request arrived for this long: at
              // jgroups-raft's
              // 1 s a steady trickle of requests could keep the followers behind for tens of
              // seconds.
              .resendInterval(RESEND_INTERVAL_MILLIS);
      stack.add(raft);
    }
    return stack;
  }

  /**
   * Registers jgroups-raft's message and header classes with JGroups in this process, voter or not.
   *
   * <p>jgroups-raft registers them in the static initializers of {@link RAFT} and of {@link
   * ELECTION}'s base class, so a process whose stack has no Raft protocols (a non-voter) does not
   * know them. But voters multicast to the whole group: ELECTION its vote requests and leader
   * announcements, RAFT its append entries. A non-voter that cannot read such a message drops it in
   * the transport (with the rest of its batch); the sender's NAKACK2 retransmits it, the receiver
   * drops it again, and every later multicast of that voter (the leader's commits included) waits
   * behind it for ever. Within one JVM this never shows, because a voter in the same JVM has
   * registered the classes.
   */
  static void registerRaftWireClasses() {
    for (Class<?> c : List.of(RAFT.class, ELECTION.class)) {
      try {
        Class.forName(c.getName(), true, c.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("jgroups-raft class " + c.getName() + " not found", e);
      }
    }
  }

  private static int freePort(InetAddress addr) throws java.io.IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(addr, 0));
      return socket.getLocalPort();
    }
  }

  private static Protocol discovery(PeerSettings s) {
    switch (s.discovery()) {
      case SINGLE:
        return new TCPPING().setPortRange(0);
      case STATIC:
        {
          List<InetSocketAddress> hosts = new ArrayList<>();
          for (PeerSettings.HostPort hp : s.initialHosts()) {
            hosts.add(new InetSocketAddress(hp.host(), hp.port()));
          }
          TCPPING ping = new TCPPING().setInitialHosts(hosts).setPortRange(0);
          ping.setValue("return_entire_cache", true);
          return ping;
        }
      case FILE:
        {
          FILE_PING ping =
              new FILE_PING()
                  .setLocation(s.folder().toAbsolutePath().toString())
                  .registerShutdownHook(false);
          ping.setValue("remove_all_data_on_view_change", true);
          return ping;
        }
      case DNS:
        {
          DNS_PING ping = new DNS_PING().setDNSQuery(s.dnsQuery());
          ping.setValue("dns_record_type", "A");
          return ping;
        }
      default:
        throw new IllegalStateException("unknown discovery " + s.discovery());
    }
  }
}
