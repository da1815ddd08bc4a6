package io.lockstep.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.ReplicatedMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A benchmark run by command (not in CI): {@code ./mvnw -pl lockstep-peer -am verify
 * -Dit.test=PeerLatencyBench -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false
 * -Dfailsafe.failIfNoSpecifiedTests=false}. Measures, on three voters and one non-voter in this
 * JVM: the latency of a put as a caller sees it (committed by Raft with fsync, multicast, applied
 * on the writer) for one writer on the leader and one on a non-voter; and the time from the
 * leader's commit (its Raft future completing) to the change being applied on a non-voter. Writes
 * the figures to {@code target/peer-latency.txt}. Asserts only loose bounds; the numbers are for
 * the docs.
 */
class PeerLatencyBench {
  private static final int WARMUP = 300;
  private static final int PUTS = 2000;
  private final PeerGroup group = new PeerGroup("latency-" + System.nanoTime(), 3);

  @AfterEach
  void close() {
    group.close();
  }

  @Test
  void oneWriter_threeVoters_putLatency_andCommitToAppliedOnANonVoter() throws IOException {
    PeerBackend[] voters = new PeerBackend[3];
    Lockstep[] nodes = new Lockstep[3];
    for (int i = 0; i < 3; i++) {
      voters[i] = group.backend(group.voterUri(i), "voter-" + i);
      nodes[i] = group.node(voters[i], "voter-" + i);
    }
    Lockstep other = group.node(group.nonVoterUri(), "other");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                other.map().replica().isReady()
                    && nodes[0].map().replica().isReady()
                    && nodes[1].map().replica().isReady()
                    && nodes[2].map().replica().isReady());
    int leader = 0;
    for (int i = 0; i < 3; i++) {
      if (voters[i].isLeader()) {
        leader = i;
      }
    }
    byte[] value = new byte[100];

    Histogram onLeader = putLoop(nodes[leader].map(), "leader", value);
    Histogram onOther = putLoop(other.map(), "other", value);

    // Commit on the leader (its backend's future) to applied on the non-voter (its listener).
    Map<Long, Long> appliedAt = new ConcurrentHashMap<>();
    other.map().addListener(e -> appliedAt.put(e.revision(), System.nanoTime()));
    Histogram spread = new Histogram(3);
    for (int i = 0; i < WARMUP + PUTS; i++) {
      long[] committed = new long[1];
      long rev =
          voters[leader]
              .put("spread-" + (i % 100), value, "application/octet-stream", -1)
              .whenComplete((r, e) -> committed[0] = System.nanoTime())
              .orTimeout(5, TimeUnit.SECONDS)
              .join()
              .revision();
      await()
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(1))
          .until(() -> appliedAt.containsKey(rev));
      if (i >= WARMUP) {
        spread.recordValue(Math.max(0, appliedAt.get(rev) - committed[0]));
      }
    }

    String report =
        String.format(
            "peer backend, 3 voters + 1 non-voter in one JVM, Raft log on disk with fsync, %d puts of %d bytes, one at a time%n"
                + "put on the leader     (caller): p50 %.3f ms, p99 %.3f ms, max %.3f ms%n"
                + "put on a non-voter    (caller): p50 %.3f ms, p99 %.3f ms, max %.3f ms%n"
                + "leader commit -> applied on a non-voter: p50 %.3f ms, p99 %.3f ms, max %.3f ms%n",
            PUTS,
            value.length,
            ms(onLeader, 50),
            ms(onLeader, 99),
            onLeader.getMaxValue() / 1e6,
            ms(onOther, 50),
            ms(onOther, 99),
            onOther.getMaxValue() / 1e6,
            ms(spread, 50),
            ms(spread, 99),
            spread.getMaxValue() / 1e6);
    System.out.print(report);
    Files.writeString(Path.of("target", "peer-latency.txt"), report);
    // A benchmark, not a test: it reports figures and asserts only that it measured something.
    // It is not an *IT, so CI does not run it; README and peer.md give the command.
    assertThat(onLeader.getTotalCount()).isPositive();
    assertThat(spread.getTotalCount()).isPositive();
  }

  private static Histogram putLoop(ReplicatedMap m, String name, byte[] value) {
    Histogram h = new Histogram(3);
    for (int i = 0; i < WARMUP + PUTS; i++) {
      long t0 = System.nanoTime();
      m.put(name + "-" + (i % 100), value, "application/octet-stream");
      if (i >= WARMUP) {
        h.recordValue(System.nanoTime() - t0);
      }
    }
    return h;
  }

  private static double ms(Histogram h, double percentile) {
    return h.getValueAtPercentile(percentile) / 1e6;
  }
}
