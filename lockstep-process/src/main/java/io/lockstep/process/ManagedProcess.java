package io.lockstep.process;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * One external process this JVM starts, watches and stops, and that does not outlive this JVM: the
 * common part of {@link EtcdProcess}, {@link RedisProcess} and {@link ServerProcess}.
 *
 * <p>The process can be started ({@link #start()}, then {@link #awaitReady(Duration)} polls its
 * {@link ReadinessProbe}), stopped gracefully ({@link #stop()}: SIGTERM, SIGKILL after the stop
 * timeout), killed ({@link #kill()}, SIGKILL, as a crash would), frozen ({@link #pause()}, SIGSTOP:
 * its sockets stay open but nothing is answered) and thawed ({@link #resume()}, SIGCONT), and
 * started again with the same command, as often as a test likes, until {@link #close()}. Its
 * standard output and error are appended to one log file; every start writes a line {@code ===
 * start <command>} first. Failures quote the log's {@link #logTail(int) tail}.
 *
 * <p>No child outlives this JVM: a shutdown hook (registered by {@link Builder#build()}, removed by
 * {@link #close()}) kills the process and deletes the {@linkplain Builder#deleteOnClose(Path) owned
 * directory} when the JVM exits normally; and unless turned off, a watchdog (a small shell loop)
 * kills it when this JVM dies without running hooks (SIGKILL). A process that watches this JVM by
 * itself (the Lockstep server does, through {@code LOCKSTEP_PARENT_PID}) needs no watchdog.
 *
 * <pre>{@code
 * ManagedProcess p = ManagedProcess.builder("sleeper")
 *     .command(() -> List.of("sleep", "60"))
 *     .log(dir.resolve("sleeper.log"))
 *     .build();
 * p.start().awaitReady(Duration.ofSeconds(5));
 * p.pause();
 * p.resume();
 * p.close();
 * }</pre>
 *
 * <p>Defaults: stop timeout 10 s, readiness {@link ReadinessProbe#started()}, watchdog on, the
 * environment inherited from this JVM, the working directory of this JVM. Thread safe. Needs no
 * test framework.
 */
public final class ManagedProcess implements AutoCloseable {
  private static final long POLL_MILLIS = 50;
  private static final int TAIL_LINES = 30;

  /** The client of {@link ReadinessProbe#http}, shared by every probe. */
  static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(1))
          .build();

  private final String name;
  private final Supplier<List<String>> command;
  private final Path log;
  private final Path workingDirectory;
  private final Map<String, String> addedEnvironment;
  private final Predicate<String> removedEnvironment;
  private final ReadinessProbe readiness;
  private final boolean watchdogOn;
  private final boolean withChildren;
  private final Path ownedDirectory;
  private final Duration stopTimeout;
  private final Thread shutdownHook;
  private volatile Process process;
  private volatile Process watchdog;
  private boolean paused;
  private boolean closed;

  private ManagedProcess(Builder b) {
    this.name = b.name;
    this.command = b.command;
    this.log = b.log;
    this.workingDirectory = b.workingDirectory;
    this.addedEnvironment = Map.copyOf(b.addedEnvironment);
    this.removedEnvironment = b.removedEnvironment;
    this.readiness = b.readiness;
    this.watchdogOn = b.watchdog;
    this.withChildren = b.children;
    this.ownedDirectory = b.ownedDirectory;
    this.stopTimeout = b.stopTimeout;
    this.shutdownHook = new Thread(this::destroyQuietly, "managed-process-cleanup-" + name);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** A process named {@code name} in messages, e.g. {@code "etcd on 127.0.0.1:2379"}. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  // ---------------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------------

  /** The name used in messages. */
  public String name() {
    return name;
  }

  /** The file the process's output is appended to. */
  public Path logFile() {
    return log;
  }

  /** The pid of the process last started (it may have exited since). */
  public long pid() {
    Process p = process;
    if (p == null) {
      throw new IllegalStateException(name + " was never started");
    }
    return p.pid();
  }

  /** True while the process is alive (paused counts as alive). */
  public boolean isAlive() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** True between {@link #pause()} and {@link #resume()} (or the end of the process). */
  public synchronized boolean isPaused() {
    return paused && isAlive();
  }

  // ---------------------------------------------------------------------------------------------
  // Life cycle
  // ---------------------------------------------------------------------------------------------

  /**
   * Starts the process and returns at once; see {@link #awaitReady(Duration)}.
   *
   * @throws IllegalStateException when it is already running, was closed, or cannot be started
   */
  public synchronized ManagedProcess start() {
    if (closed) {
      throw new IllegalStateException(name + " was closed");
    }
    if (isAlive()) {
      throw new IllegalStateException(name + " is already running, pid " + process.pid());
    }
    List<String> cmd = List.copyOf(command.get());
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    if (workingDirectory != null) {
      pb.directory(workingDirectory.toFile());
    }
    pb.environment().keySet().removeIf(removedEnvironment);
    pb.environment().putAll(addedEnvironment);
    try {
      String vars =
          addedEnvironment.isEmpty()
              ? ""
              : " (environment adds " + new TreeMap<>(addedEnvironment).keySet() + ")";
      Files.writeString(
          log,
          "=== start " + String.join(" ", cmd) + vars + System.lineSeparator(),
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      process = pb.start();
      paused = false;
      if (watchdogOn) {
        watchdog = startWatchdog(process.pid(), withChildren);
      }
    } catch (IOException e) {
      throw new IllegalStateException(
          "starting " + name + " (" + cmd.get(0) + ") failed: " + e.getMessage(), e);
    }
    return this;
  }

  /**
   * Polls the readiness probe every 50 ms until it passes.
   *
   * @throws IllegalStateException when the process exits first, or is not ready within {@code
   *     timeout}; the message carries the probe's last answer and the log's tail. The process is
   *     left as it is.
   */
  public ManagedProcess awaitReady(Duration timeout) {
    Process p = process;
    if (p == null) {
      throw new IllegalStateException(name + " was never started");
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no answer yet";
    try {
      while (true) {
        try {
          readiness.check();
          return this;
        } catch (IOException e) {
          last = e.getMessage() == null ? e.toString() : e.getMessage();
        }
        // Waiting on the process both paces the polling and notices an early exit.
        if (p.waitFor(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
          throw new IllegalStateException(
              name
                  + " exited with status "
                  + p.exitValue()
                  + " before it was ready; log tail:\n"
                  + logTail(TAIL_LINES));
        }
        if (System.nanoTime() - deadline > 0) {
          throw new IllegalStateException(
              name
                  + " not ready within "
                  + timeout.toMillis()
                  + " ms (last: "
                  + last
                  + "); log tail:\n"
                  + logTail(TAIL_LINES));
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for " + name + " to be ready", e);
    }
  }

  /**
   * Stops the process gracefully (SIGTERM, after a SIGCONT if it is paused) and waits for it to
   * exit; one still running after the stop timeout is killed. Does nothing when it is not running.
   */
  public synchronized void stop() {
    Process p = process;
    if (p == null || !p.isAlive()) {
      return;
    }
    resume(); // a stopped process does not act on SIGTERM
    p.destroy();
    if (!waitFor(p, "stopping")) {
      List<ProcessHandle> children = children(p);
      p.destroyForcibly();
      waitFor(p, "killing");
      killAll(children);
    }
  }

  /** Kills the process at once (SIGKILL), as a crash would, and waits for it to be gone. */
  public synchronized void kill() {
    Process p = process;
    if (p == null) {
      return;
    }
    List<ProcessHandle> children = children(p);
    p.destroyForcibly();
    waitFor(p, "killing");
    killAll(children);
    paused = false;
  }

  /** Stops the process gracefully, starts it again with the same command and waits until ready. */
  public synchronized ManagedProcess restart(Duration readyTimeout) {
    stop();
    return start().awaitReady(readyTimeout);
  }

  /**
   * Freezes the process (SIGSTOP): its connections stay open but nothing is answered, as in a
   * network partition or a long GC pause.
   *
   * @throws IllegalStateException when it is not running
   */
  public synchronized void pause() {
    if (!isAlive()) {
      throw new IllegalStateException("pause: " + name + " is not running");
    }
    signal("STOP");
    paused = true;
    awaitStopped(process.pid());
  }

  /**
   * Waits (up to 2 s) until every thread of {@code pid} is stopped: {@code kill} returns once the
   * signal is sent, and a thread running on another core stops only when it next leaves the kernel,
   * so a request sent right after could still be answered. Linux only ({@code /proc}); elsewhere it
   * returns at once.
   */
  private static void awaitStopped(long pid) {
    Path tasks = Path.of("/proc/" + pid + "/task");
    if (!Files.isDirectory(tasks)) {
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (System.nanoTime() < deadline) {
      boolean all = true;
      try (var list = Files.list(tasks)) {
        for (Path t : (Iterable<Path>) list::iterator) {
          String stat = Files.readString(t.resolve("stat"), StandardCharsets.US_ASCII);
          char state = stat.charAt(stat.lastIndexOf(')') + 2); // the field after "(name)"
          if (state != 'T' && state != 't') {
            all = false;
            break;
          }
        }
      } catch (IOException | RuntimeException e) {
        return; // the process or a thread went away: nothing left to wait for
      }
      if (all) {
        return;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
  }

  /**
   * Lets a {@link #pause() paused} process run again (SIGCONT); does nothing when it is not paused.
   */
  public synchronized void resume() {
    if (paused && isAlive()) {
      signal("CONT");
    }
    paused = false;
  }

  /** Kills the process and its watchdog and deletes the owned directory, if any. Idempotent. */
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

  /**
   * The last {@code lines} lines of the log (read from its last 64 KiB), or a note when there is
   * none.
   */
  public String logTail(int lines) {
    if (!Files.exists(log)) {
      return "(no log at " + log + ")";
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
    Process p = process;
    return "ManagedProcess["
        + name
        + (p == null ? ", not started" : ", pid " + p.pid() + (p.isAlive() ? "" : ", exited"))
        + ", log="
        + log
        + "]";
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  private boolean waitFor(Process p, String what) {
    try {
      return p.waitFor(stopTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while " + what + " " + name, e);
    }
  }

  private void signal(String sig) {
    long pid = process.pid();
    try {
      Process p =
          new ProcessBuilder("kill", "-" + sig, Long.toString(pid))
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(
            "kill -" + sig + " " + pid + " (" + name + ") failed: " + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("sending SIG" + sig + " to " + name + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while signalling " + name, e);
    }
  }

  /**
   * The process's own children when it {@linkplain Builder#withChildren() has some that must go
   * with it}, taken before it is killed (a parent that stays alive, as nginx's master, would
   * replace a child killed first); else none.
   */
  private List<ProcessHandle> children(Process p) {
    return withChildren ? p.children().toList() : List.of();
  }

  /** Kills these processes and waits (the stop timeout at most) until they are gone. */
  private void killAll(List<ProcessHandle> handles) {
    handles.forEach(ProcessHandle::destroyForcibly);
    for (ProcessHandle h : handles) {
      try {
        h.onExit().get(stopTimeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        // best effort: it got SIGKILL
      }
    }
  }

  /**
   * A small shell loop that kills the child when this JVM is gone, even after a SIGKILL (which runs
   * no shutdown hook), and ends by itself when the child exits; with {@code children}, the child's
   * own children too (listed on every turn, killed after it).
   */
  private static Process startWatchdog(long childPid, boolean children) throws IOException {
    String list =
        children ? "kids=$(cat /proc/" + childPid + "/task/*/children 2>/dev/null); " : "";
    String script =
        "kids=; while "
            + list
            + "kill -0 "
            + ProcessHandle.current().pid()
            + " 2>/dev/null && kill -0 "
            + childPid
            + " 2>/dev/null; do sleep 0.2; done; kill -9 "
            + childPid
            + " $kids 2>/dev/null; exit 0";
    return new ProcessBuilder("/bin/sh", "-c", script)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
  }

  /**
   * Kills the process and the watchdog and deletes the owned directory; never throws (also the
   * shutdown hook).
   */
  private void destroyQuietly() {
    Process w = watchdog;
    if (w != null) {
      w.destroyForcibly();
    }
    Process p = process; // no lock: the shutdown hook must not wait for a hung start()
    if (p != null) {
      List<ProcessHandle> children = children(p);
      p.destroyForcibly();
      try {
        p.waitFor(stopTimeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      killAll(children);
    }
    TempDirs.deleteTree(ownedDirectory);
  }

  /** Settings of a {@link ManagedProcess}; {@link #command} and {@link #log} are required. */
  public static final class Builder {
    private final String name;
    private Supplier<List<String>> command;
    private Path log;
    private Path workingDirectory;
    private final Map<String, String> addedEnvironment = new TreeMap<>();
    private Predicate<String> removedEnvironment = n -> false;
    private ReadinessProbe readiness = ReadinessProbe.started();
    private boolean watchdog = true;
    private boolean children;
    private Path ownedDirectory;
    private Duration stopTimeout = Duration.ofSeconds(10);

    private Builder(String name) {
      this.name = Objects.requireNonNull(name, "name");
    }

    /**
     * The command line, asked for at every start (so a binary or jar is looked up when it is
     * needed).
     */
    public Builder command(Supplier<List<String>> command) {
      this.command = Objects.requireNonNull(command, "command");
      return this;
    }

    /** The file standard output and error are appended to (created if missing). */
    public Builder log(Path log) {
      this.log = Objects.requireNonNull(log, "log");
      return this;
    }

    /** The working directory of the process; default: this JVM's. */
    public Builder workingDirectory(Path dir) {
      this.workingDirectory = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /** Variables added to the environment the process inherits from this JVM. */
    public Builder environment(Map<String, String> added) {
      addedEnvironment.putAll(added);
      return this;
    }

    /**
     * Inherited variables left out, by name (e.g. etcd refuses flags that {@code ETCD_*} variables
     * shadow).
     */
    public Builder withoutEnvironment(Predicate<String> names) {
      this.removedEnvironment = Objects.requireNonNull(names, "names");
      return this;
    }

    /** How {@link ManagedProcess#awaitReady(Duration)} tells that the process is ready. */
    public Builder readiness(ReadinessProbe probe) {
      this.readiness = Objects.requireNonNull(probe, "probe");
      return this;
    }

    /**
     * Whether a watchdog kills the process when this JVM dies without running its shutdown hooks;
     * default true. Turn it off only for a process that watches this JVM by itself.
     */
    public Builder watchdog(boolean on) {
      this.watchdog = on;
      return this;
    }

    /**
     * The process starts children of its own that must end with it (nginx's workers): a kill, a
     * stop that ends in a kill, {@link ManagedProcess#close()}, the shutdown hook and the watchdog
     * kill them too, after the process (so it cannot replace them). Only direct children.
     */
    public Builder withChildren() {
      this.children = true;
      return this;
    }

    /**
     * A directory that belongs to the process and is deleted by {@link ManagedProcess#close()} and
     * the shutdown hook.
     */
    public Builder deleteOnClose(Path dir) {
      this.ownedDirectory = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /** How long {@link ManagedProcess#stop()} waits for an exit before it kills; default 10 s. */
    public Builder stopTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("stopTimeout: must be positive, was " + timeout);
      }
      this.stopTimeout = timeout;
      return this;
    }

    /** Validates the settings and registers the shutdown hook; the process is not started yet. */
    public ManagedProcess build() {
      if (command == null) {
        throw new IllegalStateException("command: not set for " + name);
      }
      if (log == null) {
        throw new IllegalStateException("log: not set for " + name);
      }
      return new ManagedProcess(this);
    }
  }
}
