package io.lockstep.peer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.BackendUnavailableException;
import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.ReadConsistency;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jgroups.Address;
import org.jgroups.protocols.DISCARD;
import org.jgroups.protocols.TCP_NIO2;
import org.jgroups.stack.ProtocolStack;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A partition on the real transport: five instances in this JVM, three voters and two non-voters,
 * cut 3|2 by JGroups' own fault injection (a DISCARD protocol above the transport on every member
 * that drops whatever comes from the other side), then healed.
 *
 * <p>Three voters and two non-voters rather than five voters: that is how the backend is meant to
 * be deployed (a few fixed voters, any number of other instances), and it puts the one rule that is
 * ours on trial: non-voters never count towards a majority. The old leader is put on the minority
 * side, so the majority has to elect a new one and the old one has to step down.
 */
class PeerPartitionIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private final PeerGroup group = new PeerGroup("partition-" + System.nanoTime(), 3);

  @AfterEach
  void close() {
    group.close();
  }

  private record Instance(String name, PeerBackend backend, Lockstep node, DISCARD cut) {
    Address address() {
      return backend.channel().getAddress();
    }
  }

  private Instance start(String uri, String name) throws Exception {
    PeerBackend b = group.backend(uri, name);
    DISCARD cut = new DISCARD();
    b.channel()
        .getProtocolStack()
        .insertProtocol(cut, ProtocolStack.Position.ABOVE, TCP_NIO2.class);
    return new Instance(name, b, group.node(b, name), cut);
  }

  @Test
  void
      cut3to2_majorityWrites_minorityRefusesFastAndServesLocalReads_healConvergesWithEveryAcknowledgedWrite()
          throws Exception {
    List<Instance> all = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      all.add(start(group.voterUri(i), "voter-" + i));
    }
    all.add(start(group.nonVoterUri(), "other-0"));
    all.add(start(group.nonVoterUri(), "other-1"));
    await()
        .atMost(PATIENCE)
        .until(() -> all.stream().allMatch(x -> x.node().map().replica().isReady()));

    Map<String, String> acknowledged = new LinkedHashMap<>();
    for (int i = 0; i < 20; i++) {
      Instance via = all.get(i % all.size());
      put(via, "before-" + i, "v" + i, acknowledged);
    }
    Instance oldLeader = all.stream().filter(x -> x.backend().isLeader()).findFirst().orElseThrow();
    Instance otherVoters0 =
        all.stream()
            .filter(x -> x.name().startsWith("voter") && x != oldLeader)
            .findFirst()
            .orElseThrow();
    // Minority: the current leader and one non-voter. Majority: the two other voters and the other
    // non-voter.
    List<Instance> minority = List.of(oldLeader, all.get(3));
    List<Instance> majority = all.stream().filter(x -> !minority.contains(x)).toList();
    long appliedBefore = minority.get(1).node().map().replica().appliedRevision();
    Versioned seenBefore = minority.get(1).node().map().get("before-7");

    cut(minority, majority);
    await().atMost(PATIENCE).until(() -> seesExactly(minority) && seesExactly(majority));

    // The majority elects a new leader and takes writes through voters and non-voters alike.
    await()
        .atMost(PATIENCE)
        .ignoreExceptions()
        .until(
            () -> {
              put(otherVoters0, "during-first", "x", acknowledged);
              return true;
            });
    for (int i = 0; i < 30; i++) {
      put(majority.get(i % majority.size()), "during-" + i, "d" + i, acknowledged);
    }
    assertThat(oldLeader.backend().isLeader()).as("the old leader stepped down").isFalse();

    // The minority refuses writes and strong reads at once, and keeps serving what it had.
    for (Instance x : minority) {
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> x.node().map().put("refused", "no".getBytes(UTF_8), "text/plain"))
          .isInstanceOf(BackendUnavailableException.class)
          .satisfies(
              e -> assertThat(((BackendUnavailableException) e).mayHaveCommitted()).isFalse())
          .hasMessageContaining("voters");
      assertThatThrownBy(() -> x.node().map().get("during-1", ReadConsistency.STRONG))
          .isInstanceOf(BackendUnavailableException.class);
      long millis = (System.nanoTime() - t0) / 1_000_000;
      assertThat(millis).as("refusal on %s took %d ms", x.name(), millis).isLessThan(1000);
      assertThat(x.node().map().get("during-1"))
          .as("no write of the majority reached %s", x.name())
          .isNull();
    }
    assertThat(minority.get(1).node().map().get("before-7")).isEqualTo(seenBefore);
    assertThat(minority.get(1).node().map().replica().appliedRevision()).isEqualTo(appliedBefore);

    heal(all);
    await().atMost(PATIENCE).until(() -> seesExactly(all));
    for (int i = 0; i < 10; i++) {
      put(all.get(i % all.size()), "after-" + i, "a" + i, acknowledged);
    }

    long source =
        Digests.of(oldLeader.backend().snapshot().orTimeout(10, TimeUnit.SECONDS).join().entries());
    await()
        .atMost(PATIENCE)
        .until(() -> all.stream().allMatch(x -> x.node().map().replica().digest() == source));
    for (Instance x : all) {
      for (Map.Entry<String, String> e : acknowledged.entrySet()) {
        Versioned v = x.node().map().get(e.getKey());
        assertThat(v).as("%s on %s", e.getKey(), x.name()).isNotNull();
        assertThat(v.valueAsString()).as("%s on %s", e.getKey(), x.name()).isEqualTo(e.getValue());
      }
      assertThat(x.node().map().get("refused")).isNull();
    }
    // The minority catches up by re-listing (a jump, or a progress mark above what it applied), or,
    // when an election follows the merge, from the new leader's re-send of its recent changes.
    assertThat(minority.get(1).node().map().replica().appliedRevision())
        .isGreaterThan(appliedBefore);
  }

  private static void put(
      Instance via, String key, String value, Map<String, String> acknowledged) {
    WriteResult w = via.node().map().put(key, value.getBytes(UTF_8), "text/plain");
    assertThat(w.isApplied()).isTrue();
    acknowledged.put(key, value);
  }

  private static void cut(List<Instance> a, List<Instance> b) {
    Address[] fromA = a.stream().map(Instance::address).toArray(Address[]::new);
    Address[] fromB = b.stream().map(Instance::address).toArray(Address[]::new);
    a.forEach(x -> x.cut().addIgnoredMembers(fromB));
    b.forEach(x -> x.cut().addIgnoredMembers(fromA));
  }

  private static void heal(List<Instance> all) {
    all.forEach(x -> x.cut().resetIgnoredMembers());
  }

  /** Every instance of {@code side} sees exactly {@code side} in its view. */
  private static boolean seesExactly(List<Instance> side) {
    java.util.Set<Address> want = new java.util.HashSet<>();
    side.forEach(x -> want.add(x.address()));
    return side.stream()
        .allMatch(
            x -> {
              org.jgroups.View v = x.backend().view();
              return v != null && new java.util.HashSet<>(v.getMembers()).equals(want);
            });
  }
}
