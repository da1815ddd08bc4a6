package io.lockstep.peer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.FleetNotConvergedException;
import io.lockstep.FleetStatus;
import io.lockstep.FleetStatus.MemberRevision;
import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.process.FreePorts;
import io.lockstep.testkit.TcpProxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jgroups.Address;
import org.jgroups.protocols.DISCARD;
import org.jgroups.protocols.TCP_NIO2;
import org.jgroups.stack.ProtocolStack;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Fleet convergence on the real peer backend, embedded as a plain Java application would: three
 * nodes in this JVM (two Raft voters and a non-voter, each on free loopback ports with throwaway
 * folders), each serving {@code GET /_lockstep/replica} on its own node-level listener ({@code
 * LockstepBuilder.listen}) with a peer secret. The third is reached through a {@link TcpProxy} (it
 * advertises the proxy's URL), so a test can make it unreachable without touching its membership;
 * each instance also has a JGroups {@link DISCARD} above its transport, so a test can cut it off
 * the group (its membership then ends when failure detection gives up on it).
 */
class PeerFleetIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private static final String SECRET = "fleet-it-secret-0123456789";
  private final PeerGroup group = new PeerGroup("fleet-" + System.nanoTime(), 2);
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
    group.close();
  }

  private record Instance(String name, PeerBackend backend, Lockstep node, DISCARD cut) {
    Address address() {
      return backend.channel().getAddress();
    }
  }

  private Instance start(String uri, String name, int listenPort, String advertiseUrl)
      throws Exception {
    PeerBackend b = group.backend(uri, name);
    DISCARD cut = new DISCARD();
    b.channel()
        .getProtocolStack()
        .insertProtocol(cut, ProtocolStack.Position.ABOVE, TCP_NIO2.class);
    var builder =
        Lockstep.builder()
            .backend(b)
            .keyPrefix(group.cluster)
            .instanceId(name)
            .listen("127.0.0.1", listenPort)
            .peerSecret(SECRET);
    if (advertiseUrl != null) {
      builder.advertiseUrl(advertiseUrl);
    }
    Lockstep node = builder.build();
    open.add(node);
    return new Instance(name, b, node, cut);
  }

  private static long put(Instance via, String key) {
    return via.node().map().put(key, key.getBytes(UTF_8), "text/plain").revision();
  }

  private static List<String> ids(FleetStatus s) {
    return s.members().stream().map(m -> m.member().id()).toList();
  }

  @Test
  void threeEmbeddedNodes_converge_aHungMemberIsUnreachableUntilItsMembershipEnds()
      throws Exception {
    int cPort = FreePorts.one();
    TcpProxy toC = new TcpProxy("127.0.0.1", cPort);
    open.add(toC);
    Instance a = start(group.voterUri(0), "a", 0, null);
    Instance b = start(group.voterUri(1), "b", 0, null);
    Instance c = start(group.nonVoterUri(), "c", cPort, "http://" + toC.endpoint());
    List<Instance> all = List.of(a, b, c);
    assertThat(a.node().self().url()).startsWith("http://127.0.0.1:").doesNotEndWith(":0");
    assertThat(c.node().self().url()).isEqualTo("http://" + toC.endpoint());
    await()
        .atMost(PATIENCE)
        .until(
            () ->
                all.stream()
                    .allMatch(
                        x ->
                            x.node().map().replica().isReady()
                                && x.node().members().join().size() == 3));

    // 1. A write on one node: awaitFleet completes once all three have applied it, and says so.
    long rev = put(a, "k1");
    long t0 = System.nanoTime();
    FleetStatus converged = a.node().awaitFleet(rev, PATIENCE).join();
    long convergedMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ids(converged)).containsExactly("a", "b", "c");
    assertThat(converged.members())
        .allSatisfy(
            m -> {
              assertThat(m.reachable()).as("%s", m).isTrue();
              assertThat(m.appliedRevision()).as("%s", m).isGreaterThanOrEqualTo(rev);
            });
    assertThat(converged.minApplied()).isGreaterThanOrEqualTo(rev);
    // each node sees the same from its side (c answers for itself, reaches a and b directly)
    assertThat(c.node().awaitFleet(rev, PATIENCE).join().converged(rev)).isTrue();
    System.out.printf("fleet of 3 converged on revision %d in %d ms%n", rev, convergedMs);
    // how long "every member has it" takes after a write returns, writes through each node
    long[] ms = new long[30];
    for (int i = 0; i < ms.length; i++) {
      Instance via = all.get(i % 3);
      long r = put(via, "w" + i);
      long t = System.nanoTime();
      FleetStatus st = via.node().awaitFleet(r, PATIENCE).join();
      ms[i] = (System.nanoTime() - t) / 1_000;
      assertThat(st.converged(r)).isTrue();
      assertThat(ids(st)).containsExactly("a", "b", "c");
    }
    java.util.Arrays.sort(ms);
    System.out.printf(
        "awaitFleet after a write, 30 writes: median %d us, max %d us%n", ms[15], ms[29]);

    // 2. A revision no one has: the wait times out with the last status, every member behind it.
    long never = rev + 1_000_000;
    assertThatThrownBy(() -> a.node().awaitFleet(never, Duration.ofMillis(300)).join())
        .cause()
        .isInstanceOf(FleetNotConvergedException.class)
        .satisfies(
            e -> {
              FleetNotConvergedException f = (FleetNotConvergedException) e;
              assertThat(f.revision()).isEqualTo(never);
              assertThat(ids(f.lastStatus())).containsExactly("a", "b", "c");
              assertThat(f.lastStatus().behind(never)).hasSize(3);
              assertThat(f.lastStatus().unreachable()).isEmpty();
            });

    // 3. c hangs (its proxy forwards nothing; its membership is untouched): fleet() reports it
    // unreachable, a and b current, and awaitFleet of a revision all others have times out on it.
    toC.pause();
    long rev2 = put(b, "k2");
    await().atMost(PATIENCE).until(() -> a.node().map().replica().appliedRevision() >= rev2);
    await().atMost(PATIENCE).until(() -> c.node().map().replica().appliedRevision() >= rev2);
    FleetStatus hung = a.node().fleet().get(30, TimeUnit.SECONDS);
    assertThat(ids(hung)).containsExactly("a", "b", "c");
    MemberRevision cView = hung.members().get(2);
    assertThat(cView.reachable()).isFalse();
    assertThat(cView.appliedRevision()).isEqualTo(-1);
    assertThat(cView.error()).startsWith("no answer within");
    assertThat(hung.unreachable()).extracting(m -> m.member().id()).containsExactly("c");
    assertThat(hung.converged(rev2)).isFalse();
    assertThatThrownBy(() -> a.node().awaitFleet(rev2, Duration.ofMillis(500)).join())
        .cause()
        .isInstanceOf(FleetNotConvergedException.class)
        .hasMessageContaining("unreachable=[c: no answer within");

    // 4. Still hung, c is cut off the group: it stays in the fleet, unreachable, until failure
    // detection ends its membership; then a wait for a new revision completes without it.
    cut(List.of(c), List.of(a, b));
    CompletableFuture<FleetStatus> withoutC = a.node().awaitFleet(rev2, PATIENCE);
    FleetStatus after = withoutC.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    assertThat(ids(after)).containsExactly("a", "b");
    assertThat(after.converged(rev2)).isTrue();
    assertThat(a.node().members().join())
        .extracting(Member::id)
        .containsExactlyInAnyOrder("a", "b");
    long rev3 = put(a, "k3");
    assertThat(a.node().awaitFleet(rev3, PATIENCE).join().minApplied())
        .isGreaterThanOrEqualTo(rev3);
    // c, alone, still answers for itself, at the revision it had when cut off
    FleetStatus fromC = c.node().fleet().get(30, TimeUnit.SECONDS);
    assertThat(fromC.members().stream().filter(m -> m.member().id().equals("c")).toList())
        .singleElement()
        .satisfies(m -> assertThat(m.appliedRevision()).isBetween(rev2, rev3 - 1));
  }

  private static void cut(List<Instance> side, List<Instance> rest) {
    Address[] fromSide = side.stream().map(Instance::address).toArray(Address[]::new);
    Address[] fromRest = rest.stream().map(Instance::address).toArray(Address[]::new);
    side.forEach(x -> x.cut().addIgnoredMembers(fromRest));
    rest.forEach(x -> x.cut().addIgnoredMembers(fromSide));
  }
}
