package io.lockstep.cli;

import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.server.LockstepServer;
import io.lockstep.server.ServerSettings;
import io.lockstep.spi.BackendUri;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code lockstep serve}: runs one instance, the HTTP API over a node, until SIGTERM or SIGINT.
 * Prints one line to stdout once the port is bound, {@code lockstep serving on http://HOST:PORT
 * (instance ID, backend URI)} ({@code https://} with {@code --tls-cert}), so harnesses can wait for
 * it. On a signal it stops HTTP, then the node (which deregisters the instance).
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    sortOptions = false,
    usageHelpWidth = 100,
    description = {
      "Serves the HTTP API of one Lockstep instance until stopped (SIGTERM, SIGINT).",
      "Each option falls back to the environment variable named in its help, then to its default."
    },
    footer = {
      "",
      "Example:",
      "  lockstep serve --backend etcd://127.0.0.1:2379,127.0.0.1:22379 --key-prefix orders --port 8080",
      "  lockstep serve --backend peer://10.0.0.1:7800,10.0.0.2:7800,10.0.0.3:7800 --port 8080",
      "      (LOCKSTEP_PEER_BIND=10.0.0.1:7800 on the first voter; see docs/backends/peer.md)",
      "  lockstep serve --tls-cert node.pem --tls-key node-key.pem --tls-client-ca ca.pem ...",
      "      (HTTPS only; clients and other instances present certificates of ca.pem;"
          + " see docs/security.md)"
    })
final class ServeCommand implements Callable<Integer> {
  private static final Pattern USER_INFO = Pattern.compile("(?<=://)([^/@?]*?):([^/@?]*)@");
  private static final Pattern SECRET_PARAM =
      Pattern.compile("(?i)([?&][^=&]*(?:password|secret|token)[^=&]*=)[^&]*");

  @Spec CommandSpec spec;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "${env:PORT:-8080}",
      description = "TCP port to listen on; 0 picks a free one. Env PORT. Default: 8080.")
  int port;

  @Option(
      names = "--bind",
      paramLabel = "ADDRESS",
      defaultValue = "${env:LOCKSTEP_BIND:-0.0.0.0}",
      description = "Address to listen on. Env LOCKSTEP_BIND. Default: 0.0.0.0 (every interface).")
  String bind;

  @Option(
      names = "--backend",
      paramLabel = "URI",
      defaultValue = "${env:LOCKSTEP_BACKEND:-peer:}",
      description =
          "The source of truth, as a URI (see the examples below). Env LOCKSTEP_BACKEND. Default: peer: "
              + "(the embedded peer backend; alone, a group of one).")
  String backend;

  @Option(
      names = "--key-prefix",
      paramLabel = "PREFIX",
      defaultValue = "${env:USER_KEY_PREFIX:-lockstep}",
      description =
          "The namespace of this map within the backend. Env USER_KEY_PREFIX. Default: lockstep.")
  String keyPrefix;

  @Option(
      names = "--instance-id",
      paramLabel = "ID",
      description =
          "This instance's id in the cluster (letters, digits and ._:- up to 128)."
              + " Default: env CF_INSTANCE_INDEX, else env HOSTNAME, else a generated id.")
  String instanceId;

  @Option(
      names = "--advertise-url",
      paramLabel = "URL",
      defaultValue = "${env:LOCKSTEP_ADVERTISE_URL}",
      description = {
        "The URL other instances and tools reach this one at, registered in membership."
            + " Env LOCKSTEP_ADVERTISE_URL.",
        "Default: http://127.0.0.1:<port> (https:// with --tls-cert), with the port really bound;",
        "with --bind naming one address: http://<bind>:<port>."
      })
  String advertiseUrl;

  @Option(
      names = "--auth-token",
      paramLabel = "TOKEN",
      defaultValue = "${env:LOCKSTEP_AUTH_TOKEN}",
      description =
          "When set, writes, deletes, /admin, /cluster, /stats and the /api/v1 routes that change"
              + " something need the header 'Authorization: Bearer TOKEN'; reads, /api/v1/current and /health stay open. Prefer the env var: flags show"
              + " in process lists. Env LOCKSTEP_AUTH_TOKEN. Default: none (no auth).")
  String authToken;

  @Option(
      names = "--max-value-bytes",
      paramLabel = "N",
      defaultValue = "${env:LOCKSTEP_MAX_VALUE_BYTES:-1048576}",
      description =
          "The largest value accepted, in bytes (larger: 413). Env LOCKSTEP_MAX_VALUE_BYTES. Default: 1048576 (1 MiB).")
  int maxValueBytes;

  @Option(
      names = "--max-key-bytes",
      paramLabel = "N",
      defaultValue = "${env:LOCKSTEP_MAX_KEY_BYTES:-1024}",
      description =
          "The longest key accepted, in UTF-8 bytes (longer: 400). Env LOCKSTEP_MAX_KEY_BYTES. Default: 1024.")
  int maxKeyBytes;

  @Option(
      names = "--max-wait",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_MAX_WAIT:-10s}",
      converter = DurationConverter.class,
      description =
          "How long a read with min_revision waits for this instance to apply it (then 504),"
              + " and how long /admin/refresh waits for the listing (then 503); also the longest /admin/await"
              + " waits; e.g. 500ms, 10s, 2m."
              + " Env LOCKSTEP_MAX_WAIT. Default: 10s.")
  Duration maxWait;

  @Option(
      names = "--counter-batch",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_COUNTER_BATCH:-0ms}",
      converter = DurationConverter.class,
      description =
          "Batch the increments of /count and /counters for up to this long into one backend increment"
              + " (totals stay exact; values are fresher by at most this). Env LOCKSTEP_COUNTER_BATCH. Default: 0ms (off).")
  Duration counterBatch;

  @Option(
      names = "--refresh-timeout",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_REFRESH_TIMEOUT:-3s}",
      converter = DurationConverter.class,
      description =
          "How long /api/v1/refresh waits for every live member to confirm it applied the refresh"
              + " (then 504, naming those that did not). Env LOCKSTEP_REFRESH_TIMEOUT. Default: 3s.")
  Duration refreshTimeout;

  @Mixin TlsOptions tls;

  /** The environment, replaceable by tests. */
  Map<String, String> env = System.getenv();

  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile LockstepServer server;

  @Override
  public Integer call() throws InterruptedException {
    ServerSettings settings = settings();
    LockstepBuilder node = nodeBuilder();
    String shownBackend = redact(backend);
    try {
      server = LockstepServer.start(settings, url -> node.advertiseUrl(url).build());
    } catch (IllegalArgumentException e) { // e.g. no backend on the class path for the URI's scheme
      throw new ParameterException(spec.commandLine(), e.getMessage(), e, null, backend);
    }
    Thread hook = new Thread(this::stopOnSignal, "lockstep-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    watchParent();
    PrintWriter out = spec.commandLine().getOut();
    out.println(
        "lockstep serving on "
            + (settings.tls() == null ? "http://" : "https://")
            + hostForUrl(settings.bindHost())
            + ":"
            + server.port()
            + " (instance "
            + server.node().config().instanceId()
            + ", backend "
            + shownBackend
            + ")");
    out.flush();
    stopped.await();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // stopped by the hook itself
    }
    return 0;
  }

  /** Stops HTTP, then the node; returns {@link #call()}. Safe to call more than once. */
  void stop() {
    LockstepServer s = server;
    if (s != null) {
      s.close();
    }
    stopped.countDown();
  }

  /**
   * When started by a harness or {@code lockstep demo}, the environment variable {@code
   * LOCKSTEP_PARENT_PID} names the parent; the server stops when that process is gone, so a child
   * never outlives its launcher, even one killed with SIGKILL.
   */
  private void watchParent() {
    String pid = env.get("LOCKSTEP_PARENT_PID");
    if (pid == null || pid.isBlank()) {
      return;
    }
    java.util.Optional<ProcessHandle> parent;
    try {
      parent = ProcessHandle.of(Long.parseLong(pid.strip()));
    } catch (NumberFormatException e) {
      System.err.println("lockstep: ignoring LOCKSTEP_PARENT_PID='" + pid + "': not a number");
      return;
    }
    Runnable gone =
        () -> {
          System.err.println("lockstep: parent process " + pid + " is gone; stopping");
          stop();
        };
    if (parent.isEmpty()) { // already gone: stop, off the thread that is starting the server
      Thread.ofPlatform().daemon().name("lockstep-parent-watch").start(gone);
      return;
    }
    parent.get().onExit().thenRun(gone); // the JDK's own wait for the process to end
  }

  private void stopOnSignal() {
    System.err.println("lockstep: stopping");
    stop();
  }

  /** The server's settings from the flags; a bad value is a usage error naming the flag. */
  ServerSettings settings() {
    if (backend == null || backend.isBlank()) {
      throw new ParameterException(
          spec.commandLine(),
          "Missing backend: --backend (or LOCKSTEP_BACKEND) is empty;"
              + " leave it out for the embedded peer backend, or give a URI such as etcd://127.0.0.1:2379");
    }
    try {
      BackendUri.parse(backend);
    } catch (IllegalArgumentException e) {
      throw usage("--backend", e.getMessage());
    }
    if (port < 0 || port > 65535) {
      throw usage("--port", "must be 0..65535, was " + port);
    }
    if (bind == null || bind.isBlank()) {
      throw usage("--bind", "must not be empty");
    }
    if (maxValueBytes < 0 || maxValueBytes > Integer.MAX_VALUE - 16) {
      throw usage(
          "--max-value-bytes", "must be 0.." + (Integer.MAX_VALUE - 16) + ", was " + maxValueBytes);
    }
    if (maxKeyBytes < 1) {
      throw usage("--max-key-bytes", "must be >= 1, was " + maxKeyBytes);
    }
    if (maxWait.isZero() || maxWait.isNegative()) {
      throw usage("--max-wait", "must be positive, was " + maxWait);
    }
    if (refreshTimeout.isZero() || refreshTimeout.isNegative()) {
      throw usage("--refresh-timeout", "must be positive, was " + refreshTimeout);
    }
    if (counterBatch.isNegative() || counterBatch.compareTo(Duration.ofSeconds(60)) > 0) {
      throw usage("--counter-batch", "must be 0ms..60s, was " + counterBatch);
    }
    if (advertiseUrl != null
        && !advertiseUrl.isBlank()
        && !advertiseUrl.matches("(?i)https?://\\S+")) {
      throw usage(
          "--advertise-url", "must be an http:// or https:// URL, was '" + advertiseUrl + "'");
    }
    return ServerSettings.builder()
        .bindHost(bind.strip())
        .port(port)
        .advertiseUrl(advertiseUrl)
        .authToken(authToken)
        .maxValueBytes(maxValueBytes)
        .maxWait(maxWait)
        .refreshTimeout(refreshTimeout)
        .counterBatch(counterBatch)
        .environment(env)
        .tls(tls.settings(spec.commandLine()))
        .build();
  }

  /** The node's builder from the flags, validated (everything but the advertised URL). */
  LockstepBuilder nodeBuilder() {
    LockstepBuilder b =
        Lockstep.builder()
            .backend(backend.strip())
            .keyPrefix(keyPrefix)
            .instanceId(instanceId())
            .maxKeyBytes(maxKeyBytes)
            .maxValueBytes(maxValueBytes);
    try {
      b.config();
    } catch (IllegalArgumentException e) {
      String field = e.getMessage().replaceFirst(":.*", "");
      String flag =
          switch (field) {
            case "keyPrefix" -> "--key-prefix";
            case "instanceId" -> "--instance-id";
            default -> "--" + field;
          };
      throw usage(flag, e.getMessage().replaceFirst("^[A-Za-z]+: ", ""));
    }
    return b;
  }

  /**
   * {@code --instance-id}, else CF_INSTANCE_INDEX, else HOSTNAME, else null (generated by the
   * node).
   */
  String instanceId() {
    for (String candidate :
        new String[] {instanceId, env.get("CF_INSTANCE_INDEX"), env.get("HOSTNAME")}) {
      if (candidate != null && !candidate.isBlank()) {
        return candidate.strip();
      }
    }
    return null;
  }

  private ParameterException usage(String flag, String problem) {
    return new ParameterException(
        spec.commandLine(), "Invalid value for option '" + flag + "': " + problem);
  }

  private static String hostForUrl(String host) {
    return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  /** The backend URI with passwords, secrets and tokens masked, for logs and the start line. */
  static String redact(String uri) {
    String s = USER_INFO.matcher(uri).replaceAll("$1:***@");
    return SECRET_PARAM.matcher(s).replaceAll("$1***");
  }
}
