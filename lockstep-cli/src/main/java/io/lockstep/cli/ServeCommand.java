package io.lockstep.cli;

import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.NearOnChange;
import io.lockstep.ReplicaMode;
import io.lockstep.server.AccessSettings;
import io.lockstep.server.AccessToken;
import io.lockstep.server.DataGroupSettings;
import io.lockstep.server.LockstepServer;
import io.lockstep.server.ServerLimits;
import io.lockstep.server.ServerSettings;
import io.lockstep.spi.BackendUri;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * it. On a signal it stops gracefully ({@link LockstepServer#close()}): not ready, long polls
 * answered, out of membership, HTTP stopped within {@code --shutdown-timeout}, then the node
 * closed.
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
      "      (listens on 127.0.0.1 only; no token needed there)",
      "  LOCKSTEP_CLUSTER_SECRET=... lockstep serve --bind 0.0.0.0 --token-file /etc/lockstep/tokens \\",
      "      --backend etcd://10.0.0.5:2379",
      "      (tokens file: one '<scope> <token>' per line, scope read, write, admin or metrics;",
      "       see docs/security.md)",
      "  lockstep serve --backend peer://10.0.0.1:7800,10.0.0.2:7800,10.0.0.3:7800 --port 8080",
      "      (LOCKSTEP_PEER_BIND=10.0.0.1:7800 on the first voter; see docs/backends/peer.md)",
      "  lockstep serve --backend postgresql://db:5432/student --mirror student",
      "      (the table student in every instance's memory, and the student service;"
          + " see docs/students.md)",
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
      defaultValue = "${env:LOCKSTEP_BIND:-127.0.0.1}",
      description =
          "Address to listen on. Any address other than loopback (0.0.0.0: every interface) needs"
              + " access tokens (--token-file or LOCKSTEP_TOKENS), or --insecure."
              + " Env LOCKSTEP_BIND. Default: 127.0.0.1 (this host only).")
  String bind;

  @Option(
      names = "--token-file",
      paramLabel = "PATH",
      defaultValue = "${env:LOCKSTEP_TOKEN_FILE}",
      description =
          "A file of access tokens, one '<scope> <token>' per line ('#' starts a comment);"
              + " scopes: read, write (implies read), admin (implies write, read and metrics),"
              + " metrics. Several lines may share a scope, so tokens can be rotated. With any token"
              + " set, every route but /health needs one. Tokens may also come from env"
              + " LOCKSTEP_TOKENS (the same lines, or entries separated by commas), never from a"
              + " flag. Env LOCKSTEP_TOKEN_FILE. Default: none.")
  String tokenFile;

  @Option(
      names = "--cluster-secret-file",
      paramLabel = "PATH",
      defaultValue = "${env:LOCKSTEP_CLUSTER_SECRET_FILE}",
      description =
          "A file holding the secret every member of the cluster shares (its first line): sent on"
              + " calls to other members (/cluster, /api/v1/refresh) and accepted from them."
              + " Or env LOCKSTEP_CLUSTER_SECRET. Env LOCKSTEP_CLUSTER_SECRET_FILE. Default: none.")
  String clusterSecretFile;

  @Option(
      names = "--allowed-hosts",
      paramLabel = "NAME[,NAME...]",
      defaultValue = "${env:LOCKSTEP_ALLOWED_HOSTS}",
      split = ",",
      description =
          "Host names clients may reach this server by (the Host header, without port), besides"
              + " localhost, 127.0.0.1, [::1] and the bound and advertised addresses; others get"
              + " 421. Without names, on loopback only those are answered (against DNS rebinding),"
              + " elsewhere any. Env LOCKSTEP_ALLOWED_HOSTS. Default: none.")
  java.util.List<String> allowedHosts;

  @Option(
      names = "--insecure",
      description =
          "Listen on an address other than loopback without access tokens: anyone who reaches the"
              + " port may read and change everything. Logs a warning at start and every minute.")
  boolean insecure;

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
      names = "--mirror",
      paramLabel = "TABLE",
      defaultValue = "${env:LOCKSTEP_MIRROR}",
      description =
          "Mirror this existing table of a PostgreSQL backend (postgresql:// or postgres:// only):"
              + " adds mirror=TABLE to the backend URI, so the map holds the table's rows, key = the"
              + " primary key as text, value = the row as a JSON object. With TABLE student, the"
              + " student service is on (/students, /student/...; docs/students.md)."
              + " Env LOCKSTEP_MIRROR. Default: none.")
  String mirror;

  @Option(
      names = "--students",
      defaultValue = "${env:LOCKSTEP_STUDENTS:-false}",
      description =
          "Serve the student service (/students, /student/...; docs/students.md) over any"
              + " backend's map, storing each student as its JSON row under its id; on by itself"
              + " with --mirror student. Env LOCKSTEP_STUDENTS. Default: false.")
  boolean students;

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
        "Default, with the port really bound (https:// instead of http:// with --tls-cert): with",
        "--bind naming one address, http://<bind>:<port>; bound to every interface,",
        "http://<ip>:<port> with <ip> from env CF_INSTANCE_INTERNAL_IP, else env POD_IP, else this",
        "host's first non-loopback address (never loopback)."
      })
  String advertiseUrl;

  /** Removed: a token on the command line shows in process lists. Kept only to say so. */
  @Option(names = "--auth-token", paramLabel = "TOKEN", hidden = true)
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
      names = "--reconcile-every",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_RECONCILE_EVERY:-0ms}",
      converter = DurationConverter.class,
      description =
          "Anti-entropy: check this instance's copy against the source this often (plus up to a"
              + " fifth at random) and repair the keys that differ; each run is counted in /metrics"
              + " (lockstep_reconcile_*) and shown in /stats. POST /admin/reconcile runs one now."
              + " Env LOCKSTEP_RECONCILE_EVERY. Default: 0ms (off).")
  Duration reconcileEvery;

  @Option(
      names = "--data-delay",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_DATA_DELAY:-50ms}",
      converter = DurationConverter.class,
      description =
          "How long the loader of the demo group behind GET /data/<id> sleeps per load (the slow"
              + " source; each id is loaded once per cluster, on its owner). The group's members are"
              + " the cluster's, or the fixed list in PEERS_SELF (this instance's URL) and PEERS_SET"
              + " (every member's URL, comma-separated). Env LOCKSTEP_DATA_DELAY. Default: 50ms.")
  Duration dataDelay;

  @Option(
      names = "--data-ttl",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_DATA_TTL:-1m}",
      converter = DurationConverter.class,
      description =
          "How long a /data/<id> entry is kept once loaded. Env LOCKSTEP_DATA_TTL. Default: 1m.")
  Duration dataTtl;

  @Option(
      names = "--data-peer-deadline",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_DATA_PEER_DEADLINE:-1s}",
      converter = DurationConverter.class,
      description =
          "How long an instance waits for a /data/<id> entry's owner (connect and answer) before it"
              + " loads the id itself. Env LOCKSTEP_DATA_PEER_DEADLINE. Default: 1s.")
  Duration dataPeerDeadline;

  @Option(
      names = "--refresh-timeout",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_REFRESH_TIMEOUT:-3s}",
      converter = DurationConverter.class,
      description =
          "How long /api/v1/refresh waits for every live member to confirm it applied the refresh"
              + " (then 504, naming those that did not). Env LOCKSTEP_REFRESH_TIMEOUT. Default: 3s.")
  Duration refreshTimeout;

  @Option(
      names = "--shutdown-timeout",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_SHUTDOWN_TIMEOUT:-5s}",
      converter = DurationConverter.class,
      description =
          "On SIGTERM the instance turns not ready, answers its waiting long polls (503, Retry-After),"
              + " leaves membership, then stops HTTP: requests in flight get this long to finish;"
              + " then the node closes (docs/operations.md). Env LOCKSTEP_SHUTDOWN_TIMEOUT. Default: 5s.")
  Duration shutdownTimeout;

  /**
   * {@code --log-level}: applied while the command line is parsed, before any logger is made (the
   * logging binding reads its level once).
   */
  @Option(
      names = "--log-level",
      paramLabel = "LEVEL",
      defaultValue = "${env:LOCKSTEP_LOG_LEVEL:-info}",
      description =
          "Level of every log (stderr; access log: logger io.lockstep.access): error, warn, info,"
              + " debug or trace. Env LOCKSTEP_LOG_LEVEL. Default: info.")
  void logLevel(String level) {
    try {
      Logging.configure(level);
    } catch (IllegalArgumentException e) {
      throw usage("--log-level", e.getMessage());
    }
  }

  @Option(
      names = "--mode",
      paramLabel = "MODE",
      defaultValue = "${env:LOCKSTEP_MODE:-full}",
      description =
          "full: every key in memory; near: only the keys read, at most --near-max-keys, a miss"
              + " read from the backend (docs/replicated-map.md, Near mode). Env LOCKSTEP_MODE."
              + " Default: full.")
  String mode;

  @Option(
      names = "--near-max-keys",
      paramLabel = "N",
      defaultValue = "${env:LOCKSTEP_NEAR_MAX_KEYS:-10000}",
      description =
          "With --mode near: the most keys held in memory. Env LOCKSTEP_NEAR_MAX_KEYS. Default:"
              + " 10000.")
  long nearMaxKeys;

  @Option(
      names = "--near-on-change",
      paramLabel = "WHAT",
      defaultValue = "${env:LOCKSTEP_NEAR_ON_CHANGE:-update}",
      description =
          "With --mode near, what a change to a held key does: update (hold the new value) or"
              + " invalidate (drop it; the next read loads it). Env LOCKSTEP_NEAR_ON_CHANGE."
              + " Default: update.")
  String nearOnChange;

  @Option(
      names = "--max-total-keys",
      paramLabel = "N",
      defaultValue = "${env:LOCKSTEP_MAX_TOTAL_KEYS:-100000}",
      description =
          "The most keys the map may hold; a put of a new key past it: 507 map_full, nothing stored."
              + " Not kept with --mode near. Env LOCKSTEP_MAX_TOTAL_KEYS. Default: 100000.")
  int maxTotalKeys;

  @Option(
      names = "--max-total-bytes",
      paramLabel = "N",
      defaultValue = "${env:LOCKSTEP_MAX_TOTAL_BYTES:-268435456}",
      description =
          "The most bytes of values the map may hold; a put past it: 507 map_full, nothing stored."
              + " Not kept with --mode near. Env LOCKSTEP_MAX_TOTAL_BYTES. Default: 268435456 (256"
              + " MiB).")
  long maxTotalBytes;

  @Option(
      names = "--max-connections",
      paramLabel = "N",
      defaultValue = "${env:LOCKSTEP_MAX_CONNECTIONS:-1024}",
      description =
          "Open HTTP connections at most; past it no new connection is accepted until one closes."
              + " Env LOCKSTEP_MAX_CONNECTIONS. Default: 1024.")
  int maxConnections;

  @Option(
      names = "--max-long-polls",
      paramLabel = "N",
      defaultValue = "${env:LOCKSTEP_MAX_LONG_POLLS:-256}",
      description =
          "Requests waiting for a revision at once (min_revision reads, /admin/await); past it:"
              + " 503 overloaded with Retry-After. Env LOCKSTEP_MAX_LONG_POLLS. Default: 256.")
  int maxLongPolls;

  @Option(
      names = "--idle-timeout",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_IDLE_TIMEOUT:-30s}",
      converter = DurationConverter.class,
      description =
          "A connection silent this long is closed. Env LOCKSTEP_IDLE_TIMEOUT. Default: 30s.")
  Duration idleTimeout;

  @Option(
      names = "--header-timeout",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_HEADER_TIMEOUT:-10s}",
      converter = DurationConverter.class,
      description =
          "The longest a request line and headers may take to arrive, however slowly they trickle"
              + " in; then the connection is closed. Env LOCKSTEP_HEADER_TIMEOUT. Default: 10s.")
  Duration headerTimeout;

  @Option(
      names = "--min-request-data-rate",
      paramLabel = "BYTES_PER_SECOND",
      defaultValue = "${env:LOCKSTEP_MIN_REQUEST_DATA_RATE:-1024}",
      description =
          "The slowest a request body may arrive, once --header-timeout has passed since its first"
              + " byte; slower: the connection is closed. 0: no bound."
              + " Env LOCKSTEP_MIN_REQUEST_DATA_RATE. Default: 1024.")
  long minRequestDataRate;

  @Option(
      names = "--max-header-bytes",
      paramLabel = "N",
      defaultValue = "${env:LOCKSTEP_MAX_HEADER_BYTES:-8192}",
      description =
          "The largest request line plus headers; larger: 431. Env LOCKSTEP_MAX_HEADER_BYTES."
              + " Default: 8192.")
  int maxHeaderBytes;

  @Option(
      names = "--max-counter-names",
      paramLabel = "N",
      defaultValue = "${env:LOCKSTEP_MAX_COUNTER_NAMES:-10000}",
      description =
          "Distinct counter names incremented within a minute; a new name past it: 503 overloaded"
              + " with Retry-After (reads are not counted). Env LOCKSTEP_MAX_COUNTER_NAMES. Default: 10000.")
  int maxCounterNames;

  @Option(
      names = "--cluster-cache",
      paramLabel = "DURATION",
      defaultValue = "${env:LOCKSTEP_CLUSTER_CACHE:-1s}",
      converter = DurationConverter.class,
      description =
          "How long one /cluster answer is reused, so a flood of calls asks the members once per"
              + " period; 0ms: never reused. Env LOCKSTEP_CLUSTER_CACHE. Default: 1s.")
  Duration clusterCache;

  @Mixin TlsOptions tls;

  /** The environment, replaceable by tests. */
  Map<String, String> env = System.getenv();

  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile LockstepServer server;

  @Override
  public Integer call() throws InterruptedException {
    ServerSettings settings = settings();
    LockstepBuilder node = nodeBuilder();
    String shownBackend = redact(backendUri());
    try {
      server =
          LockstepServer.start(
              settings,
              (url, observer) ->
                  node.advertiseUrl(url)
                      .backendCallObserver(observer)
                      // the node's fleet() asks the members with the cluster secret
                      .peerSecret(settings.access().clusterSecret())
                      .build());
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

  /** The server once started, else null (for tests). */
  LockstepServer server() {
    return server;
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
    String uri = backendUri();
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
    if (shutdownTimeout.isZero() || shutdownTimeout.isNegative()) {
      throw usage("--shutdown-timeout", "must be positive, was " + shutdownTimeout);
    }
    if (reconcileEvery.isNegative()
        || (!reconcileEvery.isZero() && reconcileEvery.compareTo(Duration.ofSeconds(1)) < 0)) {
      throw usage("--reconcile-every", "must be 0ms (off) or at least 1s, was " + reconcileEvery);
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
        .access(access())
        .maxValueBytes(maxValueBytes)
        .maxWait(maxWait)
        .refreshTimeout(refreshTimeout)
        .counterBatch(counterBatch)
        .reconcileEvery(reconcileEvery)
        .dataGroup(dataGroup())
        .shutdownTimeout(shutdownTimeout)
        .environment(env)
        .limits(limits())
        .tls(tls.settings(spec.commandLine()))
        .students(studentsOn(uri))
        .build();
  }

  private static final Pattern TABLE =
      Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}(\\.[A-Za-z_][A-Za-z0-9_]{0,62})?");

  /**
   * The backend URI the node opens: {@code --backend}, with {@code mirror=TABLE} added to its query
   * when {@code --mirror} is given. {@code --mirror} is a usage error on a backend other than
   * PostgreSQL, with a table name that is not a plain (optionally schema-qualified) identifier, or
   * when the URI already names another mirror.
   */
  String backendUri() {
    String raw = backend.strip();
    BackendUri parsed;
    try {
      parsed = BackendUri.parse(raw);
    } catch (IllegalArgumentException e) {
      throw usage("--backend", e.getMessage());
    }
    if (mirror == null || mirror.isBlank()) {
      return raw;
    }
    String table = mirror.strip();
    if (!parsed.scheme().equals("postgresql") && !parsed.scheme().equals("postgres")) {
      throw usage(
          "--mirror",
          "mirrors a table of a PostgreSQL backend, so it needs --backend postgresql://... or"
              + " postgres://...; the backend is "
              + parsed.scheme()
              + ":// (for the student routes on any backend, use --students)");
    }
    if (!TABLE.matcher(table).matches()) {
      throw usage(
          "--mirror",
          "expected a table name (letters, digits and _, optionally schema.table), was '"
              + table
              + "'");
    }
    String already = parsed.params().get("mirror");
    if (already != null) {
      if (already.equals(table)) {
        return raw;
      }
      throw usage(
          "--mirror",
          "the backend URI already mirrors '" + already + "'; give the table once, not both");
    }
    return raw
        + (raw.contains("?") ? (raw.endsWith("?") || raw.endsWith("&") ? "" : "&") : "?")
        + "mirror="
        + table;
  }

  /**
   * Whether the student routes are on: {@code --students}, or a mirror of the table {@code
   * student}. {@code --students} over a mirror of another table is a usage error.
   */
  private boolean studentsOn(String uri) {
    String table = BackendUri.parse(uri).params().get("mirror");
    boolean studentTable =
        table != null
            && (table.equalsIgnoreCase("student") || table.equalsIgnoreCase("public.student"));
    if (students && table != null && !studentTable) {
      throw usage(
          "--students",
          "the map mirrors the table '"
              + table
              + "', whose rows are not students;"
              + " mirror the table student, or leave --students out");
    }
    return students || studentTable;
  }

  private DataGroupSettings dataGroup() {
    if (dataDelay.isNegative() || dataDelay.compareTo(Duration.ofSeconds(60)) > 0) {
      throw usage("--data-delay", "must be 0ms..60s, was " + dataDelay);
    }
    if (dataTtl.isNegative() || dataTtl.isZero()) {
      throw usage("--data-ttl", "must be positive, was " + dataTtl);
    }
    if (dataPeerDeadline.isNegative()
        || dataPeerDeadline.isZero()
        || dataPeerDeadline.compareTo(Duration.ofSeconds(60)) > 0) {
      throw usage("--data-peer-deadline", "must be 1ms..60s, was " + dataPeerDeadline);
    }
    return new DataGroupSettings(dataDelay, dataTtl, dataPeerDeadline);
  }

  /**
   * Tokens (file and LOCKSTEP_TOKENS), cluster secret (file or LOCKSTEP_CLUSTER_SECRET), allowed
   * hosts and --insecure; refuses a non-loopback address without tokens unless --insecure.
   */
  AccessSettings access() {
    if (authToken != null || env.get("LOCKSTEP_AUTH_TOKEN") != null) {
      throw new ParameterException(
          spec.commandLine(),
          "--auth-token and LOCKSTEP_AUTH_TOKEN are no longer read: a token on the command line"
              + " shows in process lists, and one token for everything cannot be rotated. Put"
              + " '<scope> <token>' lines (scope read, write, admin or metrics) in a file given"
              + " with --token-file, or in env LOCKSTEP_TOKENS; see docs/security.md");
    }
    List<AccessToken> tokens = new ArrayList<>();
    try {
      if (tokenFile != null && !tokenFile.isBlank()) {
        tokens.addAll(AccessSettings.parseTokens(read("--token-file", tokenFile), tokenFile));
      }
      String fromEnv = env.get("LOCKSTEP_TOKENS");
      if (fromEnv != null && !fromEnv.isBlank()) {
        tokens.addAll(AccessSettings.parseTokens(fromEnv, "LOCKSTEP_TOKENS"));
      }
    } catch (IllegalArgumentException e) {
      throw usage("--token-file", e.getMessage());
    }
    String secret = env.get("LOCKSTEP_CLUSTER_SECRET");
    if (clusterSecretFile != null && !clusterSecretFile.isBlank()) {
      secret =
          read("--cluster-secret-file", clusterSecretFile)
              .lines()
              .map(String::strip)
              .filter(l -> !l.isEmpty() && !l.startsWith("#"))
              .findFirst()
              .orElseThrow(() -> usage("--cluster-secret-file", clusterSecretFile + " is empty"));
    }
    if (!insecure && tokens.isEmpty() && !AccessSettings.isLoopback(bind.strip())) {
      throw new ParameterException(
          spec.commandLine(),
          "Refusing to listen on "
              + bind.strip()
              + " without access tokens: anyone who can reach the port could read, change and"
              + " delete every value. Give tokens (--token-file or LOCKSTEP_TOKENS), listen on"
              + " loopback (--bind 127.0.0.1, the default), or pass --insecure to accept the"
              + " risk; see docs/security.md");
    }
    try {
      return new AccessSettings(
          tokens,
          secret == null ? null : secret.strip(),
          allowedHosts == null
              ? List.of()
              : allowedHosts.stream().map(String::strip).filter(h -> !h.isEmpty()).toList(),
          insecure);
    } catch (IllegalArgumentException e) {
      String flag =
          e.getMessage().startsWith("clusterSecret")
              ? "--cluster-secret-file"
              : e.getMessage().startsWith("allowedHosts") ? "--allowed-hosts" : "--token-file";
      throw usage(flag, e.getMessage());
    }
  }

  private String read(String flag, String path) {
    try {
      return Files.readString(Path.of(path));
    } catch (IOException | RuntimeException e) {
      throw usage(flag, "cannot read " + path + ": " + e);
    }
  }

  /** The HTTP side's resource bounds from the flags; a bad value is a usage error naming it. */
  private ServerLimits limits() {
    try {
      return ServerLimits.defaults()
          .withMaxConnections(maxConnections)
          .withMaxLongPolls(maxLongPolls)
          .withIdleTimeout(idleTimeout)
          .withHeaderTimeout(headerTimeout)
          .withMinRequestDataRate(minRequestDataRate)
          .withMaxRequestHeaderBytes(maxHeaderBytes)
          .withMaxCounterNames(maxCounterNames)
          .withClusterCacheTtl(clusterCache);
    } catch (IllegalArgumentException e) {
      String field = e.getMessage().replaceFirst(":.*", "");
      String flag =
          switch (field) {
            case "maxRequestHeaderBytes" -> "--max-header-bytes";
            case "clusterCacheTtl" -> "--cluster-cache";
            default -> "--" + field.replaceAll("([A-Z])", "-$1").toLowerCase(java.util.Locale.ROOT);
          };
      throw usage(flag, e.getMessage().replaceFirst("^[A-Za-z]+: ", ""));
    }
  }

  /** The node's builder from the flags, validated (everything but the advertised URL). */
  LockstepBuilder nodeBuilder() {
    LockstepBuilder b =
        Lockstep.builder()
            .backend(backendUri())
            .keyPrefix(keyPrefix)
            .instanceId(instanceId())
            .maxKeyBytes(maxKeyBytes)
            .maxValueBytes(maxValueBytes);
    ReplicaMode m =
        switch (mode.strip().toLowerCase(java.util.Locale.ROOT)) {
          case "full" -> ReplicaMode.FULL;
          case "near" -> ReplicaMode.NEAR;
          default -> throw usage("--mode", "must be full or near, was '" + mode + "'");
        };
    NearOnChange onChange =
        switch (nearOnChange.strip().toLowerCase(java.util.Locale.ROOT)) {
          case "update" -> NearOnChange.UPDATE;
          case "invalidate" -> NearOnChange.INVALIDATE;
          default ->
              throw usage(
                  "--near-on-change", "must be update or invalidate, was '" + nearOnChange + "'");
        };
    if (m == ReplicaMode.NEAR) {
      // The map totals are checked against a full copy; a near replica holds its own bound.
      if (nearMaxKeys < 1) {
        throw usage("--near-max-keys", "must be >= 1, was " + nearMaxKeys);
      }
      b.mode(m).nearMaxKeys(nearMaxKeys).nearOnChange(onChange);
    } else {
      b.maxTotalKeys(maxTotalKeys).maxTotalBytes(maxTotalBytes);
    }
    try {
      b.config();
    } catch (IllegalArgumentException e) {
      String field = e.getMessage().replaceFirst(":.*", "");
      String flag =
          switch (field) {
            case "keyPrefix" -> "--key-prefix";
            case "instanceId" -> "--instance-id";
            case "maxTotalKeys" -> "--max-total-keys";
            case "maxTotalBytes" -> "--max-total-bytes";
            case "nearMaxKeys" -> "--near-max-keys";
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
