package io.lockstep.process;

import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;

/**
 * A real, single-member etcd server for tests, on two free loopback ports (client and peer) with a
 * throwaway data directory; its life cycle (stop, kill, pause, restart on the same ports and data,
 * close) is {@link LocalServer}'s.
 *
 * <p>The constructor starts the server and returns once {@code /health} answers healthy.
 *
 * <p>Settings: no automatic compaction ({@code --auto-compaction-retention 0}; tests compact
 * explicitly), a 256 MiB quota, and {@code --unsafe-no-fsync}: the data survives a stop or a kill
 * of etcd (it is in the page cache) but not a crash of the machine, which tests do not need. etcd's
 * output goes to {@code etcd.log} in the directory; failures quote its tail.
 *
 * <p>The binary is {@code $ETCD_BIN}, else {@code etcd} on the {@code PATH}, else {@code
 * /usr/bin/etcd}. When none exists the constructor fails: tests that need etcd never skip. Thread
 * safe; no dependency on a test framework.
 */
public final class EtcdProcess extends LocalServer {
  private final boolean tls;

  /**
   * Starts etcd on free loopback ports with a new data directory, and waits until it is healthy.
   */
  public EtcdProcess() {
    this(new String[0]);
  }

  /**
   * As {@link #EtcdProcess()}, with extra etcd flags, e.g. {@code "--grpc-keepalive-interval",
   * "1s", "--grpc-keepalive-timeout", "1s"} so that etcd drops a frozen client's connection.
   */
  public EtcdProcess(String... extraArgs) {
    this(
        Binaries.locate("ETCD_BIN", "etcd", "etcd-server"),
        FreePorts.take(2),
        TempDirs.create("lockstep-etcd-"),
        List.of(extraArgs));
  }

  /**
   * Starts etcd serving its clients over TLS only ({@code https}, with {@code cert} and {@code
   * key}, PEM), trusting client certificates signed by {@code ca}, and requiring one when {@code
   * clientCertAuth} ({@code --client-cert-auth}). {@code probe} is the health probe's TLS context:
   * it must trust {@code ca}, and present a client certificate when one is required. The peer port
   * stays plain (one member, on loopback).
   */
  public static EtcdProcess withTls(
      Path cert, Path key, Path ca, boolean clientCertAuth, SSLContext probe, String... extraArgs) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--cert-file",
                cert.toString(),
                "--key-file",
                key.toString(),
                "--trusted-ca-file",
                ca.toString()));
    if (clientCertAuth) {
      args.add("--client-cert-auth");
    }
    args.addAll(List.of(extraArgs));
    return new EtcdProcess(
        Binaries.locate("ETCD_BIN", "etcd", "etcd-server"),
        FreePorts.take(2),
        TempDirs.create("lockstep-etcd-"),
        args,
        probe);
  }

  private EtcdProcess(Path binary, List<Integer> ports, Path dir, List<String> extraArgs) {
    this(binary, ports, dir, extraArgs, null);
  }

  private EtcdProcess(
      Path binary, List<Integer> ports, Path dir, List<String> extraArgs, SSLContext tls) {
    super(
        "etcd",
        ports.get(0),
        dir,
        ManagedProcess.builder("etcd on 127.0.0.1:" + ports.get(0))
            .command(() -> command(binary, ports.get(0), ports.get(1), dir, extraArgs, tls != null))
            .withoutEnvironment(
                name -> name.startsWith("ETCD_")) // etcd refuses flags shadowed by ETCD_* variables
            .log(dir.resolve("etcd.log"))
            .readiness(
                ReadinessProbe.http(
                    tls == null
                        ? ManagedProcess.HTTP
                        : HttpClient.newBuilder()
                            .connectTimeout(Duration.ofSeconds(1))
                            .sslContext(tls)
                            .build(),
                    URI.create(url(ports.get(0), tls != null) + "/health"),
                    body -> body.contains("\"true\""))));
    this.tls = tls != null;
    startOrClose();
  }

  /** The client URL, {@code http://127.0.0.1:PORT} ({@code https} with TLS). */
  public String clientUrl() {
    return url(port(), tls);
  }

  /** The client port, as {@link #port()}. */
  public int clientPort() {
    return port();
  }

  private static String url(int port, boolean tls) {
    return (tls ? "https" : "http") + "://127.0.0.1:" + port;
  }

  private static List<String> command(
      Path binary, int clientPort, int peerPort, Path dir, List<String> extraArgs, boolean tls) {
    String clientUrl = url(clientPort, tls);
    String peerUrl = url(peerPort, false);
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.toString());
    cmd.addAll(
        List.of(
            "--name",
            "lockstep-test",
            "--data-dir",
            dir.resolve("data").toString(),
            "--listen-client-urls",
            clientUrl,
            "--advertise-client-urls",
            clientUrl,
            "--listen-peer-urls",
            peerUrl,
            "--initial-advertise-peer-urls",
            peerUrl,
            "--initial-cluster",
            "lockstep-test=" + peerUrl,
            "--initial-cluster-token",
            "lockstep-" + dir.getFileName(), // unique, and the same across restarts
            "--initial-cluster-state",
            "new",
            "--auto-compaction-retention",
            "0",
            "--quota-backend-bytes",
            String.valueOf(256L << 20),
            "--unsafe-no-fsync",
            "--logger",
            "zap",
            "--log-outputs",
            "stderr"));
    cmd.addAll(extraArgs);
    return cmd;
  }
}
