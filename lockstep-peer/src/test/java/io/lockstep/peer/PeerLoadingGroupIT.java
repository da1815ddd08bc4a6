package io.lockstep.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.GroupOptions;
import io.lockstep.Loaded;
import io.lockstep.Loader;
import io.lockstep.LoadingGroup;
import io.lockstep.Lockstep;
import io.lockstep.process.FreePorts;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Embedded use from plain Java, on the real peer backend: two nodes (each a Raft voter on its own
 * free port and throwaway folder), each with a loading group serving the peer protocol on its own
 * listener at the URL the node advertises. Every key is loaded once across both, on its owner.
 */
class PeerLoadingGroupIT {
  private final PeerGroup peers = new PeerGroup("group-" + System.nanoTime(), 2);
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
    peers.close();
  }

  @Test
  void twoEmbeddedNodes_loadEachKeyOnce() throws Exception {
    List<Integer> ports = FreePorts.take(2);
    Map<String, AtomicInteger> loads = new ConcurrentHashMap<>();
    List<Lockstep> nodes = new ArrayList<>();
    List<LoadingGroup> groups = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      int port = ports.get(i);
      Lockstep node =
          Lockstep.builder()
              .backend(peers.voterUri(i))
              .keyPrefix(peers.cluster)
              .instanceId("n" + i)
              .advertiseUrl("http://127.0.0.1:" + port)
              .build();
      open.add(node);
      nodes.add(node);
      String me = "n" + i;
      Loader loader =
          key -> {
            loads.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            return Loaded.of((key + " from " + me).getBytes(StandardCharsets.UTF_8));
          };
      LoadingGroup g =
          node.group(
              "users",
              loader,
              GroupOptions.builder()
                  .listenPort(port)
                  .membershipPollInterval(Duration.ofMillis(100))
                  .build());
      open.add(g);
      groups.add(g);
    }
    // both groups route over both members (not only the nodes: the groups follow them a moment
    // later)
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> groups.get(0).members().size() == 2 && groups.get(1).members().size() == 2);
    for (int k = 0; k < 40; k++) {
      byte[] a = groups.get(0).getBlocking("user-" + k);
      byte[] b = groups.get(1).getBlocking("user-" + k);
      assertThat(b).isEqualTo(a); // one value, from the owner
    }
    assertThat(loads).hasSize(40);
    assertThat(loads.values()).allSatisfy(c -> assertThat(c).hasValue(1));
    assertThat(groups.get(0).stats().peerLoads()).isPositive();
    assertThat(groups.get(1).stats().peerLoads()).isPositive();
    assertThat(groups.get(0).stats().peerErrors() + groups.get(1).stats().peerErrors()).isZero();
    // the owners split the keys: each node loaded some
    long fromN0 =
        loads.keySet().stream()
            .filter(
                k ->
                    new String(groups.get(0).getBlocking(k), StandardCharsets.UTF_8).endsWith("n0"))
            .count();
    assertThat(fromN0).isBetween(1L, 39L);
  }
}
