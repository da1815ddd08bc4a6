package io.lockstep.process;

import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * One real Lockstep server process ({@code java -jar lockstep.jar serve ...}) on a fixed loopback
 * port, with its output in a log file, run as a {@link ManagedProcess}. It can be stopped
 * (SIGTERM), killed (SIGKILL), paused (SIGSTOP) and resumed (SIGCONT), and restarted on the same
 * port with the same arguments. The child watches this JVM's pid ({@code LOCKSTEP_PARENT_PID}) and
 * exits when this JVM is gone, even after a SIGKILL; a shutdown hook kills it when this JVM exits.
 *
 * <p>Thread safe, though one test usually drives it.
 */
public final class ServerProcess implements AutoCloseable {
  private static final int TAIL_LINES = 40;

  private final String id;
  private final int port;
  private final Map<String, String> environment;
  private final String host;
  private final String scheme;
  private final ManagedProcess process;

  ServerProcess(String id, int port, List<String> serveArgs, Path log, List<String> javaOptions) {
    this(id, port, serveArgs, log, javaOptions, Map.of());
  }

  /** As above, with variables added to the environment the process inherits from this JVM. */
  ServerProcess(
      String id,
      int port,
      List<String> serveArgs,
      Path log,
      List<String> javaOptions,
      Map<String, String> environment) {
    this(id, "127.0.0.1", port, List.of(), serveArgs, log, javaOptions, environment);
  }

  /**
   * As above, reachable at {@code host} and started behind {@code commandPrefix} (e.g. {@code ip
   * netns exec NS}, which execs the JVM, so the pid and the signals are still the server's).
   */
  ServerProcess(
      String id,
      String host,
      int port,
      List<String> commandPrefix,
      List<String> serveArgs,
      Path log,
      List<String> javaOptions,
      Map<String, String> environment) {
    this(id, host, port, commandPrefix, serveArgs, log, javaOptions, environment, null);
  }

  /**
   * As above; with {@code tls} not null the server is expected to serve HTTPS ({@code --tls-cert}),
   * its {@link #url()} is {@code https://}, and its readiness is probed with {@code tls} (which
   * trusts its CA, and presents a client certificate when the server asks for one).
   */
  ServerProcess(
      String id,
      String host,
      int port,
      List<String> commandPrefix,
      List<String> serveArgs,
      Path log,
      List<String> javaOptions,
      Map<String, String> environment,
      SSLContext tls) {
    this(id, host, port, commandPrefix, serveArgs, log, javaOptions, environment, tls, List.of());
  }

  /**
   * As above, with {@code extraClasspath} after the jar on the class path ({@code java -cp
   * lockstep.jar:EXTRA io.lockstep.cli.Main serve ...}): how a test adds a test-only backend (the
   * testkit's drift hook) to one server, which {@code lockstep.jar} itself never holds.
   */
  ServerProcess(
      String id,
      String host,
      int port,
      List<String> commandPrefix,
      List<String> serveArgs,
      Path log,
      List<String> javaOptions,
      Map<String, String> environment,
      SSLContext tls,
      List<Path> extraClasspath) {
    this.host = host;
    this.scheme = tls == null ? "http" : "https";
    this.id = id;
    this.port = port;
    this.environment = Map.copyOf(environment);
    List<String> prefix = List.copyOf(commandPrefix);
    List<String> jvm = List.copyOf(javaOptions);
    List<String> serve = List.copyOf(serveArgs);
    List<Path> extra = List.copyOf(extraClasspath);
    this.process =
        ManagedProcess.builder(id)
            .command(() -> command(prefix, jvm, serve, extra))
            .log(log)
            .environment(this.environment)
            .environment(
                Map.of("LOCKSTEP_PARENT_PID", Long.toString(ProcessHandle.current().pid())))
            .watchdog(false) // the server watches LOCKSTEP_PARENT_PID itself
            .readiness(
                tls == null
                    ? ReadinessProbe.http(URI.create(url() + "/health/ready"), body -> true)
                    : ReadinessProbe.http(
                        HttpClient.newBuilder()
                            .version(HttpClient.Version.HTTP_1_1)
                            .connectTimeout(Duration.ofSeconds(1))
                            .sslContext(tls)
                            .build(),
                        URI.create(url() + "/health/ready"),
                        body -> true))
            .build();
  }

  public String id() {
    return id;
  }

  public int port() {
    return port;
  }

  /**
   * {@code http://HOST:PORT} ({@code https} when started with TLS), HOST being 127.0.0.1 unless the
   * node runs on one of the {@link Hosts}.
   */
  public String url() {
    return scheme + "://" + host + ":" + port;
  }

  /** The variables this process gets on top of the environment it inherits. */
  public Map<String, String> environment() {
    return environment;
  }

  public Path logFile() {
    return process.logFile();
  }

  /** The pid of the process last started; fails if it was never started. */
  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Starts the process (again) and returns at once; see {@link #awaitReady(Duration)}. */
  public ServerProcess start() {
    process.start();
    return this;
  }

  /** Waits until {@code /health/ready} answers 200, or fails with the log's tail. */
  public ServerProcess awaitReady(Duration timeout) {
    process.awaitReady(timeout);
    return this;
  }

  /** SIGTERM (after a SIGCONT if paused), then waits for the exit (SIGKILL after 10 s). */
  public void stop() {
    process.stop();
  }

  /** SIGKILL, and waits for the exit. */
  public void kill() {
    process.kill();
  }

  /** SIGSTOP: the process freezes, its sockets stay open. */
  public void pause() {
    process.pause();
  }

  /** SIGCONT, when paused. */
  public void resume() {
    process.resume();
  }

  /** Kills (if running) and starts again on the same port, then waits until ready. */
  public ServerProcess restart(Duration readyTimeout) {
    kill();
    return start().awaitReady(readyTimeout);
  }

  /** The last lines of this process's log, for failure messages. */
  public String logTail() {
    return "--- " + id + " log (" + logFile() + ") ---\n" + process.logTail(TAIL_LINES);
  }

  /** Kills the process; the log stays. */
  @Override
  public void close() {
    process.close();
  }

  private static List<String> command(
      List<String> prefix, List<String> javaOptions, List<String> serveArgs, List<Path> extra) {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(javaOptions);
    if (extra.isEmpty()) {
      cmd.add("-jar");
      cmd.add(ServerJar.locate().toString());
    } else {
      StringBuilder cp = new StringBuilder(ServerJar.locate().toString());
      for (Path p : extra) {
        cp.append(java.io.File.pathSeparator).append(p);
      }
      cmd.add("-cp");
      cmd.add(cp.toString());
      cmd.add(ServerJar.MAIN_CLASS);
    }
    cmd.add("serve");
    cmd.addAll(serveArgs);
    return cmd;
  }
}
