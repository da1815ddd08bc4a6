package io.lockstep.process;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Redis server for tests, on a free loopback port with a throwaway directory, in the manner
 * of Curator's {@code TestingServer}.
 *
 * <p>The constructor starts the server and returns once it answers {@code PING}. The server can
 * then be stopped ({@link #stop()}, SIGTERM: Redis flushes its append-only file and exits), killed
 * ({@link #kill()}, SIGKILL), frozen ({@link #pause()}, SIGSTOP) and thawed ({@link #resume()}),
 * and started again ({@link #start()}, {@link #restart()}) on the <em>same</em> port and directory,
 * so clients see an outage of the same server, with its data, and not a new one. {@link #close()}
 * kills it and deletes the directory; a JVM shutdown hook does the same if the test forgets, and a
 * watchdog process kills the server when the JVM dies without running hooks.
 *
 * <p>Settings: no RDB snapshots ({@code --save ""}), protected mode off on loopback, and, with
 * {@link #withAof()}, an append-only file ({@code --appendonly yes --appendfsync everysec}) so the
 * data survives a stop and a restart. Output goes to {@code redis.log} in the directory; failures
 * quote its tail.
 *
 * <p>The binary is {@code $REDIS_SERVER_BIN}, else {@code redis-server} on the {@code PATH}, else
 * {@code /usr/bin/redis-server}. When none exists the constructor fails: tests that need Redis never
 * skip. Thread safe; no dependency on a test framework.
 */
public final class RedisProcess implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  private final Path binary;
  private final List<String> extraArgs;
  private final Path dir;
  private final int clientPort;
  private final Thread shutdownHook;
  private volatile Process process;
  private volatile Process watchdog;
  private boolean paused;
  private boolean closed;

  /** Starts Redis without persistence on a free loopback port with a new directory, and waits for PING. */
  public RedisProcess() {
    this(new String[0]);
  }

  /** Starts Redis with an append-only file ({@code appendfsync everysec}), so a restart keeps the data. */
  public static RedisProcess withAof() {
    return new RedisProcess("--appendonly", "yes", "--appendfsync", "everysec");
  }

  /** As {@link #RedisProcess()}, with extra redis-server options, e.g. {@code "--appendonly", "yes"}. */
  public RedisProcess(String... extraArgs) {
    this.extraArgs = List.of(extraArgs);
    this.binary = locateBinary();
    this.clientPort = FreePorts.one();
    try {
      this.dir = Files.createTempDirectory("lockstep-redis-");
    } catch (IOException e) {
      throw new UncheckedIOException("creating a directory for redis failed", e);
    }
    this.shutdownHook = new Thread(this::destroyQuietly, "redis-process-cleanup-" + clientPort);
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

  /** The client endpoint as {@code host:port}. */
  public String endpoint() {
    return "127.0.0.1:" + clientPort;
  }

  /** A Lockstep backend URI for this server, {@code redis://127.0.0.1:PORT}. */
  public String backendUri() {
    return "redis://" + endpoint();
  }

  /** The port. */
  public int port() {
    return clientPort;
  }

  /** The directory holding the data (the append-only file) and the log ({@code redis.log}). */
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
   * Starts the server on the same port and directory and waits until it answers PING.
   *
   * @throws IllegalStateException when it is already running, was closed, or does not
   *     answer PING in time (the message carries the log's tail)
   */
  public synchronized void start() {
    if (closed) {
      throw new IllegalStateException("redis on port " + clientPort + " was closed");
    }
    if (isRunning()) {
      throw new IllegalStateException("redis on port " + clientPort + " is already running, pid " + process.pid());
    }
    ProcessBuilder pb = new ProcessBuilder(command());
    pb.directory(dir.toFile());
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()));
    try {
      process = pb.start();
      watchdog = startWatchdog(process.pid());
    } catch (IOException e) {
      throw new IllegalStateException("starting " + binary + " failed: " + e.getMessage(), e);
    }
    paused = false;
    awaitPing();
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
      throw new IllegalStateException("interrupted while stopping redis", e);
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
      throw new IllegalStateException("interrupted while killing redis", e);
    }
    paused = false;
  }

  /** Stops (gracefully) and starts the server on the same port and directory. */
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
    return dir.resolve("redis.log");
  }

  /** The last {@code lines} lines of the log, or a note when there is none. */
  public String logTail(int lines) {
    Path log = logFile();
    if (!Files.exists(log)) {
      return "(no redis log at " + log + ")";
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
    return "RedisProcess[" + endpoint() + ", dir=" + dir + "]";
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  private List<String> command() {
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.toString());
    cmd.addAll(List.of(
        "--port", String.valueOf(clientPort),
        "--bind", "127.0.0.1",
        "--protected-mode", "no",
        "--dir", dir.toString(),
        "--save", "",
        "--daemonize", "no",
        "--logfile", ""));
    cmd.addAll(extraArgs);
    return cmd;
  }

  private void awaitPing() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      try {
        String answer = ping();
        if (answer.startsWith("+PONG")) {
          return;
        }
        last = answer.trim(); // -LOADING while the append-only file is read
      } catch (IOException e) {
        last = e.toString();
      }
      try {
        // Waiting on the process both paces the polling and notices an early exit.
        if (process.waitFor(50, TimeUnit.MILLISECONDS)) {
          throw new IllegalStateException("redis-server exited with status " + process.exitValue()
              + " while starting on " + endpoint() + "; log tail:\n" + logTail(30));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for redis to start", e);
      }
    }
    kill();
    throw new IllegalStateException("redis on " + endpoint() + " not answering PING within "
        + START_TIMEOUT.toSeconds() + " s (last: " + last + "); log tail:\n" + logTail(30));
  }

  /** Sends one inline PING on a fresh connection and returns the first reply line. */
  private String ping() throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", clientPort), 1000);
      s.setSoTimeout(1000);
      OutputStream out = s.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      StringBuilder b = new StringBuilder();
      int c;
      while ((c = in.read()) >= 0 && c != '\n') {
        b.append((char) c);
      }
      return b.toString();
    }
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
      throw new UncheckedIOException("sending " + sig + " to redis failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while signalling redis", e);
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
      throw new IllegalStateException(what + ": redis on port " + clientPort + " is not running");
    }
  }

  /** Kills the process and deletes the directory; never throws (also the shutdown hook). */
  /**
   * A small shell loop that kills redis when this JVM is gone, even after a SIGKILL (which runs no
   * shutdown hook), and ends by itself when redis exits.
   */
  private static Process startWatchdog(long redisPid) throws IOException {
    String script = "while kill -0 " + ProcessHandle.current().pid() + " 2>/dev/null && kill -0 " + redisPid
        + " 2>/dev/null; do sleep 0.2; done; kill -9 " + redisPid + " 2>/dev/null; exit 0";
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
    String env = System.getenv("REDIS_SERVER_BIN");
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (Files.isExecutable(p)) {
        return p;
      }
      throw new IllegalStateException("REDIS_SERVER_BIN=" + env + " is not an executable file; unset it or "
          + "run `scripts/setup` (which installs Debian's redis-server)");
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String d : path.split(java.io.File.pathSeparator)) {
        if (!d.isEmpty()) {
          Path p = Path.of(d, "redis-server");
          if (Files.isRegularFile(p) && Files.isExecutable(p)) {
            return p;
          }
        }
      }
    }
    Path fallback = Path.of("/usr/bin/redis-server");
    if (Files.isExecutable(fallback)) {
      return fallback;
    }
    throw new IllegalStateException("redis-server not found (looked at $REDIS_SERVER_BIN, the PATH and /usr/bin/redis-server): "
        + "run `scripts/setup` (which installs Debian's redis-server)");
  }
}
