package io.lockstep.server;

import io.javalin.Javalin;
import io.javalin.http.HttpResponseException;
import io.lockstep.BackendCallObserver;
import io.lockstep.FleetStatus;
import io.lockstep.Lockstep;
import java.lang.System.Logger.Level;
import java.net.http.HttpClient;
import java.util.Objects;
import java.util.function.Function;

/**
 * The HTTP API of one Lockstep node, on Javalin (virtual threads, one exception mapper).
 *
 * <pre>{@code
 * try (LockstepServer server = LockstepServer.start(ServerSettings.builder().port(0).build(),
 *     url -> Lockstep.builder().backend("etcd://127.0.0.1:2379").advertiseUrl(url).build())) {
 *   int port = server.port();
 * }
 * }</pre>
 *
 * <p>The server owns the node: {@link #close()} drains (readiness 503, long polls answered), leaves
 * membership, stops HTTP, then closes the node. Routes, headers and errors are described in {@code
 * docs/http-api.md}; metrics, logs and the stop in {@code docs/operations.md}. Thread safe.
 */
public final class LockstepServer implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(LockstepServer.class.getName());

  /**
   * Opens the node a server serves, given the URL this instance is reachable at and the observer to
   * build it with ({@link io.lockstep.LockstepBuilder#backendCallObserver}), which feeds the
   * server's backend metrics.
   */
  @FunctionalInterface
  public interface NodeFactory {
    Lockstep open(String advertiseUrl, BackendCallObserver observer);
  }

  private final ServerSettings settings;
  private final Javalin app;
  private final HttpClient peers;
  private final ServerTls tls;
  private volatile Lockstep node;
  private volatile String advertiseUrl;
  private volatile boolean closed;
  private final Exposure exposure;
  private final Drain drain = new Drain();
  private final ServerMetrics metrics = new ServerMetrics();
  private final GroupRoutes groups = new GroupRoutes();
  private final DriftRoutes drift;

  private LockstepServer(ServerSettings settings) {
    this.settings = settings;
    this.tls = settings.tls() == null ? null : TlsConnector.load(settings.tls());
    HttpClient.Builder peerClient =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(settings.peerTimeout());
    if (tls != null) {
      peerClient.sslContext(tls.client()); // https members: verified, and this one's certificate
    }
    this.peers = peerClient.build();
    ErrorMapper errors = new ErrorMapper(settings.maxValueBytes());
    CloudFoundry platform = CloudFoundry.from(settings.environment());
    platform.warnings().forEach(w -> LOG.log(Level.WARNING, w));
    AccessSettings access = settings.access();
    Peers peerCalls = new Peers(peers, access.clusterSecret());
    ServerLimits limits = settings.limits();
    LongPolls polls = new LongPolls(limits.maxLongPolls());
    ConfigRoutes values = new ConfigRoutes(this::requireNode, settings, drain, polls);
    StudentRoutes students = new StudentRoutes(this::requireNode, settings, drain, polls);
    DriftRoutes driftRoutes = new DriftRoutes(this::requireNode, settings);
    this.drift = driftRoutes;
    NodeRoutes nodeRoutes =
        new NodeRoutes(
            this::requireNode,
            settings,
            peerCalls,
            platform.application(),
            drain,
            polls,
            groups::stats,
            driftRoutes::stats);
    metrics.bindReconcile(driftRoutes);
    metrics.bindReplica(() -> node);
    metrics.bindGroup(GroupRoutes.DATA, () -> groups.stats().get(GroupRoutes.DATA));
    AccessLog accessLog = new AccessLog(metrics);
    CloudFoundryRoutes cf =
        new CloudFoundryRoutes(this::requireNode, settings, peerCalls, platform.instance());
    AccessGuard guard =
        new AccessGuard(
            access,
            new HostCheck(settings.bindHost(), settings.advertiseUrl(), access.allowedHosts()));
    RequestCounters requests = new RequestCounters();
    CounterRoutes counters =
        new CounterRoutes(
            this::requireNode,
            settings.counterBatch(),
            new CounterNames(limits.maxCounterNames(), limits.counterIdle()));

    this.app =
        Javalin.create(
            config -> {
              config.useVirtualThreads = true;
              config.showJavalinBanner = false;
              config.startupWatcherEnabled = false;
              // Javalin refuses a Content-Length above this before reading; Requests.body also
              // bounds
              // bodies sent without a length, so no request buffers more than the limit + 1 byte.
              config.http.maxRequestSize = settings.maxValueBytes();
              config.http.prefer405over404 = true;
              config.router.ignoreTrailingSlashes = false; // "a/" and "a" are different keys
              config.jetty.modifyServer(
                  server -> {
                    server.setErrorHandler(new JsonErrorHandler());
                    server.setStopTimeout(
                        settings
                            .shutdownTimeout()
                            .toMillis()); // graceful: requests in flight may finish
                    server.setRequestLog(accessLog); // the access log and the request timers
                    ConnectorLimits.apply(server, limits);
                  });
              config.jetty.modifyHttpConfiguration(
                  http -> {
                    http.addCustomizer(accessLog);
                    ConnectorLimits.apply(http, limits);
                  });
              if (tls != null) { // the only connector: plain HTTP is not served on the port
                config.jetty.addConnector(
                    (server, http) -> TlsConnector.create(server, http, tls, settings));
              }
              config.jetty.modifyServletContextHandler(
                  handler -> handler.setErrorHandler(new JsonErrorHandler()));
              config.router.mount(
                  router -> {
                    // Each route's access rule is its route role; the guard reads the rule of the
                    // route that matched, so it holds for whatever spelling of a path reaches it.
                    // Scopes: docs/security.md. A route without a rule refuses to start.
                    router.before(ctx -> ctx.header(Headers.NOSNIFF, "nosniff"));
                    router.before(this::identify);
                    router.before(LockstepServer::caseSensitiveMethod);
                    // Javalin answers HEAD on every GET route itself (an empty 200, the route not
                    // run); only /config/<key> documents HEAD, so any other is 405.
                    router.beforeMatched(LockstepServer::onlyDocumentedHead);
                    router.beforeMatched(guard::handle);
                    Rule read = Rule.needs(Scope.READ);
                    Rule write = Rule.needs(Scope.WRITE);
                    Rule admin = Rule.needs(Scope.ADMIN);
                    router.get("/config", values::list, read);
                    router.get("/config/<key>", values::get, read);
                    router.head("/config/<key>", values::get, read); // same status and headers
                    router.put("/config/<key>", values::put, Rule.value(Scope.WRITE));
                    router.post("/config/<key>", values::put, Rule.value(Scope.WRITE));
                    router.delete("/config/<key>", values::delete, write);
                    router.get("/config/", values::emptyKey, read);
                    for (String path : new String[] {"/config", "/config/"}) {
                      router.put(path, values::emptyKey, Rule.value(Scope.WRITE));
                      router.post(path, values::emptyKey, Rule.value(Scope.WRITE));
                      router.delete(path, values::emptyKey, write);
                    }
                    if (settings.students()) { // db-cache-sync's student service: docs/students.md
                      router.get("/students", students::list, read);
                      router.get("/student/id", students::get, read);
                      router.post("/student/add", students::add, write);
                      router.put("/student/update", students::update, write);
                      router.delete("/student/delete", students::delete, write);
                    }
                    router.get("/count", counters::count, write); // it increments
                    router.get("/counters/{name}", counters::get, read);
                    router.post("/counters/{name}", counters::increment, write);
                    router.get("/health/live", nodeRoutes::live, Rule.open());
                    router.get("/health/ready", nodeRoutes::ready, Rule.open());
                    router.get("/stats", nodeRoutes::stats, Rule.needs(Scope.READ, Scope.PEER));
                    router.get("/stats/requests", requests::serve, read);
                    // The loading groups: docs/loading-group.md; after /stats/requests, so that
                    // it wins.
                    router.get("/stats/{name}", groups::cacheStats, read);
                    router.get("/data/<key>", groups::getData, read);
                    router.delete("/data/<key>", groups::deleteData, write);
                    Rule peer = Rule.needs(Scope.PEER);
                    router.get("/_lockstep/groups/{group}/<key>", groups::peerGet, peer);
                    router.delete("/_lockstep/groups/{group}/<key>", groups::peerDelete, peer);
                    // a member's applied revision, for the members' Lockstep.fleet()
                    router.get(FleetStatus.REPLICA_PATH, nodeRoutes::replica, peer);
                    router.after(requests::count);
                    router.after(accessLog::after);
                    router.get("/metrics", metrics::scrape, Rule.needs(Scope.METRICS));
                    router.get("/cluster", nodeRoutes::cluster, read);
                    router.post("/admin/refresh", nodeRoutes::refresh, admin);
                    router.get(
                        "/admin/await", nodeRoutes::await, Rule.needs(Scope.ADMIN, Scope.PEER));
                    router.post("/admin/reconcile", driftRoutes::reconcile, admin);
                    router.post("/admin/drift/ranges", driftRoutes::ranges, admin);
                    router.post("/admin/drift/repair", driftRoutes::repair, admin);
                    // The Cloud Foundry demo's routes: every one on GET and POST, as in the
                    // original.
                    router.get("/api/v1/current", cf::current, read);
                    router.post("/api/v1/current", cf::current, read);
                    router.get("/api/v1/update", cf::update, write);
                    router.post("/api/v1/update", cf::update, write);
                    router.get("/api/v1/refresh", cf::refresh, write);
                    router.post("/api/v1/refresh", cf::refresh, write);
                    router.get("/api/v1/refresh_all", cf::refreshAll, write);
                    router.post("/api/v1/refresh_all", cf::refreshAll, write);
                    router.exception(HttpResponseException.class, errors::render);
                    router.exception(Exception.class, errors::render);
                  });
            });
    this.exposure = new Exposure(settings, this::advertiseUrl);
    Exposure.requireRules(endpoints());
  }

  /**
   * Method names are case-sensitive (RFC 9110, 9.1): {@code get} is not {@code GET}, though the
   * router would take it for one. Refused before any route runs, so it changes and counts nothing.
   */
  private static void caseSensitiveMethod(io.javalin.http.Context ctx) {
    String raw = ctx.req().getMethod();
    if (!raw.equals(raw.toUpperCase(java.util.Locale.ROOT))) {
      throw ApiException.badRequest(
          "method names are case-sensitive: '" + raw + "' is not a method this server serves");
    }
  }

  private static void onlyDocumentedHead(io.javalin.http.Context ctx) {
    if (ctx.method() == io.javalin.http.HandlerType.HEAD
        && !ctx.endpointHandlerPath().equals("/config/<key>")) {
      throw new ApiException(
          405,
          ErrorMapper.METHOD_NOT_ALLOWED,
          "method HEAD is not allowed on " + ctx.path() + "; HEAD is served on /config/<key> only");
    }
  }

  /** Every route (not the before and after handlers): method, path and roles (its {@link Rule}). */
  java.util.List<io.javalin.router.Endpoint> endpoints() {
    return app.unsafeConfig().pvt.internalRouter.allHttpHandlers().stream()
        .map(io.javalin.router.ParsedEndpoint::getEndpoint)
        .filter(e -> e.getMethod().isHttpMethod())
        .toList();
  }

  /**
   * Starts serving {@code node} (usually one built for tests) and returns once the port is bound.
   * The node's advertised URL is whatever it was built with. If the port cannot be bound, the node
   * is left open for the caller.
   */
  public static LockstepServer start(ServerSettings settings, Lockstep node) {
    Objects.requireNonNull(node, "node");
    return start(settings, url -> node);
  }

  /**
   * Binds the port, then opens the node with {@code nodeFactory}, which receives the URL this
   * instance is reachable at (from {@link ServerSettings#advertiseUrlFor(int)}, with the port
   * really bound, so port 0 works). Until the node is open, {@code /health/ready} and every route
   * that needs it answer 503. If the factory fails, the port is released and the failure rethrown.
   */
  public static LockstepServer start(
      ServerSettings settings, Function<String, Lockstep> nodeFactory) {
    Objects.requireNonNull(nodeFactory, "nodeFactory");
    return start(settings, (url, observer) -> nodeFactory.apply(url));
  }

  /**
   * As {@link #start(ServerSettings, Function)}, with the factory also given the observer to build
   * the node with, so that {@code GET /metrics} shows its backend calls.
   */
  public static LockstepServer start(ServerSettings settings, NodeFactory nodeFactory) {
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(nodeFactory, "nodeFactory");
    LockstepServer server = new LockstepServer(settings);
    try {
      server.app.start(settings.bindHost(), settings.port());
      server.advertiseUrl = settings.advertiseUrlFor(server.app.port());
      server.exposure.start();
      server.node =
          Objects.requireNonNull(
              nodeFactory.open(server.advertiseUrl, server.metrics),
              "the node factory returned null");
      server.groups.open(server.node, settings);
      server.drift.start();
      if (server.node.config().near()) {
        server.metrics.bindNear();
      }
      return server;
    } catch (RuntimeException | Error e) {
      server.close();
      throw e;
    }
  }

  /** Every answer names the instance answering, once the node is open. */
  private void identify(io.javalin.http.Context ctx) {
    Lockstep n = node;
    if (n != null) {
      ctx.header(Headers.INSTANCE, n.self().id());
    }
  }

  private Lockstep requireNode() {
    Lockstep n = node;
    if (n == null) {
      throw new ApiException(
          503,
          ErrorMapper.NOT_READY,
          closed ? "this server is stopping" : "this server is still starting");
    }
    return n;
  }

  /** The TCP port bound. */
  public int port() {
    return app.port();
  }

  /** The URL this instance is reachable at, as given to the node factory. */
  public String advertiseUrl() {
    return advertiseUrl;
  }

  /** The node served. */
  public Lockstep node() {
    return requireNode();
  }

  /** The settings the server runs with. */
  public ServerSettings settings() {
    return settings;
  }

  /** The first step of {@link #close()}: readiness 503, long polls refused and answered. */
  void drain() {
    drain.begin();
  }

  /**
   * Stops gracefully, in this order: {@code /health/ready} answers 503 with {@code Retry-After},
   * new long polls are refused and those waiting answered (503 with {@code Retry-After}); the
   * instance leaves membership (bounded by the backend's operation timeout); HTTP stops taking
   * connections and lets the requests in flight finish, up to {@link
   * ServerSettings#shutdownTimeout()}; then the node closes. Idempotent.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    exposure.close();
    drain();
    Lockstep n = node;
    if (n != null) {
      n.leaveMembership();
    }
    peers.shutdown(); // closes its idle connections (to this server too), which a graceful stop
    // would wait for
    try {
      app.stop();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "stopping HTTP failed: " + e);
    }
    groups.close();
    drift.close();
    if (n != null) {
      try {
        n.close();
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "closing the node failed", e);
      }
    }
    metrics.close();
    peers.close();
    if (tls != null) {
      tls.close();
    }
  }
}
