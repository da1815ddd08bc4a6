package io.lockstep.process;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A real, single-member etcd server for tests, on two free loopback ports (client and peer) with a
 * throwaway data directory, in the manner of Curator's {@code TestingServer}.
 *
 * <p>The constructor starts the server and returns once {@code /health} answers healthy. The server
 * can then be stopped ({@link #stop()}, SIGTERM), killed ({@link #kill()}, SIGKILL), frozen ({@link
 * #pause()}, SIGSTOP) and thawed ({@link #resume()}), and started again ({@link #start()}, {@link
 * #restart()}) on the <em>same</em> ports and data directory, so clients see an outage of the same
 * server, with its data, and not a new one. {@link #close()} kills it and deletes the directory; a
 * JVM shutdown hook does the same if the test forgets, so etcd never outlives the test JVM (except
 * when the JVM itself is killed with SIGKILL).
 *
 * <p>Settings: no automatic compaction ({@code --auto-compaction-retention 0}; tests compact
 * explicitly), a 256 MiB quota, and {@code --unsafe-no-fsync}: the data survives a stop or a kill of
 * etcd (it is in the page cache) but not a crash of the machine, which tests do not need. etcd's
 * output goes to {@code etcd.log} in the directory; failures quote its tail.
 *
 * <p>The binary is {@code $ETCD_BIN}, else {@code etcd} on the {@code PATH}, else {@code
 * /usr/bin/etcd}. When none exists the constructor fails: tests that need etcd never skip. Thread
 * safe; no dependency on a test framework.
 */
public final class EtcdProcess implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  private final Path binary;
  private final List<String> extraArgs;
  private final Path dir;
  private final int clientPort;
  private final int peerPort;
  private final String clusterToken = "lockstep-" + UUID.randomUUID();
  private final Thread shutdownHook;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
  private volatile Process process;
  private volatile Process watchdog;
  private boolean paused;
  private boolean closed;

  /** Starts etcd on free loopback ports with a new data directory, and waits until it is healthy. */
  public EtcdProcess() {
    this(new String[0]);
  }

  /**
   * As {@link #EtcdProcess()}, with extra etcd flags, e.g. {@code "--grpc-keepalive-interval",
   * "1s", "--grpc-keepalive-timeout", "1s"} so that etcd drops a frozen client's connection.
   */
  public EtcdProcess(String... extraArgs) {
    this.extraArgs = List.of(extraArgs);
    this.binary = locateBinary();
    List<Integer> ports = FreePorts.take(2);
    this.clientPort = ports.get(0);
    this.peerPort = ports.get(1);
    try {
      this.dir = Files.createTempDirectory("lockstep-etcd-");
    } catch (IOException e) {
      throw new UncheckedIOException("creating a data directory for etcd failed", e);
    }
    this.shutdownHook = new Thread(this::destroyQuietly, "etcd-process-cleanup-" + clientPort);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    try {
      start();
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Where it is
  // ---------------------------------------------------------------------------------------------

  /** The client URL, {@code http://127.0.0.1:PORT}. */
  public String clientUrl() {
    return "http://127.0.0.1:" + clientPort;
  }

  /** The client endpoint as {@code host:port}. */
  public String endpoint() {
    return "127.0.0.1:" + clientPort;
  }

  /** A Lockstep backend URI for this server, {@code etcd://127.0.0.1:PORT}. */
  public String backendUri() {
    return "etcd://" + endpoint();
  }

  /** The client port. */
  public int clientPort() {
    return clientPort;
  }

  /** The directory holding the data ({@code data/}) and the log ({@code etcd.log}). */
  public Path directory() {
    return dir;
  }

  /** The process id of the running server. */
  public synchronized long pid() {
    requireRunning("pid");
    return process.pid();
  }

  /** True while the server process is alive (paused counts as alive). */
  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  // ---------------------------------------------------------------------------------------------
  // Life cycle
  // ---------------------------------------------------------------------------------------------

  /**
   * Starts the server on the same ports and data directory and waits until it is healthy.
   *
   * @throws IllegalStateException when it is already running, was closed, or does not become
   *     healthy in time (the message carries the log's tail)
   */
  public synchronized void start() {
    if (closed) {
      throw new IllegalStateException("etcd on port " + clientPort + " was closed");
    }
    if (isRunning()) {
      throw new IllegalStateException("etcd on port " + clientPort + " is already running, pid " + process.pid());
    }
    ProcessBuilder pb = new ProcessBuilder(command());
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> k.startsWith("ETCD_")); // etcd refuses flags shadowed by ETCD_* variables
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()));
    try {
      process = pb.start();
      watchdog = startWatchdog(process.pid());
    } catch (IOException e) {
      throw new IllegalStateException("starting " + binary + " failed: " + e.getMessage(), e);
    }
    paused = false;
    awaitHealthy();
  }

  /** Stops the server gracefully (SIGTERM), waiting for it to exit; a server that hangs is killed. */
  public synchronized void stop() {
    if (!isRunning()) {
      return;
    }
    thawIfPaused();
    process.destroy();
    try {
      if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping etcd", e);
    }
  }

  /** Kills the server at once (SIGKILL), as a crash would, and waits for it to be gone. */
  public synchronized void kill() {
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    try {
      process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while killing etcd", e);
    }
    paused = false;
  }

  /** Stops and starts the server on the same ports and data directory. */
  public synchronized void restart() {
    stop();
    start();
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open but nothing is answered, as in a network
   * partition or a long GC pause.
   */
  public synchronized void pause() {
    requireRunning("pause");
    signal("-STOP");
    paused = true;
  }

  /** Lets a {@link #pause() paused} server run again (SIGCONT). */
  public synchronized void resume() {
    requireRunning("resume");
    signal("-CONT");
    paused = false;
  }

  /** Kills the server and deletes its directory. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    destroyQuietly();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Diagnostics
  // ---------------------------------------------------------------------------------------------

  /** The server's log file. */
  public Path logFile() {
    return dir.resolve("etcd.log");
  }

  /** The last {@code lines} lines of the log, or a note when there is none. */
  public String logTail(int lines) {
    Path log = logFile();
    if (!Files.exists(log)) {
      return "(no etcd log at " + log + ")";
    }
    try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
      long len = f.length();
      int window = (int) Math.min(len, 64 * 1024);
      byte[] buf = new byte[window];
      f.seek(len - window);
      f.readFully(buf);
      List<String> all = List.of(new String(buf, StandardCharsets.UTF_8).split("\n"));
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(reading " + log + " failed: " + e + ")";
    }
  }

  @Override
  public String toString() {
    return "EtcdProcess[" + clientUrl() + ", dir=" + dir + "]";
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  private List<String> command() {
    String peerUrl = "http://127.0.0.1:" + peerPort;
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.toString());
    cmd.addAll(List.of(
        "--name", "lockstep-test",
        "--data-dir", dir.resolve("data").toString(),
        "--listen-client-urls", clientUrl(),
        "--advertise-client-urls", clientUrl(),
        "--listen-peer-urls", peerUrl,
        "--initial-advertise-peer-urls", peerUrl,
        "--initial-cluster", "lockstep-test=" + peerUrl,
        "--initial-cluster-token", clusterToken,
        "--initial-cluster-state", "new",
        "--auto-compaction-retention", "0",
        "--quota-backend-bytes", String.valueOf(256L << 20),
        "--unsafe-no-fsync",
        "--logger", "zap",
        "--log-outputs", "stderr"));
    cmd.addAll(extraArgs);
    return cmd;
  }

  private void awaitHealthy() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    HttpRequest health = HttpRequest.newBuilder(URI.create(clientUrl() + "/health"))
        .timeout(Duration.ofSeconds(2)).GET().build();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r = http.send(health, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && r.body().contains("\"true\"")) {
          return;
        }
        last = "HTTP " + r.statusCode() + " " + r.body();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for etcd to start", e);
      }
      try {
        // Waiting on the process both paces the polling and notices an early exit.
        if (process.waitFor(50, TimeUnit.MILLISECONDS)) {
          throw new IllegalStateException("etcd exited with status " + process.exitValue()
              + " while starting on " + clientUrl() + "; log tail:\n" + logTail(30));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for etcd to start", e);
      }
    }
    kill();
    throw new IllegalStateException("etcd on " + clientUrl() + " not healthy within "
        + START_TIMEOUT.toSeconds() + " s (last: " + last + "); log tail:\n" + logTail(30));
  }

  private void signal(String sig) {
    try {
      Process p = new ProcessBuilder("kill", sig, String.valueOf(process.pid()))
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (p.waitFor() != 0) {
        throw new IllegalStateException("kill " + sig + " " + process.pid() + " failed: " + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("sending " + sig + " to etcd failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while signalling etcd", e);
    }
  }

  private void thawIfPaused() {
    if (paused) {
      signal("-CONT"); // a stopped process does not act on SIGTERM
      paused = false;
    }
  }

  private void requireRunning(String what) {
    if (!isRunning()) {
      throw new IllegalStateException(what + ": etcd on port " + clientPort + " is not running");
    }
  }

  /** Kills the process and deletes the directory; never throws (also the shutdown hook). */
  /**
   * A small shell loop that kills etcd when this JVM is gone, even after a SIGKILL (which runs no
   * shutdown hook), and ends by itself when etcd exits.
   */
  private static Process startWatchdog(long etcdPid) throws IOException {
    String script = "while kill -0 " + ProcessHandle.current().pid() + " 2>/dev/null && kill -0 " + etcdPid
        + " 2>/dev/null; do sleep 0.2; done; kill -9 " + etcdPid + " 2>/dev/null; exit 0";
    return new ProcessBuilder("/bin/sh", "-c", script)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
  }

  private void destroyQuietly() {
    Process w = watchdog;
    if (w != null) {
      w.destroyForcibly();
    }
    Process p = process; // no lock: the shutdown hook must not wait for a hung start()
    if (p != null) {
      p.destroyForcibly();
      try {
        p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    TempDirs.deleteTree(dir);
  }

  static Path locateBinary() {
    String env = System.getenv("ETCD_BIN");
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (Files.isExecutable(p)) {
        return p;
      }
      throw new IllegalStateException("ETCD_BIN=" + env + " is not an executable file; unset it or "
          + "run `scripts/setup` (which installs Debian's etcd-server)");
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String d : path.split(java.io.File.pathSeparator)) {
        if (!d.isEmpty()) {
          Path p = Path.of(d, "etcd");
          if (Files.isRegularFile(p) && Files.isExecutable(p)) {
            return p;
          }
        }
      }
    }
    Path fallback = Path.of("/usr/bin/etcd");
    if (Files.isExecutable(fallback)) {
      return fallback;
    }
    throw new IllegalStateException("etcd not found (looked at $ETCD_BIN, the PATH and /usr/bin/etcd): "
        + "run `scripts/setup` (which installs Debian's etcd-server)");
  }
}
