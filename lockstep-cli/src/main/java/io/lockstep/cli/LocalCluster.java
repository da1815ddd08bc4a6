package io.lockstep.cli;

import io.lockstep.process.EtcdProcess;
import io.lockstep.process.FreePorts;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * N local server processes for {@code lockstep demo} and {@code lockstep bench --spawn-local}, on
 * the backend named by {@code --backend}:
 *
 * <ul>
 *   <li>{@code peer} (the default): the embedded peer backend; the first three instances (or all,
 *       when fewer) are the Raft voters on free loopback ports, the rest non-voters; Raft logs go
 *       to a throwaway folder;
 *   <li>{@code etcd}: a throwaway etcd started for the run (the {@code etcd} binary must be
 *       installed; {@code scripts/setup} installs it);
 *   <li>any other value: a backend URI every instance uses as given.
 * </ul>
 *
 * <p>{@link #close()} stops every process it started and removes every folder it made.
 */
final class LocalCluster implements AutoCloseable {
  /** What {@code --backend} means when not given. */
  static final String DEFAULT = "peer";

  private final ServerCluster cluster;
  private final EtcdProcess etcd;
  private final Path peerData;
  private final String description;

  private LocalCluster(ServerCluster cluster, EtcdProcess etcd, Path peerData, String description) {
    this.cluster = cluster;
    this.etcd = etcd;
    this.peerData = peerData;
    this.description = description;
  }

  static LocalCluster start(
      int instances,
      String backend,
      String keyPrefix,
      String idPrefix,
      List<String> javaOptions,
      PrintStream out) {
    return start(instances, backend, keyPrefix, idPrefix, javaOptions, List.of(), out);
  }

  /** As above, with extra {@code serve} arguments for every instance. */
  static LocalCluster start(
      int instances,
      String backend,
      String keyPrefix,
      String idPrefix,
      List<String> javaOptions,
      List<String> serveArgs,
      PrintStream out) {
    String choice = backend == null || backend.isBlank() ? DEFAULT : backend.strip();
    EtcdProcess etcd = null;
    Path data = null;
    try {
      ServerCluster.Builder b;
      String description;
      if (choice.equals("peer")) {
        data = Files.createTempDirectory("lockstep-peer-");
        int voterCount = Math.min(instances, 3);
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
          ports.add(FreePorts.one());
        }
        List<String> voters = new ArrayList<>();
        for (int i = 0; i < voterCount; i++) {
          voters.add("127.0.0.1:" + ports.get(i));
        }
        String base = "peer://" + String.join(",", voters);
        Path dataDir = data;
        b =
            ServerCluster.builder(base)
                .backend(
                    i ->
                        base
                            + "?bind=127.0.0.1:"
                            + ports.get(i)
                            + "&data="
                            + dataDir.resolve(idPrefix + (i + 1)));
        description = "the embedded peer backend (" + voterCount + " Raft voters: " + base + ")";
      } else if (choice.equals("etcd")) {
        out.println("• starting a throwaway etcd ...");
        etcd = new EtcdProcess();
        b = ServerCluster.builder(etcd.backendUri());
        description = "etcd at " + etcd.clientUrl();
      } else {
        b = ServerCluster.builder(choice);
        description = choice;
      }
      out.printf("• starting %d Lockstep instances on %s ...%n", instances, description);
      b.instances(instances)
          .keyPrefix(keyPrefix)
          .idPrefix(idPrefix)
          .args(serveArgs.toArray(String[]::new));
      if (javaOptions != null) {
        b.javaOptions(javaOptions.toArray(String[]::new));
      }
      return new LocalCluster(b.start(), etcd, data, description);
    } catch (IOException e) {
      cleanUp(etcd, data);
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      cleanUp(etcd, data);
      throw e;
    }
  }

  List<ServerProcess> nodes() {
    return cluster.nodes();
  }

  String description() {
    return description;
  }

  @Override
  public void close() {
    cluster.close();
    cleanUp(etcd, peerData);
  }

  private static void cleanUp(EtcdProcess etcd, Path data) {
    if (etcd != null) {
      etcd.close();
    }
    TempDirs.deleteTree(data);
  }
}
