package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A peer voter killed with SIGKILL and started again at once, on the same address, port and data
 * folder, while the group still lists its killed incarnation: the coordinator refuses the join as a
 * duplicate Raft member, and the new process must wait and join once the group has dropped the old
 * incarnation, never exit. Three real server processes, all voters.
 *
 * <p>The window is made certain rather than left to timing. A closed socket is noticed at once by
 * the member that watches the killed one (JGroups' FD_SOCK2: each member watches the next one in
 * the view), so that member is frozen (SIGSTOP) across the kill and the restart: the coordinator
 * still lists the old incarnation when the new one asks to join, and only drops it once the watcher
 * is thawed (or after the failure timeout, 10 s).
 */
class PeerRejoinIT {
  /** Far above the group's failure timeout (10 s). */
  private static final Duration READY = Duration.ofSeconds(60);

  /** Long enough for the restarted JVM to ask to join; short of the failure timeout. */
  private static final Duration WATCHER_FROZEN = Duration.ofSeconds(6);

  @Test
  void voterKilledAndRestartedAtOnce_onSamePortAndData_waitsForTheGroup_joins_converges()
      throws Exception {
    Path data = Files.createTempDirectory("lockstep-peer-rejoin-it-");
    try (ServerCluster cluster =
        PeerClusterIT.loopbackPeers(data, 3).startOnly(0).keyPrefix("peer-rejoin").start()) {
      List<ServerProcess> all = cluster.nodes();
      // One after the other, so the view is [0, 1, 2]: 0 coordinates, 1 watches 2.
      all.get(0).start();
      await()
          .atMost(READY)
          .until(() -> Files.readString(all.get(0).logFile()).contains(": 1 member(s)"));
      all.get(1).start();
      all.get(0).awaitReady(READY);
      all.get(1).awaitReady(READY);
      all.get(2).start().awaitReady(READY);
      ServerProcess coordinator = all.get(0);
      ServerProcess watcher = all.get(1);
      ServerProcess victim = all.get(2);
      for (int i = 0; i < 20; i++) {
        assertThat(Http.put(all.get(i % 3).url(), "before-" + i, "1").status()).isEqualTo(200);
      }
      PeerClusterIT.awaitEqualDigests(all, Duration.ofSeconds(30));

      watcher.pause();
      long t0;
      try {
        victim.kill();
        victim.start(); // at once: the group still lists the killed incarnation
        t0 = System.nanoTime();
        Thread.sleep(WATCHER_FROZEN.toMillis());
      } finally {
        watcher.resume();
      }
      try {
        victim.awaitReady(READY);
      } catch (RuntimeException e) {
        throw new AssertionError(
            "the restarted "
                + victim.id()
                + " did not become ready (alive="
                + victim.isAlive()
                + ")\n"
                + cluster.logTails(),
            e);
      }
      String log = Files.readString(victim.logFile());
      System.out.printf(
          "peer rejoin: %s ready %.1f s after its restart, refused %d time(s)%n",
          victim.id(),
          (System.nanoTime() - t0) / 1e9,
          log.split("waiting for the group to drop", -1).length - 1);
      assertThat(log)
          .as("the restarted voter says what it waits for")
          .contains("waiting for the group to drop");

      for (int i = 0; i < 20; i++) {
        assertThat(Http.put(all.get(i % 3).url(), "after-" + i, "1").status()).isEqualTo(200);
      }
      PeerClusterIT.awaitEqualDigests(all, Duration.ofSeconds(30));
      assertThat(Http.get(victim.url(), "before-19", "").status()).isEqualTo(200);
      assertThat(Http.get(victim.url(), "after-19", "").status()).isEqualTo(200);
      assertThat(Http.get(coordinator.url(), "after-19", "").status()).isEqualTo(200);
      for (ServerProcess n : all) {
        assertThat(n.isAlive()).as(n.id() + " alive").isTrue();
      }
    } finally {
      TempDirs.deleteTree(data);
    }
  }
}
