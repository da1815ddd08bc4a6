package io.lockstep.it;

import io.lockstep.process.EtcdProcess;
import io.lockstep.process.RedisProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import io.lockstep.testkit.NetLab;
import io.lockstep.testkit.TcpProxy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The per-backend part of {@link ChaosIT}: starts the backend and three server processes on it,
 * names the faults only this backend has, and heals them all at the end. Each fault heals itself
 * after a bounded hold; {@link #healAll()} is the safety net.
 *
 * <p>Faults that reset the source's history (Redis restarted without its data, etcd restored from
 * an older snapshot, a peer voter's folder wiped) are marked {@code resetsHistory}; they run unless
 * {@code -Dchaos.historyResetFaults=false}.
 */
abstract class ChaosBackend implements AutoCloseable {
  static final Duration READY = Duration.ofSeconds(60);

  /** A named fault: applies itself, holds for a while (chosen with {@code r}), heals. */
  record Fault(String name, boolean resetsHistory, Action action) {}

  @FunctionalInterface
  interface Action {
    void run(Random r) throws Exception;
  }

  ServerCluster cluster;

  abstract String name();

  /** Starts the backend and the cluster, with key prefix {@code prefix}. */
  abstract void start(String prefix) throws Exception;

  /** This backend's own faults (instance kills and pauses are common to all). */
  abstract List<Fault> faults();

  /** Undoes every fault of this backend that may still be in force. */
  abstract void healBackend();

  void healAll() {
    healBackend();
    for (ServerProcess n : cluster.nodes()) {
      if (n.isAlive()) {
        n.resume();
      } else {
        n.start().awaitReady(READY);
      }
    }
  }

  /** Kills every process this backend started and deletes their folders. */
  @Override
  public abstract void close();

  /** Log tails of the backend, for failure messages. */
  abstract String backendLog();

  static ChaosBackend named(String name) {
    return switch (name) {
      case "etcd" -> new Etcd();
      case "redis" -> new Redis();
      case "peer" -> new Peer();
      default -> throw new IllegalArgumentException("backend: etcd, redis or peer, was " + name);
    };
  }

  static void hold(Random r, int minMillis, int maxMillis) throws InterruptedException {
    Thread.sleep(minMillis + r.nextInt(maxMillis - minMillis + 1));
  }

  /** Per-instance proxies in front of a backend server, so faults can reset and freeze them. */
  abstract static class Proxied extends ChaosBackend {
    final List<TcpProxy> proxies = new ArrayList<>();

    void proxies(int port) {
      for (int i = 0; i < 3; i++) {
        proxies.add(new TcpProxy("127.0.0.1", port));
      }
    }

    List<Fault> proxyFaults() {
      return List.of(
          new Fault(
              "proxy-reset",
              false,
              r -> {
                // an answer dropped mid-command, then every connection of one instance reset
                TcpProxy p = proxies.get(r.nextInt(proxies.size()));
                p.closeOnNextReply();
                hold(r, 100, 600);
                proxies.get(r.nextInt(proxies.size())).cut();
              }),
          new Fault(
              "proxy-freeze",
              false,
              r -> {
                // one instance cut off from the backend, connections open (a partition)
                TcpProxy p = proxies.get(r.nextInt(proxies.size()));
                p.pause();
                try {
                  hold(r, 1000, 4000);
                } finally {
                  p.resume();
                }
              }));
    }

    @Override
    void healBackend() {
      proxies.forEach(TcpProxy::resume);
    }

    @Override
    public void close() {
      if (cluster != null) {
        cluster.close();
      }
      proxies.forEach(TcpProxy::close);
    }
  }

  static final class Etcd extends Proxied {
    EtcdProcess etcd;

    @Override
    String name() {
      return "etcd";
    }

    @Override
    void start(String prefix) {
      etcd = new EtcdProcess("--grpc-keepalive-interval", "1s", "--grpc-keepalive-timeout", "1s");
      proxies(etcd.port());
      cluster =
          ServerCluster.builder(etcd.backendUri())
              .backend(i -> etcd.backendUri(proxies.get(i).endpoint()))
              .keyPrefix(prefix)
              .start();
    }

    @Override
    List<Fault> faults() {
      List<Fault> f = new ArrayList<>(proxyFaults());
      f.add(
          new Fault(
              "etcd-restart",
              false,
              r -> {
                etcd.stop();
                try {
                  hold(r, 500, 3000);
                } finally {
                  etcd.start();
                }
              }));
      f.add(
          new Fault(
              "etcd-snapshot-restore",
              true,
              r -> {
                // the first time takes a snapshot and lets writes go on for a while; every time
                // then goes back to that snapshot
                Path snap = etcd.directory().resolve("chaos.snapshot");
                if (!Files.exists(snap)) {
                  etcdctl("--endpoints", etcd.clientUrl(), "snapshot", "save", snap.toString());
                  hold(r, 1000, 3000);
                }
                java.util.regex.Matcher m =
                    java.util.regex.Pattern.compile(
                            "initial-advertise-peer-urls\\\":\\[\\\"(http://[^\\\"]+)")
                        .matcher(Files.readString(etcd.logFile()));
                if (!m.find()) {
                  throw new IllegalStateException("no peer URL in " + etcd.logFile());
                }
                String peer = m.group(1);
                etcd.stop();
                Path data = etcd.directory().resolve("data");
                TempDirs.deleteTree(data);
                etcdctl(
                    "snapshot",
                    "restore",
                    snap.toString(),
                    "--data-dir",
                    data.toString(),
                    "--name",
                    "lockstep-test",
                    "--initial-cluster",
                    "lockstep-test=" + peer,
                    "--initial-advertise-peer-urls",
                    peer,
                    "--initial-cluster-token",
                    "lockstep-" + etcd.directory().getFileName());
                etcd.start();
              }));
      return f;
    }

    static void etcdctl(String... args) throws IOException, InterruptedException {
      List<String> cmd = new ArrayList<>(List.of("etcdctl"));
      cmd.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("ETCDCTL_API", "3");
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
      }
    }

    @Override
    void healBackend() {
      super.healBackend();
      if (!etcd.isRunning()) {
        etcd.start();
      }
      etcd.resume();
    }

    @Override
    String backendLog() {
      return etcd == null ? "" : "--- etcd ---\n" + etcd.logTail(20);
    }

    @Override
    public void close() {
      super.close();
      if (etcd != null) {
        etcd.close();
      }
    }
  }

  static final class Redis extends Proxied {
    RedisProcess redis;

    @Override
    String name() {
      return "redis";
    }

    @Override
    void start(String prefix) {
      redis = RedisProcess.withAof();
      proxies(redis.port());
      cluster =
          ServerCluster.builder(redis.backendUri())
              .backend(i -> redis.backendUri(proxies.get(i).endpoint()))
              .keyPrefix(prefix)
              .start();
    }

    @Override
    List<Fault> faults() {
      List<Fault> f = new ArrayList<>(proxyFaults());
      f.add(
          new Fault(
              "redis-restart-aof",
              false,
              r -> {
                redis.stop(); // SIGTERM: Redis flushes its append-only file
                try {
                  hold(r, 500, 3000);
                } finally {
                  redis.start();
                }
              }));
      f.add(
          new Fault(
              "redis-restart-without-data",
              true,
              r -> {
                redis.kill();
                try (Stream<Path> files = Files.list(redis.directory())) {
                  for (Path p : files.toList()) {
                    if (!p.getFileName().toString().equals("redis.log")) {
                      TempDirs.deleteTree(p);
                    }
                  }
                }
                redis.start();
              }));
      return f;
    }

    @Override
    void healBackend() {
      super.healBackend();
      if (!redis.isRunning()) {
        redis.start();
      }
      redis.resume();
    }

    @Override
    String backendLog() {
      return redis == null ? "" : "--- redis ---\n" + redis.logTail(20);
    }

    @Override
    public void close() {
      super.close();
      if (redis != null) {
        redis.close();
      }
    }
  }

  /** Three voters, each in its own network namespace of a NetLab, with data folders. */
  static final class Peer extends ChaosBackend {
    NetLab lab;
    Path data;
    volatile boolean partitioned;

    @Override
    String name() {
      return "peer";
    }

    @Override
    void start(String prefix) throws IOException {
      data = Files.createTempDirectory("lockstep-chaos-peer-");
      lab = NetLab.create(3);
      int raftPort = 7800;
      String voters =
          String.join(
              ",",
              lab.address(0) + ":" + raftPort,
              lab.address(1) + ":" + raftPort,
              lab.address(2) + ":" + raftPort);
      cluster =
          ServerCluster.builder("peer://" + voters)
              .backend(
                  i ->
                      "peer://"
                          + voters
                          + "?bind="
                          + lab.address(i)
                          + ":"
                          + raftPort
                          + "&data="
                          + folder(i))
              .hosts(lab)
              .keyPrefix(prefix)
              .start();
    }

    Path folder(int i) {
      return data.resolve("node-" + i);
    }

    @Override
    List<Fault> faults() {
      return List.of(
          new Fault(
              "netlab-partition",
              false,
              r -> {
                int alone = r.nextInt(3);
                Set<Integer> rest = new java.util.HashSet<>(Set.of(0, 1, 2));
                rest.remove(alone);
                partitioned = true;
                lab.partition(Set.of(alone), rest);
                try {
                  hold(r, 2000, 5000);
                } finally {
                  lab.heal();
                  partitioned = false;
                }
              }),
          new Fault(
              "peer-voter-folder-wiped",
              true,
              r -> {
                int i = r.nextInt(3);
                ServerProcess n = cluster.node(i);
                n.kill();
                TempDirs.deleteTree(folder(i));
                n.start().awaitReady(READY);
              }));
    }

    @Override
    void healBackend() {
      lab.heal();
    }

    @Override
    String backendLog() {
      return "";
    }

    @Override
    public void close() {
      if (cluster != null) {
        cluster.close();
      }
      if (lab != null) {
        lab.close();
      }
      if (data != null) {
        TempDirs.deleteTree(data);
      }
    }
  }
}
