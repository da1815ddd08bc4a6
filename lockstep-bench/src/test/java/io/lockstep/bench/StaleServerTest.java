package io.lockstep.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A tiny server with the {@code /config} contract whose memory reads, when told to, sometimes
 * answer with an older revision than one they answered before: the history check must fail and name
 * the key and the instance; with the fault off the same run passes.
 */
class StaleServerTest {
  private HttpServer server;

  /** Keeps every revision of every key; a "stale" read answers the one before the latest. */
  static final class FakeStore {
    final AtomicLong revision = new AtomicLong();
    final Map<String, List<long[]>> history =
        new ConcurrentHashMap<>(); // key -> [revision, valueIndex]
    final Map<Long, String> values = new ConcurrentHashMap<>();
    final AtomicInteger reads = new AtomicInteger();
    final boolean stale;

    FakeStore(boolean stale) {
      this.stale = stale;
    }

    synchronized void handle(HttpExchange ex) throws IOException {
      String key = ex.getRequestURI().getPath().substring("/config/".length());
      String method = ex.getRequestMethod();
      List<long[]> h = history.computeIfAbsent(key, k -> new java.util.ArrayList<>());
      switch (method) {
        case "PUT" -> {
          byte[] body = ex.getRequestBody().readAllBytes();
          long rev = revision.incrementAndGet();
          values.put(rev, new String(body, StandardCharsets.UTF_8));
          h.add(new long[] {rev});
          ex.getResponseHeaders().add("X-Lockstep-Revision", Long.toString(rev));
          send(ex, 200, body);
        }
        case "DELETE" -> {
          long rev = revision.incrementAndGet();
          h.add(new long[] {-rev});
          ex.getResponseHeaders().add("X-Lockstep-Revision", Long.toString(rev));
          ex.sendResponseHeaders(204, -1);
          ex.close();
        }
        default -> {
          int n = reads.incrementAndGet();
          long[] latest = h.isEmpty() ? null : h.get(h.size() - 1);
          long applied = revision.get();
          if (stale && n % 5 == 0 && h.size() >= 3) { // an older put of this key
            for (int i = h.size() - 2; i >= 0; i--) {
              if (h.get(i)[0] > 0) {
                latest = h.get(i);
                break;
              }
            }
          }
          ex.getResponseHeaders().add("X-Lockstep-Applied", Long.toString(applied));
          if (latest == null || latest[0] < 0) {
            send(
                ex,
                404,
                "{\"error\":\"not_found\",\"message\":\"no\"}".getBytes(StandardCharsets.UTF_8));
          } else {
            ex.getResponseHeaders().add("X-Lockstep-Revision", Long.toString(latest[0]));
            send(ex, 200, values.get(latest[0]).getBytes(StandardCharsets.UTF_8));
          }
        }
      }
    }

    private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
      ex.sendResponseHeaders(status, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    }
  }

  private URI start(boolean stale) throws IOException {
    FakeStore store = new FakeStore(stale);
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/config/", store::handle);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  private static BenchConfig config(URI target) {
    // The strict scenario changes the value every cycle, so an older revision is really older.
    return new BenchConfig(
        List.of(target),
        2,
        100,
        Duration.ofSeconds(2),
        7,
        BenchConfig.Scenario.STRICT,
        Duration.ZERO,
        Duration.ZERO,
        false,
        null,
        null);
  }

  @Test
  void staleServer_failsTheHistoryCheck_namingKeyAndInstance() throws Exception {
    URI target = start(true);
    BenchResult r = LoadRun.run(config(target), null);
    assertThat(r.passed()).isFalse();
    assertThat(r.violations()).isNotEmpty();
    History.Violation v = r.violations().get(0);
    assertThat(v.instance()).isEqualTo(target.toString());
    assertThat(v.key()).startsWith("load_tests/").hasSize("load_tests/".length() + 64);
    assertThat(v.toString())
        .contains("returned revision")
        .contains(v.key())
        .contains(target.toString());
  }

  @Test
  void healthyServer_passesTheSameChecks() throws Exception {
    BenchResult r = LoadRun.run(config(start(false)), null);
    assertThat(r.readsChecked()).isGreaterThan(100);
    assertThat(r.violations()).isEmpty();
    assertThat(r.stats().totalFailures()).isZero();
    assertThat(r.passed()).isTrue();
  }
}
