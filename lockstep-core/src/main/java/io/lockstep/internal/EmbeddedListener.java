package io.lockstep.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.lockstep.FleetStatus;
import io.lockstep.GroupAnswer;
import io.lockstep.LoadingGroup;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A small HTTP listener (the JDK's {@code com.sun.net.httpserver}) for applications without an HTTP
 * server of their own. It serves what it is given before {@link #start()}: a group's peer protocol
 * ({@code GET} and {@code DELETE} of {@code /_lockstep/groups/{group}/{key}}, {@link #serveGroup})
 * and a node's applied revision ({@code GET /_lockstep/replica}, {@link #serveReplica}). One
 * listener per loading group with {@link io.lockstep.GroupOptions#listenPort()}, one per node with
 * {@link io.lockstep.LockstepBuilder#listen}. The port is bound at construction, so its URL is
 * known before anything is served; requests that arrive before {@link #start()} wait in the
 * backlog. One virtual thread per request.
 */
final class EmbeddedListener implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor;
  private final URI url;
  private boolean started; // guarded by this

  /** Binds {@code bindAddress:port} (0: any free port) without serving yet. */
  EmbeddedListener(String bindAddress, int port) {
    this.executor = Executors.newVirtualThreadPerTaskExecutor();
    try {
      InetAddress address = InetAddress.getByName(bindAddress);
      this.server = HttpServer.create(new InetSocketAddress(address, port), 128);
    } catch (IOException e) {
      executor.shutdown();
      throw new UncheckedIOException("cannot listen on " + bindAddress + ":" + port, e);
    }
    server.setExecutor(executor);
    String host = server.getAddress().getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    this.url = URI.create("http://" + host + ":" + server.getAddress().getPort());
  }

  /** A started listener serving {@code group}'s peer protocol (a group's own listener). */
  EmbeddedListener(LoadingGroup group, String bindAddress, int port) {
    this(bindAddress, port);
    serveGroup(group);
    start();
  }

  /** Starts serving. */
  synchronized void start() {
    if (!started) {
      started = true;
      server.start();
    }
  }

  URI url() {
    return url;
  }

  /** Serves {@code group}'s peer protocol under {@code /_lockstep/groups/{group}/}. */
  void serveGroup(LoadingGroup group) {
    String prefix = GroupAnswer.PATH_PREFIX + PeerClient.encode(group.name()) + "/";
    server.createContext(prefix, ex -> handle(group, prefix, ex));
  }

  /** Stops serving {@code group}'s peer protocol (the group closed); idempotent. */
  void stopServingGroup(String group) {
    try {
      server.removeContext(GroupAnswer.PATH_PREFIX + PeerClient.encode(group) + "/");
    } catch (IllegalArgumentException notServed) {
      // not served, or already removed
    }
  }

  /**
   * Serves {@code GET /_lockstep/replica} with {@code body} (a {@link ReplicaWire} answer), to
   * callers whose {@code Authorization} header {@code authorized} accepts (401 otherwise).
   */
  void serveReplica(Predicate<@Nullable String> authorized, Supplier<String> body) {
    server.createContext(
        FleetStatus.REPLICA_PATH,
        ex -> {
          try (ex) {
            if (!ex.getRequestURI().getRawPath().equals(FleetStatus.REPLICA_PATH)) {
              error(ex, 404, "not_found", "no such path: " + ex.getRequestURI().getRawPath());
              return;
            }
            if (!authorized.test(ex.getRequestHeaders().getFirst("Authorization"))) {
              ex.getResponseHeaders().add("WWW-Authenticate", "Bearer");
              error(ex, 401, "unauthorized", "a valid bearer credential is required");
              return;
            }
            if (!ex.getRequestMethod().equals("GET")) {
              ex.getResponseHeaders().add("Allow", "GET");
              error(ex, 405, "method_not_allowed", "only GET");
              return;
            }
            byte[] out = body.get().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.getResponseHeaders().add("Cache-Control", "no-store");
            ex.sendResponseHeaders(200, out.length);
            try (OutputStream o = ex.getResponseBody()) {
              o.write(out);
            }
          } catch (RuntimeException e) {
            error(ex, 500, "internal", String.valueOf(e));
          }
        });
  }

  private static void handle(LoadingGroup group, String prefix, HttpExchange ex)
      throws IOException {
    try (ex) {
      if (!group.authorized(ex.getRequestHeaders().getFirst("Authorization"))) {
        ex.getResponseHeaders().add("WWW-Authenticate", "Bearer");
        error(ex, 401, "unauthorized", "a valid bearer credential is required");
        return;
      }
      String raw = ex.getRequestURI().getRawPath();
      String key;
      try {
        key = PeerClient.decode(raw.substring(prefix.length()));
      } catch (IllegalArgumentException e) {
        error(ex, 400, "invalid_key", "the key is not valid percent-encoding");
        return;
      }
      switch (ex.getRequestMethod()) {
        case "GET" -> {
          boolean forwarded =
              "1".equals(ex.getRequestHeaders().getFirst(GroupAnswer.FORWARDED_HEADER));
          GroupAnswer a = group.serve(key, forwarded).join();
          if (a.status() == 200) {
            ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
            if (a.expiresInMillis() >= 0) {
              ex.getResponseHeaders()
                  .add(GroupAnswer.EXPIRES_HEADER, Long.toString(a.expiresInMillis()));
            }
            ex.sendResponseHeaders(200, a.value().length == 0 ? -1 : a.value().length);
            try (OutputStream out = ex.getResponseBody()) {
              out.write(a.value());
            }
          } else {
            error(ex, a.status(), code(a.status()), a.error() == null ? "" : a.error());
          }
        }
        case "DELETE" -> {
          group.serveRemove(key).join();
          ex.sendResponseHeaders(204, -1);
        }
        default -> {
          ex.getResponseHeaders().add("Allow", "GET, DELETE");
          error(ex, 405, "method_not_allowed", "only GET and DELETE");
        }
      }
    } catch (RuntimeException e) {
      error(ex, 500, "internal", String.valueOf(e));
    }
  }

  static String code(int status) {
    return switch (status) {
      case 400 -> "invalid_key";
      case 502 -> "load_failed";
      case 503 -> "unavailable";
      case 504 -> "load_timeout";
      default -> "error";
    };
  }

  private static void error(HttpExchange ex, int status, String code, String message)
      throws IOException {
    byte[] body =
        ("{\"error\":\"" + code + "\",\"message\":\"" + json(message) + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.getResponseHeaders().add(GroupAnswer.ERROR_HEADER, PeerClient.encode(message));
    ex.sendResponseHeaders(status, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  /** {@code s} escaped for a JSON string. */
  static String json(String s) {
    StringBuilder b = new StringBuilder(s.length() + 8);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.toString();
  }

  @Override
  public void close() {
    // A server never started would keep its port: the socket is released by the dispatcher
    // thread's selector, which only start() runs.
    start();
    server.stop(0);
    executor.shutdownNow();
  }
}
