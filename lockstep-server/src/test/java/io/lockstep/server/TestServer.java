package io.lockstep.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.Versioned;
import io.lockstep.spi.Backend;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

/**
 * A server on port 0 over a node on an {@link InMemorySource}, with an HTTP client and the
 * assertions the HTTP tests share.
 */
final class TestServer implements AutoCloseable {
  final InMemorySource source;
  final LockstepServer server;
  final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private final boolean ownsSource;

  private TestServer(InMemorySource source, boolean ownsSource, LockstepServer server) {
    this.source = source;
    this.ownsSource = ownsSource;
    this.server = server;
  }

  /** Fast timeouts and backoffs for tests; values limited like the server's. */
  static LockstepBuilder nodeDefaults(Backend backend, ServerSettings settings) {
    return Lockstep.builder()
        .backend(backend)
        .keyPrefix("t")
        .operationTimeout(Duration.ofMillis(500))
        .applyTimeout(Duration.ofSeconds(5))
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .progressInterval(Duration.ofMillis(50))
        .maxValueBytes(settings.maxValueBytes())
        .randomSeed(7);
  }

  /**
   * Loopback, port 0, 5 s waits, and an empty environment: no platform variable leaks in from the
   * test run.
   */
  static ServerSettings settings() {
    return ServerSettings.builder()
        .bindHost("127.0.0.1")
        .port(0)
        .maxWait(Duration.ofSeconds(5))
        .environment(java.util.Map.of())
        .build();
  }

  /** {@link #settings()} changed by {@code change}. */
  static ServerSettings settings(java.util.function.UnaryOperator<ServerSettings.Builder> change) {
    return change.apply(settings().toBuilder()).build();
  }

  static TestServer start() {
    return start(settings(), b -> {});
  }

  static TestServer start(ServerSettings settings) {
    return start(settings, b -> {});
  }

  static TestServer start(ServerSettings settings, Consumer<LockstepBuilder> node) {
    return start(new InMemorySource(RevisionModel.SPARSE), true, settings, node, true);
  }

  /** Another server on the same source (another replica). */
  static TestServer replica(InMemorySource source, ServerSettings settings) {
    return start(source, false, settings, b -> {}, true);
  }

  static TestServer start(
      InMemorySource source,
      boolean ownsSource,
      ServerSettings settings,
      Consumer<LockstepBuilder> node,
      boolean awaitReady) {
    LockstepServer.NodeFactory factory =
        (url, observer) -> {
          LockstepBuilder b =
              nodeDefaults(source.backend(), settings)
                  .advertiseUrl(url)
                  .backendCallObserver(observer);
          node.accept(b);
          return b.build();
        };
    TestServer ts = new TestServer(source, ownsSource, LockstepServer.start(settings, factory));
    if (awaitReady) {
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> ts.server.node().map().replica().isReady());
    }
    return ts;
  }

  URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + server.port() + pathAndQuery);
  }

  HttpResponse<byte[]> send(String method, String pathAndQuery, byte[] body, String... headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri(pathAndQuery))
            .timeout(Duration.ofSeconds(30))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return send(b.build());
  }

  HttpResponse<byte[]> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  HttpResponse<byte[]> get(String pathAndQuery, String... headers) {
    return send("GET", pathAndQuery, null, headers);
  }

  HttpResponse<byte[]> put(String pathAndQuery, byte[] body, String... headers) {
    return send("PUT", pathAndQuery, body, headers);
  }

  HttpResponse<byte[]> put(String pathAndQuery, String body, String... headers) {
    return put(pathAndQuery, body.getBytes(java.nio.charset.StandardCharsets.UTF_8), headers);
  }

  HttpResponse<byte[]> delete(String pathAndQuery, String... headers) {
    return send("DELETE", pathAndQuery, null, headers);
  }

  static JsonNode json(HttpResponse<byte[]> r) {
    assertThat(r.headers().firstValue("Content-Type"))
        .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
    try {
      return Json.MAPPER.readTree(r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(
          new String(r.body(), java.nio.charset.StandardCharsets.UTF_8), e);
    }
  }

  static List<String> fieldNames(JsonNode n) {
    List<String> names = new ArrayList<>();
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      names.add(it.next());
    }
    return names;
  }

  /** Asserts the one error shape: status, JSON {"error": code, "message": text}, nothing else. */
  static JsonNode assertError(HttpResponse<byte[]> r, int status, String code) {
    assertThat(r.statusCode())
        .as(
            "status of %s %s: %s",
            r.request().method(),
            r.request().uri(),
            new String(r.body(), java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo(status);
    JsonNode body = json(r);
    assertThat(fieldNames(body)).containsExactly("error", "message");
    assertThat(body.get("error").asText()).isEqualTo(code);
    assertThat(body.get("message").asText()).isNotBlank();
    return body;
  }

  static String header(HttpResponse<?> r, String name) {
    return r.headers().firstValue(name).orElse(null);
  }

  static long revisionHeader(HttpResponse<?> r) {
    return Long.parseLong(r.headers().firstValue(Headers.REVISION).orElseThrow());
  }

  /**
   * What the source holds: its revision and entries. Equal before and after means nothing was
   * stored.
   */
  /** What the source holds: its revision, entries and counters. */
  record State(long revision, List<Versioned> entries, java.util.Map<String, Long> counters) {}

  State state() {
    return new State(source.revision(), source.entries(), source.counters());
  }

  /** What a request could change anywhere: the source, and this instance's own /api/v1 value. */
  record Everything(State source, String current) {}

  Everything everything() {
    HttpResponse<byte[]> current = get("/api/v1/current");
    return new Everything(
        state(),
        current.statusCode()
            + " "
            + new String(current.body(), java.nio.charset.StandardCharsets.UTF_8));
  }

  @Override
  public void close() {
    http.close(); // first: a graceful stop waits for idle keep-alive connections
    server.close();
    if (ownsSource) {
      source.close();
    }
  }
}
