package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.lockstep.Member;
import io.lockstep.spi.Backend;
import io.lockstep.spi.ForwardingBackend;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.Membership;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import io.lockstep.testkit.InMemorySource;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The resource bounds of one server, and the checks that keep membership honest. */
class LimitsTest {

  static ServerSettings limited(java.util.function.UnaryOperator<ServerLimits> change) {
    return TestServer.settings(b -> b.limits(change.apply(ServerLimits.defaults())));
  }

  // ---------------------------------------------------------------------------------------------
  // Connections
  // ---------------------------------------------------------------------------------------------

  @Test
  void connectionLimit_pastTheBound_noConnectionIsServedUntilOneCloses() throws Exception {
    try (TestServer ts = TestServer.start(limited(l -> l.withMaxConnections(2)))) {
      ts.http.close(); // its pooled connections would count
      List<Socket> held = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          Socket s = new Socket("127.0.0.1", ts.server.port());
          held.add(s);
          assertThat(ask(s, "/health/live", 3000)).startsWith("HTTP/1.1 200");
        }
        try (Socket third = new Socket()) {
          third.connect(new InetSocketAddress("127.0.0.1", ts.server.port()), 2000);
          third.setSoTimeout(1500);
          OutputStream out = third.getOutputStream();
          out.write(request("/health/live"));
          out.flush();
          boolean answered;
          try {
            answered = third.getInputStream().read() != -1;
          } catch (SocketTimeoutException e) {
            answered = false;
          }
          assertThat(answered).as("a third connection is served past a limit of 2").isFalse();
          held.remove(0).close(); // room for one
          third.setSoTimeout(5000);
          assertThat(readHead(third.getInputStream())).startsWith("HTTP/1.1 200");
        }
      } finally {
        for (Socket s : held) {
          s.close();
        }
      }
    }
  }

  @Test
  void slowHeaders_aConnectionTricklingItsHeadersIsClosedWithinTheBound_othersAreServed()
      throws Exception {
    try (TestServer ts =
        TestServer.start(limited(l -> l.withHeaderTimeout(Duration.ofMillis(1500))))) {
      try (Socket slow = new Socket("127.0.0.1", ts.server.port())) {
        slow.setSoTimeout(200);
        OutputStream out = slow.getOutputStream();
        out.write(
            "GET /health/live HTTP/1.1\r\nHost: localhost\r\n".getBytes(StandardCharsets.US_ASCII));
        long start = System.nanoTime();
        boolean closed = false;
        while (!closed && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(8)) {
          try {
            out.write('X'); // a header byte every 200 ms: the idle timeout never fires
            out.flush();
          } catch (java.io.IOException e) {
            closed = true;
            break;
          }
          try {
            closed = slow.getInputStream().read() == -1;
          } catch (SocketTimeoutException e) {
            // still open
          } catch (java.io.IOException e) {
            closed = true;
          }
          assertThat(ts.get("/health/live").statusCode()).isEqualTo(200); // others are served
        }
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(closed).as("closed after %d ms", took).isTrue();
        assertThat(took).isBetween(1000L, 4000L);
      }
    }
  }

  @Test
  void slowBody_pastTheGraceBelowTheRate_isClosed_aSmallBodyThatPausesIsNot() throws Exception {
    try (TestServer ts =
        TestServer.start(
            limited(
                l -> l.withHeaderTimeout(Duration.ofMillis(1000)).withMinRequestDataRate(1024)))) {
      try (Socket pausing = new Socket("127.0.0.1", ts.server.port())) {
        pausing.setSoTimeout(5000);
        OutputStream out = pausing.getOutputStream();
        out.write(
            "PUT /config/paused HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nab"
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        Thread.sleep(700); // within the grace
        out.write("cd".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        assertThat(readHead(pausing.getInputStream())).startsWith("HTTP/1.1 200");
      }
      try (Socket slow = new Socket("127.0.0.1", ts.server.port())) {
        slow.setSoTimeout(200);
        OutputStream out = slow.getOutputStream();
        out.write(
            "PUT /config/slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        long start = System.nanoTime();
        boolean closed = false;
        while (!closed && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(8)) {
          try {
            out.write("0123456789".getBytes(StandardCharsets.US_ASCII)); // 50 B/s
            out.flush();
            closed = slow.getInputStream().read() == -1;
          } catch (SocketTimeoutException e) {
            // still open
          } catch (java.io.IOException e) {
            closed = true;
          }
        }
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(closed).as("closed after %d ms", took).isTrue();
        assertThat(took).isBetween(1000L, 4000L);
      }
      assertThat(ts.source.entries()).extracting(v -> v.key()).containsExactly("paused");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Long polls
  // ---------------------------------------------------------------------------------------------

  @Test
  void longPolls_pastTheBound_503OverloadedWithRetryAfter_andPlacesComeBackOnTimeout()
      throws Exception {
    try (TestServer ts =
        TestServer.start(
            TestServer.settings(
                b ->
                    b.maxWait(Duration.ofSeconds(2))
                        .limits(ServerLimits.defaults().withMaxLongPolls(2))))) {
      ts.server.node().map().put("k", new byte[] {1}, null);
      String far = "/config/k?min_revision=999999999";
      ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
      try {
        List<Future<HttpResponse<byte[]>>> waiting = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
          waiting.add(pool.submit(() -> ts.get(far)));
        }
        await()
            .atMost(Duration.ofSeconds(2))
            .until(() -> ts.server.node().map().replica().stats().waiters() == 2);
        HttpResponse<byte[]> refused = ts.get(far);
        JsonNode body = assertError(refused, 503, "overloaded");
        assertThat(body.get("message").asText()).contains("limit is 2");
        assertThat(TestServer.header(refused, "Retry-After")).isEqualTo("1");
        assertError(ts.get("/admin/await?revision=999999999"), 503, "overloaded");
        // A read that needs no wait is not counted.
        assertThat(ts.get("/config/k?min_revision=1").statusCode()).isEqualTo(200);
        for (Future<HttpResponse<byte[]>> f : waiting) {
          assertError(f.get(10, TimeUnit.SECONDS), 504, "timeout");
        }
        assertThat(ts.server.node().map().replica().stats().waiters()).isZero();
        // Released on timeout: the next wait is taken (and times out) instead of being refused.
        assertError(ts.get(far), 504, "timeout");
      } finally {
        pool.shutdownNow();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Refresh and /cluster
  // ---------------------------------------------------------------------------------------------

  @Test
  void recent_concurrentCallersShareOneComputation_andTheResultIsReusedForTheTtlOnly()
      throws Exception {
    AtomicInteger computed = new AtomicInteger();
    CompletableFuture<Long> gate = new CompletableFuture<>();
    AtomicLong now = new AtomicLong();
    Recent<Long> recent =
        new Recent<>(
            () -> {
              computed.incrementAndGet();
              return gate.thenApply(v -> v + computed.get());
            },
            Duration.ofSeconds(1),
            now::get);
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<CompletableFuture<Long>>> calls = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        calls.add(
            pool.submit(
                () -> {
                  go.await();
                  return recent.get();
                }));
      }
      go.countDown();
      List<CompletableFuture<Long>> results = new ArrayList<>();
      for (Future<CompletableFuture<Long>> c : calls) {
        results.add(c.get(5, TimeUnit.SECONDS));
      }
      gate.complete(100L);
      for (CompletableFuture<Long> r : results) {
        assertThat(r.get(5, TimeUnit.SECONDS)).isEqualTo(101L);
      }
      assertThat(computed.get()).isEqualTo(1);
      now.addAndGet(TimeUnit.MILLISECONDS.toNanos(999));
      assertThat(recent.get().get()).isEqualTo(101L);
      assertThat(computed.get()).isEqualTo(1);
      now.addAndGet(TimeUnit.MILLISECONDS.toNanos(2));
      assertThat(recent.get().get()).isEqualTo(102L);
      assertThat(computed.get()).isEqualTo(2);
      // Invalidated (a member joined or left): the next call computes anew within the TTL.
      recent.invalidate();
      assertThat(recent.get().get()).isEqualTo(103L);
      assertThat(computed.get()).isEqualTo(3);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void refresh_concurrentCallsShareOneListing_aLaterCallListsAgain() throws Exception {
    InMemorySource source = new InMemorySource(RevisionModel.SPARSE);
    GatedBackend gated = new GatedBackend(source.backend());
    try (TestServer ts =
        TestServer.start(source, true, TestServer.settings(), b -> b.backend(gated), true)) {
      gated.hold();
      long before = gated.listings.get();
      ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
      try {
        List<Future<HttpResponse<byte[]>>> calls = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          calls.add(pool.submit(() -> ts.send("POST", "/admin/refresh", null)));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> gated.listings.get() == before + 1);
        Thread.sleep(300); // every call has arrived
        gated.release();
        for (Future<HttpResponse<byte[]>> c : calls) {
          assertThat(c.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        assertThat(gated.listings.get()).isEqualTo(before + 1);
        assertThat(ts.send("POST", "/admin/refresh", null).statusCode()).isEqualTo(200);
        assertThat(gated.listings.get()).isEqualTo(before + 2);
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void cluster_callsWithinTheCachePeriodAskTheMembersOnce() throws Exception {
    try (TestServer ts =
            TestServer.start(limited(l -> l.withClusterCacheTtl(Duration.ofSeconds(2))));
        FakeMember fake = new FakeMember("fake-1")) {
      ts.source
          .backend()
          .membership()
          .register(new Member("fake-1", fake.url(), Instant.now()))
          .get();
      for (int i = 0; i < 20; i++) {
        assertThat(ts.get("/cluster").statusCode()).isEqualTo(200);
      }
      assertThat(fake.hits.get()).isEqualTo(1);
      // A member joining drops the cached answer at once, well within the 2 s period.
      try (FakeMember joiner = new FakeMember("fake-2")) {
        long joined = System.nanoTime();
        ts.source
            .backend()
            .membership()
            .register(new Member("fake-2", joiner.url(), Instant.now()))
            .get();
        await()
            .atMost(Duration.ofSeconds(5))
            .pollInterval(Duration.ofMillis(50))
            .until(
                () -> {
                  ts.get("/cluster");
                  return joiner.hits.get() >= 1;
                });
        assertThat(Duration.ofNanos(System.nanoTime() - joined))
            .isLessThan(Duration.ofMillis(1500));
      }
      await()
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                ts.get("/cluster");
                return fake.hits.get() == 2;
              });
    }
  }

  @Test
  void cluster_aMemberWhoseUrlAnswersWithAnotherId_isNotConfirmed_withTheReason() throws Exception {
    try (TestServer ts = TestServer.start(limited(l -> l.withClusterCacheTtl(Duration.ZERO)));
        FakeMember impostor = new FakeMember("someone-else");
        FakeMember anonymous = new FakeMember(null)) {
      Membership members = ts.source.backend().membership();
      members.register(new Member("m-impostor", impostor.url(), Instant.now())).get();
      members.register(new Member("m-anonymous", anonymous.url(), Instant.now())).get();
      // A record pointing at this very server under another id (what a loopback URL does).
      members.register(new Member("m-loop", ts.server.advertiseUrl(), Instant.now())).get();
      JsonNode list = json(ts.get("/cluster")).get("members");
      Map<String, JsonNode> byId = new ConcurrentHashMap<>();
      list.forEach(m -> byId.put(m.get("id").asText(), m));
      assertThat(byId.get("m-impostor").get("reachable").asBoolean()).isFalse();
      assertThat(byId.get("m-impostor").get("error").asText())
          .contains("answered as instance 'someone-else'", "not as member 'm-impostor'");
      assertThat(byId.get("m-anonymous").get("reachable").asBoolean()).isFalse();
      assertThat(byId.get("m-anonymous").get("error").asText()).contains("X-Lockstep-Instance");
      assertThat(byId.get("m-loop").get("reachable").asBoolean()).isFalse();
      assertThat(byId.get(ts.server.node().self().id()).get("reachable").asBoolean()).isTrue();

      // /api/v1/refresh does not count them as done.
      HttpResponse<byte[]> r =
          ts.send(
              "POST",
              "/api/v1/refresh",
              "{\"MY_CACHE\": \"v\"}".getBytes(StandardCharsets.UTF_8),
              "Content-Type",
              "application/json");
      assertThat(r.statusCode()).isEqualTo(504);
      JsonNode body = json(r);
      assertThat(body.get("Instances_Refreshed").asInt()).isEqualTo(1);
      List<String> notRefreshed = new ArrayList<>();
      body.get("Not_Refreshed").forEach(n -> notRefreshed.add(n.asText()));
      assertThat(notRefreshed).containsExactlyInAnyOrder("m-anonymous", "m-impostor", "m-loop");
      assertThat(body.get("message").asText()).contains("answered as instance 'someone-else'");
    }
  }

  @Test
  void everyAnswerNamesTheInstance() {
    try (TestServer ts = TestServer.start()) {
      String id = ts.server.node().self().id();
      assertThat(TestServer.header(ts.get("/health/live"), Headers.INSTANCE)).isEqualTo(id);
      assertThat(TestServer.header(ts.get("/config/absent"), Headers.INSTANCE)).isEqualTo(id);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Keys: reserved segments, totals
  // ---------------------------------------------------------------------------------------------

  @Test
  void reservedSegments_areRefusedAnywhereInAKey_andNothingIsStored() {
    try (TestServer ts = TestServer.start()) {
      TestServer.State before = ts.state();
      for (String key :
          List.of(
              "prod/_members/evil",
              "a/b/_counters/x",
              "x/_idem/abc",
              "_members/x",
              "_counters/x",
              "_idem/x")) {
        assertError(ts.put("/config/" + key, "v"), 400, "bad_request");
        assertError(ts.get("/config/" + key), 400, "bad_request");
        assertError(ts.delete("/config/" + key), 400, "bad_request");
      }
      assertThat(ts.state()).isEqualTo(before);
      for (String fine : List.of("prod_members/x", "prod/_membersx", "prod/x_members/y")) {
        assertThat(ts.put("/config/" + fine, "v").statusCode()).as(fine).isEqualTo(200);
      }
    }
  }

  @Test
  void totalKeys_manyConcurrentWritersOfDistinctKeys_neverTakeTheMapPastTheCap() throws Exception {
    int cap = 40;
    try (TestServer ts = TestServer.start(TestServer.settings(), b -> b.maxTotalKeys(cap))) {
      for (int i = 0; i < 10; i++) {
        ts.put("/config/seed-" + i, "v");
      }
      Outcome o = writeConcurrently(ts, 200, 32, i -> "/config/k-" + i, i -> "v");
      assertThat(o.ok()).isEqualTo(cap - 10);
      assertThat(o.full()).isEqualTo(200 - (cap - 10));
      assertThat(o.other()).isZero();
      assertThat(ts.source.entries()).hasSize(cap);
      // An existing key can still be overwritten at the cap; a delete makes room for one.
      assertThat(ts.put("/config/seed-0", "w").statusCode()).isEqualTo(200);
      JsonNode refused = assertError(ts.put("/config/one-more", "v"), 507, "map_full");
      assertThat(refused.get("message").asText()).contains("limit is " + cap + " keys");
      assertThat(ts.delete("/config/seed-1").statusCode()).isEqualTo(204);
      assertThat(ts.put("/config/one-more", "v").statusCode()).isEqualTo(200);
      assertThat(ts.source.entries()).hasSize(cap);
    }
  }

  @Test
  void totalBytes_manyConcurrentWritersNeverTakeTheMapPastTheCap() throws Exception {
    long cap = 1000;
    String value = "x".repeat(100);
    try (TestServer ts = TestServer.start(TestServer.settings(), b -> b.maxTotalBytes(cap))) {
      Outcome o = writeConcurrently(ts, 120, 32, i -> "/config/b-" + i, i -> value);
      assertThat(o.ok()).isEqualTo(10);
      assertThat(o.full()).isEqualTo(110);
      long bytes = ts.source.entries().stream().mapToLong(v -> v.value().length).sum();
      assertThat(bytes).isEqualTo(cap);
      // Growing an existing value past the cap is refused; shrinking one is not.
      assertError(ts.put("/config/b-any", "y"), 507, "map_full");
      String first = ts.source.entries().get(0).key();
      assertError(ts.put("/config/" + first, value + "y"), 507, "map_full");
      assertThat(ts.put("/config/" + first, "small").statusCode()).isEqualTo(200);
    }
  }

  record Outcome(int ok, int full, int other) {}

  static Outcome writeConcurrently(
      TestServer ts,
      int writes,
      int threads,
      java.util.function.IntFunction<String> path,
      java.util.function.IntFunction<String> body)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicInteger ok = new AtomicInteger();
    AtomicInteger full = new AtomicInteger();
    AtomicInteger other = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    List<Future<?>> all = new ArrayList<>();
    for (int i = 0; i < writes; i++) {
      int n = i;
      all.add(
          pool.submit(
              () -> {
                go.await();
                int status = ts.put(path.apply(n), body.apply(n)).statusCode();
                (status == 200 ? ok : status == 507 ? full : other).incrementAndGet();
                return null;
              }));
    }
    go.countDown();
    for (Future<?> f : all) {
      f.get(30, TimeUnit.SECONDS);
    }
    pool.shutdown();
    return new Outcome(ok.get(), full.get(), other.get());
  }

  // ---------------------------------------------------------------------------------------------
  // Counters
  // ---------------------------------------------------------------------------------------------

  @Test
  void counterNames_pastTheBound_aNewNameIs503_knownNamesAndReadsCarryOn() {
    try (TestServer ts = TestServer.start(limited(l -> l.withMaxCounterNames(3)))) {
      for (String name : List.of("a", "b", "c")) {
        assertThat(ts.send("POST", "/counters/" + name, null).statusCode()).isEqualTo(200);
      }
      HttpResponse<byte[]> refused = ts.send("POST", "/counters/d", null);
      assertError(refused, 503, "overloaded");
      assertThat(TestServer.header(refused, "Retry-After")).isNotNull();
      assertThat(ts.source.counters()).doesNotContainKey("d");
      assertThat(ts.send("POST", "/counters/a", null).statusCode()).isEqualTo(200);
      for (int i = 0; i < 50; i++) { // reads hold nothing per name
        assertThat(ts.get("/counters/r" + i).statusCode()).isEqualTo(200);
      }
      assertError(ts.send("POST", "/counters/bad%20name", null), 400, "bad_request");
    }
  }

  @Test
  void counterNames_anIdleNameLeavesTheBound() {
    try (TestServer ts =
        TestServer.start(
            limited(l -> l.withMaxCounterNames(1).withCounterIdle(Duration.ofMillis(300))))) {
      assertThat(ts.send("POST", "/counters/a", null).statusCode()).isEqualTo(200);
      assertError(ts.send("POST", "/counters/b", null), 503, "overloaded");
      await()
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> ts.send("POST", "/counters/b", null).statusCode() == 200);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Advertised URL
  // ---------------------------------------------------------------------------------------------

  @Test
  void advertiseUrl_boundEverywhere_comesFromThePlatform_neverLoopback() {
    ServerSettings.Builder b =
        ServerSettings.builder().bindHost("0.0.0.0").access(AccessSettings.NONE.withInsecure(true));
    assertThat(
            b.environment(Map.of("CF_INSTANCE_INTERNAL_IP", "10.1.2.3", "POD_IP", "10.9.9.9"))
                .build()
                .advertiseUrlFor(8080))
        .isEqualTo("http://10.1.2.3:8080");
    assertThat(b.environment(Map.of("POD_IP", "10.9.9.9")).build().advertiseUrlFor(81))
        .isEqualTo("http://10.9.9.9:81");
    assertThat(b.environment(Map.of("POD_IP", "fd00::5")).build().advertiseUrlFor(81))
        .isEqualTo("http://[fd00::5]:81");
    String derived = b.environment(Map.of()).build().advertiseUrlFor(8080);
    assertThat(derived).doesNotContain("127.0.0.1", "localhost", "[::1]").endsWith(":8080");
    assertThat(
            b.environment(Map.of("CF_INSTANCE_INTERNAL_IP", "10.1.2.3"))
                .advertiseUrl("https://x.example/")
                .build()
                .advertiseUrlFor(1))
        .isEqualTo("https://x.example");
    assertThat(
            ServerSettings.builder()
                .bindHost("127.0.0.5")
                .environment(Map.of("CF_INSTANCE_INTERNAL_IP", "10.1.2.3"))
                .build()
                .advertiseUrlFor(9))
        .isEqualTo("http://127.0.0.5:9");
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------------

  static byte[] request(String path) {
    return ("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  /** Sends a GET on a kept-alive socket and returns the status line. */
  static String ask(Socket s, String path, int timeoutMillis) throws Exception {
    s.setSoTimeout(timeoutMillis);
    s.getOutputStream().write(request(path));
    s.getOutputStream().flush();
    String head = readHead(s.getInputStream());
    int length = 0;
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).strip());
      }
    }
    s.getInputStream().readNBytes(length);
    return head;
  }

  static String readHead(InputStream in) throws Exception {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      sb.append((char) c);
      if (sb.length() >= 4 && sb.substring(sb.length() - 4).equals("\r\n\r\n")) {
        break;
      }
    }
    return sb.toString();
  }

  /** An HTTP server standing in for a member: counts requests, answers as {@code id}. */
  static final class FakeMember implements AutoCloseable {
    final AtomicInteger hits = new AtomicInteger();
    private final HttpServer server;

    FakeMember(String id) throws Exception {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.createContext(
          "/",
          ex -> {
            hits.incrementAndGet();
            byte[] body =
                ("{\"id\":\"" + id + "\",\"appliedRevision\":999999,\"revision\":999999}")
                    .getBytes(StandardCharsets.UTF_8);
            if (id != null) {
              ex.getResponseHeaders().add(Headers.INSTANCE, id);
            }
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
          });
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  /** A backend whose listings can be held back; counts them. */
  static final class GatedBackend extends ForwardingBackend {
    final AtomicLong listings = new AtomicLong();
    private volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);

    GatedBackend(Backend delegate) {
      super(delegate);
    }

    void hold() {
      gate = new CompletableFuture<>();
    }

    void release() {
      gate.complete(null);
    }

    @Override
    public CompletableFuture<Snapshot> snapshot() {
      listings.incrementAndGet();
      return gate.thenCompose(v -> delegate().snapshot());
    }

    @Override
    public CompletableFuture<Snapshot> snapshot(ListingProgress progress) {
      listings.incrementAndGet();
      return gate.thenCompose(v -> delegate().snapshot(progress));
    }
  }
}
