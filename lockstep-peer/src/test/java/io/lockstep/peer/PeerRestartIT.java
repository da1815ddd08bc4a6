package io.lockstep.peer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.ReadConsistency;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Voters closed and reopened on the same data folder, in this JVM: the leader goes, a new one takes
 * over, the old one comes back and catches up (through a Raft snapshot when the log was truncated
 * while it was away); every voter restarts at once and nothing acknowledged is lost; a late joiner
 * gets the full state.
 */
class PeerRestartIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);

  /**
   * Large enough that a few dozen writes pass jgroups-raft's 1 MB log limit and force a snapshot.
   */
  private static final int BIG = 40_000;

  private final PeerGroup group = new PeerGroup("restart-" + System.nanoTime(), 3);

  @AfterEach
  void close() {
    group.close();
  }

  private final PeerBackend[] backends = new PeerBackend[3];

  private Lockstep voter(int i) {
    backends[i] = group.backend(group.voterUri(i), "voter-" + i);
    return group.node(backends[i], "voter-" + i);
  }

  @Test
  void
      leaderClosedAndReopened_rejoinsAndConverges_lateJoinerGetsEverything_fullRestartLosesNothing() {
    Lockstep[] voters = {voter(0), voter(1), voter(2)};
    Lockstep other = group.node(group.nonVoterUri(), "other");
    await()
        .atMost(PATIENCE)
        .until(
            () ->
                Arrays.stream(voters).allMatch(v -> v.map().replica().isReady())
                    && other.map().replica().isReady());
    Map<String, Versioned> written = new LinkedHashMap<>();
    for (int i = 0; i < 30; i++) {
      write(other, "k" + (i % 12), "first-" + i, written);
    }

    // The leader goes away; the other two carry on, with enough data to truncate the log meanwhile.
    int leader = leaderIndex();
    voters[leader].close();
    int survivor = (leader + 1) % 3;
    await()
        .atMost(PATIENCE)
        .ignoreExceptions()
        .until(
            () -> {
              write(voters[survivor], "while-away", "x", written);
              return true;
            });
    byte[] big = new byte[BIG];
    for (int i = 0; i < 40; i++) {
      Arrays.fill(big, (byte) ('a' + i % 26));
      write(other, "big-" + (i % 8), new String(big, UTF_8), written);
    }

    // It comes back on the same folder and port, catches up, and takes writes again.
    voters[leader] = voter(leader);
    Lockstep back = voters[leader];
    await().atMost(PATIENCE).until(() -> back.map().replica().isReady());
    write(back, "after-return", "y", written);
    awaitConverged(List.of(voters[0], voters[1], voters[2], other), written);

    // A late joiner lists the whole map.
    Lockstep late = group.node(group.nonVoterUri(), "late");
    await().atMost(PATIENCE).until(() -> late.map().replica().isReady());
    awaitConverged(List.of(late, other), written);
    assertThat(late.map().size()).isEqualTo(written.size());

    // Every voter restarts at once: the Raft logs hold every acknowledged write, at the same
    // revision.
    long revision = other.map().replica().appliedRevision();
    for (int i = 0; i < 3; i++) {
      voters[i].close();
    }
    for (int i = 0; i < 3; i++) {
      voters[i] = voter(i);
    }
    Lockstep fresh = group.node(group.nonVoterUri(), "fresh");
    await()
        .atMost(PATIENCE)
        .until(
            () ->
                fresh.map().replica().isReady()
                    && Arrays.stream(voters).allMatch(v -> v.map().replica().isReady()));
    assertThat(fresh.map().replica().appliedRevision()).isEqualTo(revision);
    awaitConverged(List.of(voters[0], voters[1], voters[2], fresh), written);
    WriteResult next = fresh.map().put("after-restart", "z".getBytes(UTF_8), "text/plain");
    assertThat(next.revision()).as("revisions go on from where they were").isEqualTo(revision + 1);
    assertThat(voters[2].map().get("after-restart", ReadConsistency.STRONG).valueAsString())
        .isEqualTo("z");
  }

  private int leaderIndex() {
    List<Integer> leaders = new ArrayList<>();
    for (int i = 0; i < backends.length; i++) {
      if (backends[i].isLeader()) {
        leaders.add(i);
      }
    }
    assertThat(leaders).hasSize(1);
    return leaders.get(0);
  }

  private static void write(
      Lockstep via, String key, String value, Map<String, Versioned> written) {
    WriteResult w = via.map().put(key, value.getBytes(UTF_8), "text/plain");
    assertThat(w.isApplied()).isTrue();
    written.put(key, new Versioned(key, value.getBytes(UTF_8), "text/plain", w.revision()));
  }

  private static void awaitConverged(List<Lockstep> nodes, Map<String, Versioned> written) {
    long expected = Digests.of(written.values());
    await()
        .atMost(PATIENCE)
        .until(() -> nodes.stream().allMatch(n -> n.map().replica().digest() == expected));
    for (Lockstep n : nodes) {
      for (Versioned v : written.values()) {
        assertThat(n.map().get(v.key())).as("%s on %s", v.key(), n.self().id()).isEqualTo(v);
      }
    }
    Lockstep first = nodes.get(0);
    assertThat(first.map().get("k0", ReadConsistency.STRONG)).isEqualTo(written.get("k0"));
    List<String> ids = nodes.stream().map(n -> n.self().id()).toList();
    await()
        .atMost(PATIENCE)
        .until(
            () ->
                first.members().orTimeout(5, TimeUnit.SECONDS).join().stream()
                    .map(m -> m.id())
                    .toList()
                    .containsAll(ids));
  }
}
