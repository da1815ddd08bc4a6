package io.lockstep.peer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.ReplicatedMap;
import io.lockstep.process.TempDirs;
import io.lockstep.spi.Backend;
import io.lockstep.spi.Snapshot;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, path 1, for the peer backend: every voter's data folder is lost, the group starts again
 * with an empty Raft log and numbers revisions from 1. The log's history id (the epoch, kept in the
 * state machine and its snapshots) is new, and replicas that outlived the voters reset to the new
 * group's state.
 */
class PeerHistoryResetIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private final PeerGroup group = new PeerGroup("history-" + System.nanoTime(), 3);
  private final PeerBackend[] voters = new PeerBackend[3];

  @AfterEach
  void close() {
    group.close();
  }

  private void startVoters() {
    for (int i = 0; i < 3; i++) {
      voters[i] = group.backend(group.voterUri(i), "voter-" + i);
    }
    await()
        .atMost(PATIENCE)
        .ignoreExceptions()
        .until(() -> put("probe", "p") > 0); // a leader is elected and takes writes
  }

  private long put(String key, String value) {
    for (PeerBackend v : voters) {
      if (v.isLeader()) {
        return v.put(key, value.getBytes(UTF_8), "text/plain", Backend.ANY_REVISION)
            .orTimeout(10, TimeUnit.SECONDS)
            .join()
            .revision();
      }
    }
    throw new IllegalStateException("no leader yet");
  }

  private Snapshot listing() {
    return voters[0].snapshot().orTimeout(10, TimeUnit.SECONDS).join();
  }

  @Test
  void everyVotersFolderLost_newEpoch_replicasResetToTheNewGroup() {
    startVoters();
    Lockstep a = group.node(group.nonVoterUri(), "replica-a");
    Lockstep b = group.node(group.nonVoterUri(), "replica-b");
    for (int i = 1; i <= 6; i++) {
      put("k" + i, "old-" + i);
    }
    await()
        .atMost(PATIENCE)
        .until(
            () ->
                a.map().replica().appliedRevision() == 7
                    && b.map().replica().appliedRevision() == 7);
    String oldEpoch = listing().epoch();
    assertThat(oldEpoch).isNotEmpty();

    for (PeerBackend v : voters) {
      v.close();
    }
    for (int i = 0; i < 3; i++) {
      TempDirs.deleteTree(group.dataDir(i));
    }
    startVoters(); // revision 1: "probe" again
    put("k1", "new-1"); // revision 2, which the replicas hold as k1's old write
    put("k9", "new-9"); // revision 3
    Snapshot now = listing();
    assertThat(now.epoch()).isNotEmpty().isNotEqualTo(oldEpoch);
    assertThat(now.revision()).isEqualTo(3);

    // The group keeps taking writes, as a live one does: a replica that missed the new group's
    // first commits (they may be multicast before the old and new views merge) sees the next
    // ones, whose revisions it holds other changes at, or a progress mark below what it applied.
    java.util.concurrent.atomic.AtomicInteger ticks =
        new java.util.concurrent.atomic.AtomicInteger();
    for (Lockstep n : List.of(a, b)) {
      ReplicatedMap m = n.map();
      await()
          .atMost(PATIENCE)
          .untilAsserted(
              () -> {
                put("tick", Integer.toString(ticks.incrementAndGet()));
                assertThat(m.get("k1")).isNotNull();
                assertThat(m.get("k1").valueAsString()).isEqualTo("new-1");
                assertThat(m.get("k2")).isNull();
                assertThat(m.get("k9").valueAsString()).isEqualTo("new-9");
              });
      assertThat(m.replica().stats().resets()).isGreaterThanOrEqualTo(1);
    }
    Snapshot last = listing();
    for (Lockstep n : List.of(a, b)) {
      await()
          .atMost(PATIENCE)
          .untilAsserted(
              () -> {
                assertThat(n.map().replica().appliedRevision()).isEqualTo(last.revision());
                assertThat(n.map().replica().digest()).isEqualTo(Digests.of(last.entries()));
              });
    }
  }
}
