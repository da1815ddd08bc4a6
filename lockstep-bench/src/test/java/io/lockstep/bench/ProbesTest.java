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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The probes behind the figures in docs/benchmarks.md, against small in-JVM servers with the {@code
 * /config} and {@code /counters} contract: each figure comes out when the servers behave, and each
 * check fails when they do not (a reader that never catches up is counted missed; a server that
 * counts an increment twice makes the counter probe inexact).
 */
class ProbesTest {
  private final List<HttpServer> servers = new ArrayList<>();
  private final ExecutorService pool = Executors.newCachedThreadPool();

  /** One source of truth shared by every fake instance. */
  static final class Cluster {
    final AtomicLong revision = new AtomicLong();
    final AtomicLong counter = new AtomicLong();
  }

  @AfterEach
  void stop() throws InterruptedException {
    servers.forEach(s -> s.stop(0));
    pool.shutdownNow();
    pool.awaitTermination(5, TimeUnit.SECONDS);
  }

  /** A fake instance; {@code lagging}: its reads never reach a new revision (504, as the bound). */
  private URI instance(Cluster c, boolean lagging, long countsPerIncrement) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    s.setExecutor(pool);
    s.createContext(
        "/config/",
        ex -> {
          if (ex.getRequestMethod().equals("PUT")) {
            ex.getRequestBody().readAllBytes();
            long rev = c.revision.incrementAndGet();
            ex.getResponseHeaders().add("X-Lockstep-Revision", Long.toString(rev));
            send(ex, 200, "{}");
            return;
          }
          String q = ex.getRequestURI().getQuery();
          long wanted =
              q == null ? 0 : Long.parseLong(q.replaceAll(".*min_revision=(\\d+).*", "$1"));
          long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
          while (!lagging && c.revision.get() < wanted && System.nanoTime() < deadline) {
            // park, not spin: many long polls wait at once, and a spinning fake starves the
            // probe itself on a small, busy machine
            java.util.concurrent.locks.LockSupport.parkNanos(50_000);
          }
          long now = c.revision.get();
          if (lagging || now < wanted) {
            send(ex, 504, "{\"error\":\"timeout\",\"message\":\"not reached\"}");
            return;
          }
          ex.getResponseHeaders().add("X-Lockstep-Revision", Long.toString(now));
          ex.getResponseHeaders().add("X-Lockstep-Applied", Long.toString(now));
          send(ex, 200, "{}");
        });
    s.createContext(
        "/counters/",
        ex -> {
          ex.getRequestBody().readAllBytes();
          long v =
              ex.getRequestMethod().equals("POST")
                  ? c.counter.addAndGet(countsPerIncrement)
                  : c.counter.get();
          send(ex, 200, "{\"name\":\"c\",\"value\":" + v + "}");
        });
    s.start();
    servers.add(s);
    return URI.create("http://127.0.0.1:" + s.getAddress().getPort());
  }

  private static void send(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
    ex.close();
  }

  @Test
  void propagation_toReadersThatFollow_measuresEveryWrite_onEveryReader() throws Exception {
    Cluster c = new Cluster();
    List<URI> targets =
        List.of(instance(c, false, 1), instance(c, false, 1), instance(c, false, 1));
    PropagationProbe.Result r =
        PropagationProbe.run(targets, 40, Duration.ofMillis(200), Duration.ofSeconds(2), null);
    assertThat(r.missed()).isZero();
    assertThat(r.writes().getTotalCount()).isGreaterThan(10);
    assertThat(r.samples()).isEqualTo(2 * r.writes().getTotalCount()); // two readers, every write
    assertThat(r.perTarget()).hasSize(2);
    r.perTarget()
        .values()
        .forEach(h -> assertThat(h.getTotalCount()).isEqualTo(r.writes().getTotalCount()));
    assertThat(r.overall().getTotalCount()).isEqualTo(r.samples());
  }

  @Test
  void propagation_aReaderThatNeverCatchesUp_isCountedMissed_notMeasured() throws Exception {
    Cluster c = new Cluster();
    URI stale = instance(c, true, 1);
    List<URI> targets = List.of(instance(c, false, 1), instance(c, false, 1), stale);
    PropagationProbe.Result r =
        PropagationProbe.run(targets, 40, Duration.ofMillis(200), Duration.ofSeconds(2), null);
    assertThat(r.missed()).isEqualTo(r.writes().getTotalCount()).isGreaterThan(10);
    assertThat(r.perTarget().get(stale.toString()).getTotalCount()).isZero();
  }

  @Test
  void counters_exact_whenEveryIncrementCountsOnce() throws Exception {
    Cluster c = new Cluster();
    c.counter.set(1000); // the probe measures growth, not the absolute value
    List<URI> targets = List.of(instance(c, false, 1), instance(c, false, 1));
    CounterProbe.Result r = CounterProbe.run(targets, "c", 4, Duration.ofSeconds(2), null);
    assertThat(r.acknowledged()).isGreaterThan(10);
    assertThat(r.failed()).isZero();
    assertThat(r.after() - r.before()).isEqualTo(r.acknowledged());
    assertThat(r.exact()).isTrue();
  }

  @Test
  void counters_notExact_whenAServerCountsAnIncrementTwice() throws Exception {
    Cluster c = new Cluster();
    List<URI> targets = List.of(instance(c, false, 1), instance(c, false, 2));
    CounterProbe.Result r = CounterProbe.run(targets, "c", 4, Duration.ofSeconds(2), null);
    assertThat(r.acknowledged()).isGreaterThan(10);
    assertThat(r.exact()).isFalse();
  }
}
