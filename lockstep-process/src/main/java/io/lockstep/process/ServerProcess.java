package io.lockstep.process;

import java.io.IOException;
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
import java.util.concurrent.TimeUnit;

/**
 * One real Lockstep server process ({@code java -jar lockstep.jar serve ...}) on a fixed
 * loopback port, with its output in a log file. It can be stopped (SIGTERM), killed (SIGKILL),
 * paused (SIGSTOP) and resumed (SIGCONT), and restarted on the same port with the same arguments.
 * The child watches this JVM's pid and exits when this JVM is gone, even after a SIGKILL.
 *
 * <p>Not thread safe; one test drives it.
 */
public final class ServerProcess implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(1)).build();

  private final String id;
  private final int port;
  private final List<String> serveArgs;
  private final Path log;
  private final List<String> javaOptions;
  private final Map<String, String> environment;
  private final String host;
  private final List<String> commandPrefix;
  private Process process;

  ServerProcess(String id, int port, List<String> serveArgs, Path log, List<String> javaOptions) {
    this(id, port, serveArgs, log, javaOptions, Map.of());
  }

  /** As above, with variables added to the environment the process inherits from this JVM. */
  ServerProcess(String id, int port, List<String> serveArgs, Path log, List<String> javaOptions,
      Map<String, String> environment) {
    this(id, "127.0.0.1", port, List.of(), serveArgs, log, javaOptions, environment);
  }

  /**
   * As above, reachable at {@code host} and started behind {@code commandPrefix} (e.g. {@code ip
   * netns exec NS}, which execs the JVM, so the pid and the signals are still the server's).
   */
  ServerProcess(String id, String host, int port, List<String> commandPrefix, List<String> serveArgs, Path log,
      List<String> javaOptions, Map<String, String> environment) {
    this.host = host;
    this.commandPrefix = List.copyOf(commandPrefix);
    this.id = id;
    this.port = port;
    this.serveArgs = List.copyOf(serveArgs);
    this.log = log;
    this.javaOptions = List.copyOf(javaOptions);
    this.environment = Map.copyOf(environment);
  }

  public String id() {
    return id;
  }

  public int port() {
    return port;
  }

  /** {@code http://HOST:PORT}, HOST being 127.0.0.1 unless the node runs on a {@link NetLab} host. */
  public String url() {
    return "http://" + host + ":" + port;
  }

  /** The variables this process gets on top of the environment it inherits. */
  public Map<String, String> environment() {
    return environment;
  }

  public Path logFile() {
    return log;
  }

  /** The pid of the running process; fails if it is not running. */
  public long pid() {
    if (process == null) {
      throw new IllegalStateException(id + " is not running");
    }
    return process.pid();
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** Starts the process (again) and returns at once; see {@link #awaitReady(Duration)}. */
  public ServerProcess start() {
    if (isAlive()) {
      throw new IllegalStateException(id + " is already running (pid " + process.pid() + ")");
    }
    List<String> cmd = new ArrayList<>(commandPrefix);
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(javaOptions);
    cmd.add("-jar");
    cmd.add(ServerJar.locate().toString());
    cmd.add("serve");
    cmd.addAll(serveArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().putAll(environment);
    pb.environment().put("LOCKSTEP_PARENT_PID", Long.toString(ProcessHandle.current().pid()));
    try {
      String vars = environment.isEmpty() ? "" : " (environment adds " + new java.util.TreeMap<>(environment).keySet() + ")";
      Files.writeString(log, "=== start " + String.join(" ", cmd) + vars + System.lineSeparator(),
          StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
      process = pb.start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + id + ": " + e, e);
    }
    return this;
  }

  /** Waits until {@code /health/ready} answers 200, or fails with the log's tail. */
  public ServerProcess awaitReady(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!isAlive()) {
        throw new IllegalStateException(id + " exited with " + process.exitValue() + " before it was ready\n" + logTail());
      }
      try {
        HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create(url() + "/health/ready"))
            .timeout(Duration.ofSeconds(1)).GET().build(), HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return this;
        }
      } catch (IOException e) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
      sleep(50);
    }
    throw new IllegalStateException(id + " not ready within " + timeout + "\n" + logTail());
  }

  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). */
  public void stop() {
    if (process == null) {
      return;
    }
    resume(); // a stopped process cannot handle SIGTERM
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGKILL, and waits for the exit. */
  public void kill() {
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGSTOP: the process freezes, its sockets stay open. */
  public void pause() {
    signal("STOP");
  }

  /** SIGCONT. */
  public void resume() {
    if (isAlive()) {
      signal("CONT");
    }
  }

  /** Kills (if running) and starts again on the same port, then waits until ready. */
  public ServerProcess restart(Duration readyTimeout) {
    kill();
    return start().awaitReady(readyTimeout);
  }

  private void signal(String sig) {
    try {
      Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid())).inheritIO().start();
      if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("kill -" + sig + " " + pid() + " failed");
      }
    } catch (IOException e) {
      throw new IllegalStateException("kill -" + sig + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The last lines of this process's log, for failure messages. */
  public String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return "--- " + id + " log (" + log + ") ---\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      resume();
      kill();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
