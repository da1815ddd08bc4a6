package io.lockstep.server;

import io.javalin.Javalin;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;
import io.lockstep.Lockstep;
import java.lang.System.Logger.Level;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.UnaryOperator;

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
 * <p>The server owns the node: {@link #close()} stops HTTP first, then closes the node. Routes,
 * headers and errors are described in {@code docs/http-api.md}. Thread safe.
 */
public final class LockstepServer implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(LockstepServer.class.getName());

  /** How long {@link #close()} lets requests in flight finish before it cuts them off. */
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);

  private final ServerSettings settings;
  private final Javalin app;
  private final HttpClient peers;
  private final ServerTls tls;
  private volatile Lockstep node;
  private volatile String advertiseUrl;
  private volatile boolean closed;

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
    Peers peerCalls = new Peers(peers, settings.authToken());
    ConfigRoutes values = new ConfigRoutes(this::requireNode, settings);
    NodeRoutes nodeRoutes =
        new NodeRoutes(this::requireNode, settings, peerCalls, platform.application());
    CloudFoundryRoutes cf =
        new CloudFoundryRoutes(this::requireNode, settings, peerCalls, platform.instance());
    BearerAuth auth = settings.authToken() == null ? null : new BearerAuth(settings.authToken());
    RequestCounters requests = new RequestCounters();
    CounterRoutes counters = new CounterRoutes(this::requireNode, settings.counterBatch());

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
                        STOP_TIMEOUT.toMillis()); // graceful: requests in flight may finish
                  });
              if (tls != null) { // the only connector: plain HTTP is not served on the port
                config.jetty.addConnector(
                    (server, http) -> TlsConnector.create(server, http, tls, settings));
              }
              config.jetty.modifyServletContextHandler(
                  handler -> handler.setErrorHandler(new JsonErrorHandler()));
              config.router.mount(
                  router -> {
                    // Auth wraps the handlers it guards, so it holds for whatever path reaches
                    // them.
                    UnaryOperator<Handler> guarded = auth == null ? h -> h : auth::guard;
                    router.get("/config", values::list);
                    router.get("/config/<key>", values::get);
                    router.head("/config/<key>", values::get); // same status and headers, no body
                    router.put("/config/<key>", guarded.apply(values::put));
                    router.post("/config/<key>", guarded.apply(values::put));
                    router.delete("/config/<key>", guarded.apply(values::delete));
                    router.get("/config/", values::emptyKey);
                    for (String path : new String[] {"/config", "/config/"}) {
                      router.put(path, guarded.apply(values::emptyKey));
                      router.post(path, guarded.apply(values::emptyKey));
                      router.delete(path, guarded.apply(values::emptyKey));
                    }
                    router.get("/count", counters::count);
                    router.get("/counters/{name}", counters::get);
                    router.post("/counters/{name}", guarded.apply(counters::increment));
                    router.get("/health/live", nodeRoutes::live);
                    router.get("/health/ready", nodeRoutes::ready);
                    router.get("/stats", guarded.apply(nodeRoutes::stats));
                    router.get("/stats/requests", guarded.apply(requests::serve));
                    router.after(requests::count);
                    router.get("/cluster", guarded.apply(nodeRoutes::cluster));
                    router.post("/admin/refresh", guarded.apply(nodeRoutes::refresh));
                    router.get("/admin/await", guarded.apply(nodeRoutes::await));
                    // The Cloud Foundry demo's routes: every one on GET and POST, as in the
                    // original.
                    router.get("/api/v1/current", cf::current);
                    router.post("/api/v1/current", cf::current);
                    router.get("/api/v1/update", guarded.apply(cf::update));
                    router.post("/api/v1/update", guarded.apply(cf::update));
                    router.get("/api/v1/refresh", guarded.apply(cf::refresh));
                    router.post("/api/v1/refresh", guarded.apply(cf::refresh));
                    router.get("/api/v1/refresh_all", guarded.apply(cf::refreshAll));
                    router.post("/api/v1/refresh_all", guarded.apply(cf::refreshAll));
                    router.exception(HttpResponseException.class, errors::render);
                    router.exception(Exception.class, errors::render);
                  });
            });
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
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(nodeFactory, "nodeFactory");
    LockstepServer server = new LockstepServer(settings);
    try {
      server.app.start(settings.bindHost(), settings.port());
      server.advertiseUrl = settings.advertiseUrlFor(server.app.port());
      server.node =
          Objects.requireNonNull(
              nodeFactory.apply(server.advertiseUrl), "the node factory returned null");
      return server;
    } catch (RuntimeException | Error e) {
      server.close();
      throw e;
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

  /**
   * Stops taking requests, lets those in flight finish (up to {@link #STOP_TIMEOUT}), then closes
   * the node. Idempotent.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    peers.shutdown(); // closes its idle connections (to this server too), which a graceful stop
    // would wait for
    try {
      app.stop();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "stopping HTTP failed", e);
    }
    Lockstep n = node;
    if (n != null) {
      try {
        n.close();
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "closing the node failed", e);
      }
    }
    peers.close();
    if (tls != null) {
      tls.close();
    }
  }
}
