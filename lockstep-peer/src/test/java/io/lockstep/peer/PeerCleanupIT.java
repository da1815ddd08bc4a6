package io.lockstep.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Closing every node leaves no thread, no bound port and (with the harness) no folder behind. */
class PeerCleanupIT {
  @Test
  void closedGroup_leavesNoThreadsPortsOrFolders() throws Exception {
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    PeerGroup g = new PeerGroup("cleanup-" + System.nanoTime(), 3);
    List<Integer> ports = g.ports;
    try (g) {
      Lockstep a = g.node(g.voterUri(0), "a");
      g.node(g.voterUri(1), "b");
      g.node(g.voterUri(2), "c");
      Lockstep d = g.node(g.nonVoterUri(), "d");
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> a.map().replica().isReady() && d.map().replica().isReady());
      d.map().put("k", new byte[] {1}, null);
      assertThat(Files.isDirectory(g.dataDir(0))).isTrue();
    }
    assertThat(Files.exists(g.root)).isFalse();
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              Set<String> extra =
                  Thread.getAllStackTraces().keySet().stream()
                      .filter(
                          t ->
                              t.isAlive()
                                  && !before.contains(t)
                                  && !t.getName().startsWith("ForkJoinPool")
                                  && !t.getName().startsWith("awaitility"))
                      .map(Thread::getName)
                      .collect(Collectors.toSet());
              assertThat(extra).as("threads left behind").isEmpty();
            });
    for (int port : ports) {
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress("127.0.0.1", port));
      }
    }
  }
}
