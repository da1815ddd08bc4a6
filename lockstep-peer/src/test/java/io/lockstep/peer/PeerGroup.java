package io.lockstep.peer;

import io.lockstep.Lockstep;
import io.lockstep.process.FreePorts;
import io.lockstep.process.TempDirs;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A peer group for tests, in this JVM: {@code voters} voter endpoints on free loopback ports, a
 * throwaway folder for their Raft logs, URIs for voters and non-voters, and cleanup of everything
 * it handed out (nodes, backends, the folder) on {@link #close()}.
 */
final class PeerGroup implements AutoCloseable {
  static final String FAILURE_TIMEOUT = "3s";

  final String cluster;
  final List<Integer> ports;
  final Path root;
  private final List<AutoCloseable> opened = new ArrayList<>();

  PeerGroup(String cluster, int voters) {
    this.cluster = cluster;
    this.ports = FreePorts.take(voters);
    try {
      this.root = Files.createTempDirectory("lockstep-peer-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String list() {
    return ports.stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
  }

  /** The URI of voter {@code i} (0-based), with its own data folder. */
  String voterUri(int i) {
    return "peer://"
        + list()
        + "?bind=127.0.0.1:"
        + ports.get(i)
        + "&data="
        + root.resolve("voter-" + i)
        + "&failure_timeout="
        + FAILURE_TIMEOUT;
  }

  /** The URI of a non-voter (any free port). */
  String nonVoterUri() {
    return "peer://" + list() + "?failure_timeout=" + FAILURE_TIMEOUT;
  }

  Path dataDir(int voter) {
    return root.resolve("voter-" + voter);
  }

  static BackendContext context(String cluster, String instanceId) {
    return new BackendContext(cluster, instanceId, Duration.ofSeconds(3));
  }

  /** A backend on {@code uri}, closed with the group. */
  PeerBackend backend(String uri, String instanceId) {
    PeerBackend b = PeerBackend.create(BackendUri.parse(uri), context(cluster, instanceId));
    opened.add(b);
    return b;
  }

  /** A started node on {@code uri}, closed with the group. */
  Lockstep node(String uri, String instanceId) {
    Lockstep n =
        Lockstep.builder()
            .backend(uri)
            .keyPrefix(cluster)
            .instanceId(instanceId)
            .advertiseUrl("http://" + instanceId + ".test")
            .build();
    opened.add(n);
    return n;
  }

  /** A started node over a backend made here (so a test can reach the backend's channel). */
  Lockstep node(PeerBackend backend, String instanceId) {
    Lockstep n =
        Lockstep.builder()
            .backend(backend)
            .keyPrefix(cluster)
            .instanceId(instanceId)
            .advertiseUrl("http://" + instanceId + ".test")
            .build();
    opened.add(n);
    return n;
  }

  @Override
  public void close() {
    List<AutoCloseable> all = new ArrayList<>(opened);
    opened.clear();
    java.util.Collections.reverse(all);
    for (AutoCloseable c : all) {
      try {
        c.close();
      } catch (Exception ignored) {
        // best effort: the rest must still go
      }
    }
    TempDirs.deleteTree(root);
  }
}
