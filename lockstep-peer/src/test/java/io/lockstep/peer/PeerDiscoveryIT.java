package io.lockstep.peer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.ReadConsistency;
import io.lockstep.WriteResult;
import io.lockstep.process.TempDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The discovery modes other than the static list: {@code peer:} alone, and a shared folder. */
class PeerDiscoveryIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private final List<AutoCloseable> open = new ArrayList<>();
  private final Path root;

  PeerDiscoveryIT() throws Exception {
    root = Files.createTempDirectory("lockstep-peer-discovery-");
  }

  @AfterEach
  void close() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
    TempDirs.deleteTree(root);
  }

  private Lockstep node(String uri, String prefix, String id) {
    Lockstep n =
        Lockstep.builder()
            .backend(uri)
            .keyPrefix(prefix)
            .instanceId(id)
            .advertiseUrl("http://" + id)
            .build();
    open.add(n);
    return n;
  }

  @Test
  void bareScheme_isAGroupOfOne_thatWritesReadsAndLists() {
    Lockstep n = node("peer:?data=" + root.resolve("solo"), "solo", "solo-1");
    await().atMost(PATIENCE).until(() -> n.map().replica().isReady());
    WriteResult w = n.map().put("k", "v".getBytes(UTF_8), "text/plain");
    assertThat(w.revision()).isEqualTo(1);
    assertThat(n.map().get("k").valueAsString()).isEqualTo("v");
    assertThat(n.map().get("k", ReadConsistency.STRONG).modRevision()).isEqualTo(1);
    assertThat(n.map().compareAndSet("k", 1, "w".getBytes(UTF_8), "text/plain").revision())
        .isEqualTo(2);
    assertThat(n.members().orTimeout(5, TimeUnit.SECONDS).join())
        .extracting(Member::id)
        .containsExactly("solo-1");
    assertThat(Files.isDirectory(root.resolve("solo"))).isTrue();
  }

  @Test
  void sharedFolder_threeVotersByInstanceId_andANonVoter() {
    String uri =
        "peer:file:" + root.resolve("group") + "?voters=f-0,f-1,f-2&failure_timeout=3s&data=";
    List<Lockstep> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      nodes.add(node(uri + root.resolve("data-" + i), "folder", "f-" + i));
    }
    nodes.add(node(uri + root.resolve("data-x"), "folder", "f-other"));
    await().atMost(PATIENCE).until(() -> nodes.stream().allMatch(n -> n.map().replica().isReady()));
    WriteResult w = nodes.get(3).map().put("k", "v".getBytes(UTF_8), "text/plain");
    for (Lockstep n : nodes) {
      assertThat(n.map().replica().awaitRevision(w.revision(), PATIENCE)).isTrue();
      assertThat(n.map().get("k").valueAsString()).isEqualTo("v");
    }
    assertThat(Files.exists(root.resolve("data-x")))
        .as("a non-voter keeps nothing on disk")
        .isFalse();
    await()
        .atMost(PATIENCE)
        .until(() -> nodes.get(0).members().orTimeout(5, TimeUnit.SECONDS).join().size() == 4);
  }
}
