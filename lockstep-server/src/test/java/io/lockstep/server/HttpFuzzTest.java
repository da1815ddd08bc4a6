package io.lockstep.server;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.Versioned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Random HTTP against a real server on a real port, with tokens set: odd methods, every route
 * prefix with random segments, valid and invalid percent-encodings, lying Content-Length, every
 * kind of Authorization, Origin and Host, random bodies. Every answer is 2xx or 4xx (504 {@code
 * timeout} only where a wait for a revision was asked), every error has the one JSON shape, and the
 * source changes exactly as the 2xx answers say, and never otherwise.
 */
class HttpFuzzTest {
  private static final String ADMIN = "fuzz-admin-0123456789abcdef";
  private static final String WRITE = "fuzz-write-0123456789abcdef";
  private static final String READ = "fuzz-read-0123456789abcdefg";
  private static TestServer ts;

  @BeforeContainer
  static void start() {
    AccessSettings access =
        AccessSettings.NONE.withTokens(
            List.of(
                new AccessToken(Scope.ADMIN, ADMIN),
                new AccessToken(Scope.WRITE, WRITE),
                new AccessToken(Scope.READ, READ)));
    ts =
        TestServer.start(
            TestServer.settings(
                b ->
                    b.access(access)
                        .maxValueBytes(2048)
                        .maxWait(Duration.ofMillis(200))
                        .refreshTimeout(Duration.ofMillis(200))));
  }

  @AfterContainer
  static void stop() {
    ts.close();
  }

  /** One request as written on the wire. */
  record Req(
      String method,
      String target,
      String host,
      List<String> headers,
      byte[] body,
      String declaredLength) {
    String head() {
      StringBuilder b = new StringBuilder(method + " " + target + " HTTP/1.1");
      if (host != null) {
        b.append("\r\nHost: ").append(host);
      }
      for (String h : headers) {
        b.append("\r\n").append(h);
      }
      if (declaredLength != null) {
        b.append("\r\nContent-Length: ").append(declaredLength);
      }
      return b.toString();
    }

    @Override
    public String toString() {
      return head().replace("\r\n", " | ") + " || " + new String(body, ISO_8859_1);
    }
  }

  /**
   * Random requests, and well-formed ones (a known route, the token its scope needs, a truthful
   * length, a JSON body) so that a good share of the answers are 2xx and the "only what a 2xx says
   * is stored" check has writes to compare.
   */
  @Provide
  Arbitrary<Req> requests() {
    return Arbitraries.frequencyOf(Tuple.of(3, randomRequests()), Tuple.of(2, wellFormed()));
  }

  private static Arbitrary<Req> wellFormed() {
    Arbitrary<String> key =
        Arbitraries.strings().withCharRange('a', 'e').ofMinLength(1).ofMaxLength(2);
    Arbitrary<byte[]> json =
        Arbitraries.integers().between(0, 999).map(i -> ("{\"v\":" + i + "}").getBytes(UTF_8));
    List<String> jsonType = List.of("Content-Type: application/json");
    return Combinators.combine(Arbitraries.integers().between(0, 7), key, json)
        .as(
            (kind, k, b) ->
                switch (kind) {
                  case 0, 1 ->
                      new Req(
                          "PUT",
                          "/config/" + k,
                          "127.0.0.1:PORT",
                          List.of("Authorization: Bearer " + WRITE, jsonType.get(0)),
                          b,
                          Integer.toString(b.length));
                  case 2 ->
                      new Req(
                          "DELETE",
                          "/config/" + k,
                          "127.0.0.1:PORT",
                          List.of("Authorization: Bearer " + WRITE),
                          new byte[0],
                          null);
                  case 3 ->
                      new Req(
                          "GET",
                          "/config/" + k,
                          "localhost:PORT",
                          List.of("Authorization: Bearer " + READ),
                          new byte[0],
                          null);
                  case 4 ->
                      new Req(
                          "POST",
                          "/counters/c?by=" + (b.length % 5 + 1),
                          "127.0.0.1:PORT",
                          List.of("Authorization: Bearer " + WRITE),
                          new byte[0],
                          "0");
                  case 5 ->
                      new Req(
                          "GET",
                          "/config?prefix=" + k,
                          "127.0.0.1:PORT",
                          List.of("Authorization: Bearer " + ADMIN),
                          new byte[0],
                          null);
                  case 6 ->
                      new Req(
                          "POST",
                          "/api/v1/update",
                          "127.0.0.1:PORT",
                          List.of("Authorization: Bearer " + WRITE, jsonType.get(0)),
                          "{\"MY_CACHE\": \"x\"}".getBytes(UTF_8),
                          "17");
                  default ->
                      new Req(
                          "GET",
                          "/stats",
                          "127.0.0.1:PORT",
                          List.of("Authorization: Bearer " + READ),
                          new byte[0],
                          null);
                });
  }

  private Arbitrary<Req> randomRequests() {
    Arbitrary<String> method =
        Arbitraries.frequencyOf(
            Tuple.of(8, Arbitraries.of("GET", "PUT", "POST", "DELETE")),
            Tuple.of(
                2,
                Arbitraries.of(
                    "HEAD", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "FOO", "get", "CONNECT")));
    Arbitrary<String> prefix =
        Arbitraries.of(
            "/config",
            "/config/",
            "/config/k",
            "/config/cf/cache/MY_CACHE3",
            "/count",
            "/counters/",
            "/counters/c",
            "/health/live",
            "/health/ready",
            "/stats",
            "/stats/requests",
            "/cluster",
            "/admin/refresh",
            "/admin/await",
            "/api/v1/current",
            "/api/v1/update",
            "/api/v1/refresh",
            "/api/v1/refresh_all",
            "/metrics",
            "/",
            "//config/k",
            "/config/..",
            "*");
    Arbitrary<String> segment =
        Arbitraries.frequencyOf(
            Tuple.of(
                6, Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(4)),
            Tuple.of(
                3,
                Arbitraries.of(
                    "",
                    "%00",
                    "%zz",
                    "%",
                    "%4",
                    "%C0%AF",
                    "%FF",
                    "%E2%80%A8",
                    "%2F",
                    "%2e%2e",
                    "..",
                    ".",
                    "%C3%A9",
                    "caf\u00e9",
                    "%0A",
                    "%0D%0A",
                    "%7F",
                    "%25",
                    "+",
                    "%20",
                    "%ED%A0%80",
                    "%F0%9F%98%80",
                    "__lockstep",
                    "__lockstep%2Fx",
                    ";a=b",
                    "%3B")));
    Arbitrary<String> path =
        Combinators.combine(prefix, segment.list().ofMaxSize(2))
            .as(
                (p, segs) ->
                    segs.isEmpty() || p.equals("*") ? p : p + "/" + String.join("/", segs));
    Arbitrary<String> query =
        Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.just("")),
            Tuple.of(
                4,
                Arbitraries.of(
                    "?use_cache=false",
                    "?use_cache=true",
                    "?min_revision=1",
                    "?min_revision=999999",
                    "?min_revision=%zz",
                    "?revision=1",
                    "?revision=99999&timeout=10ms",
                    "?by=5",
                    "?by=-1000000000001",
                    "?prefix=cf/&limit=2",
                    "?limit=0",
                    "?x=%00",
                    "?a=1&a=2")));
    Arbitrary<String> host =
        Arbitraries.frequencyOf(
            Tuple.of(12, Arbitraries.just("127.0.0.1:PORT")),
            Tuple.of(
                3,
                Arbitraries.of(
                    "localhost:PORT",
                    "[::1]:PORT",
                    "evil.example",
                    "",
                    "127.0.0.1:PORT, evil",
                    "LOCALHOST.:PORT",
                    "NO-HOST")));
    Arbitrary<String> auth =
        Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.just("Authorization: Bearer " + ADMIN)),
            Tuple.of(3, Arbitraries.just("Authorization: Bearer " + WRITE)),
            Tuple.of(2, Arbitraries.just("Authorization: Bearer " + READ)),
            Tuple.of(
                3,
                Arbitraries.of(
                    "Authorization: bearer " + WRITE,
                    "Authorization: Bearer",
                    "Authorization: Bearer wrong-token-0123456789",
                    "Authorization: Basic YWRtaW46YWRtaW4=",
                    "Authorization: " + ADMIN,
                    "X-None: 1")));
    Arbitrary<String> header =
        Arbitraries.of(
            "Authorization: Bearer " + READ, // a second Authorization header
            "Content-Type: application/json",
            "Content-Type: application/json",
            "Content-Type: application/x-www-form-urlencoded",
            "Content-Type: multipart/form-data; boundary=x",
            "Content-Type: text/plain",
            "Content-Type: ;;;",
            "Origin: https://evil.example",
            "Origin: null",
            "Origin: http://127.0.0.1:PORT",
            "Sec-Fetch-Site: cross-site",
            "Sec-Fetch-Site: same-origin",
            "If-Match: \"1\"",
            "If-Match: 0",
            "If-Match: x",
            "Idempotency-Key: k1",
            "Idempotency-Key: k2",
            "Idempotency-Key: \u00e9",
            "Accept: text/plain",
            "Transfer-Encoding: chunked",
            "Expect: 100-continue");
    Arbitrary<List<String>> headers =
        Combinators.combine(auth, header.list().ofMaxSize(3))
            .as(
                (a, rest) -> {
                  List<String> all = new ArrayList<>(rest);
                  all.add(0, a);
                  return all;
                });
    Arbitrary<byte[]> body =
        Arbitraries.frequencyOf(
            Tuple.of(3, Arbitraries.just(new byte[0])),
            Tuple.of(
                4,
                Arbitraries.of(
                        "{\"MY_CACHE\": \"fuzzed\"}",
                        "{\"MY_CACHE\": 1}",
                        "{\"MY_CACHE\": \"a\", \"MY_CACHE\": \"b\"}",
                        "MY_CACHE=x",
                        "{",
                        "value")
                    .map(s -> s.getBytes(UTF_8))),
            Tuple.of(2, Arbitraries.bytes().array(byte[].class).ofMaxSize(64)),
            Tuple.of(1, Arbitraries.just(new byte[3000]))); // over the 2048-byte limit
    Arbitrary<Integer> lengthMode = Arbitraries.integers().between(0, 7);
    return Combinators.combine(method, path, query, host, headers, body, lengthMode)
        .as(
            (m, p, q, h, hs, b, mode) -> {
              String declared =
                  switch (mode) {
                    case 5 -> b.length == 0 ? null : Integer.toString(b.length - 1); // short
                    case 6 -> Integer.toString(b.length + 10); // claims more than is sent
                    case 7 -> null; // none
                    default -> Integer.toString(b.length); // truthful
                  };
              return new Req(
                  m, p.equals("*") ? p : p + q, h.equals("NO-HOST") ? null : h, hs, b, declared);
            });
  }

  /** What the source holds: every entry by key, and the counters. */
  private record Snapshot(Map<String, Versioned> entries, Map<String, Long> counters) {}

  private static Snapshot snapshot() {
    Map<String, Versioned> m = new HashMap<>();
    for (Versioned v : ts.source.entries()) {
      m.put(v.key(), v);
    }
    return new Snapshot(m, Map.copyOf(ts.source.counters()));
  }

  /** A lower-case method is not its upper-case namesake: {@code get /count} counts nothing. */
  @Example
  void lowerCaseMethod_isRefused_countsAndStoresNothing() throws Exception {
    for (String target : List.of("/count", "/counters/c?by=1", "/config/lower")) {
      for (String method : List.of("get", "post", "put", "delete", "Get")) {
        Req req =
            new Req(
                method,
                target,
                "127.0.0.1:PORT",
                List.of("Authorization: Bearer " + ADMIN, "Content-Type: application/json"),
                "1".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                "1");
        everyAnswerIs2xxOr4xxWithTheErrorShape_andOnly2xxWritesChangeTheSource(req);
        RawHttp.Answer a =
            RawHttp.send(
                ts.server.port(),
                req.head().replace("PORT", Integer.toString(ts.server.port())),
                req.body());
        assertThat(a.status()).as(method + " " + target + ": " + a.text()).isEqualTo(400);
      }
    }
  }

  @Property(tries = 2000)
  void everyAnswerIs2xxOr4xxWithTheErrorShape_andOnly2xxWritesChangeTheSource(
      @ForAll("requests") Req raw) throws Exception {
    String port = Integer.toString(ts.server.port());
    Req req =
        new Req(
            raw.method(),
            raw.target(),
            raw.host() == null ? null : raw.host().replace("PORT", port),
            raw.headers().stream().map(h -> h.replace("PORT", port)).toList(),
            raw.body(),
            raw.declaredLength());
    Snapshot before = snapshot();
    RawHttp.Answer a = RawHttp.send(ts.server.port(), req.head(), req.body());
    Snapshot after = snapshot();
    int s = a.status();
    String what = req + " -> " + s + " " + a.text();
    net.jqwik.api.statistics.Statistics.label("status").collect(s);

    boolean waited =
        req.target().contains("min_revision=") || req.target().startsWith("/admin/await");
    if (s >= 500) {
      assertThat(
              s == 504
                  && waited
                  && (req.method().equals("HEAD") || a.text().contains("\"timeout\"")))
          .as("a 5xx answer: %s", what)
          .isTrue();
    }
    assertThat(s).as(what).isBetween(200, 599);
    assertThat(a.header("X-Content-Type-Options")).as(what).isEqualTo("nosniff");
    if (s >= 400 && !req.method().equals("HEAD")) {
      JsonNode err = Json.MAPPER.readTree(a.body());
      assertThat(TestServer.fieldNames(err)).as(what).containsExactly("error", "message");
      assertThat(err.get("error").asText()).as(what).matches("[a-z_]+");
      assertThat(err.get("message").asText()).as(what).isNotBlank();
      assertThat(a.header("Content-Type")).as(what).startsWith("application/json");
    }

    // The source changed exactly as the answer says.
    List<String> changed = new ArrayList<>();
    for (String k : union(before.entries().keySet(), after.entries().keySet())) {
      Versioned x = before.entries().get(k);
      Versioned y = after.entries().get(k);
      if (x == null || y == null || x.modRevision() != y.modRevision()) {
        changed.add(k);
      }
    }
    List<String> counted = new ArrayList<>();
    for (String k : union(before.counters().keySet(), after.counters().keySet())) {
      if (!Objects.equals(before.counters().get(k), after.counters().get(k))) {
        counted.add(k);
      }
    }
    boolean ok = s >= 200 && s < 300;
    String revision = a.header(Headers.REVISION);
    boolean replayed = "true".equals(a.header(Headers.IDEMPOTENT_REPLAYED));
    if (ok
        && (req.method().equals("PUT") || req.method().equals("POST"))
        && req.target().startsWith("/config/")
        && !replayed) {
      assertThat(changed).as(what).hasSize(1);
      Versioned v = after.entries().get(changed.get(0));
      assertThat(v).as(what).isNotNull();
      assertThat(Long.toString(v.modRevision())).as(what).isEqualTo(revision);
      assertThat(v.value()).as(what).isEqualTo(a.body()); // the PUT answers the value stored
    } else if (ok && req.method().equals("DELETE") && !replayed) {
      assertThat(changed).as(what).hasSize(1);
      assertThat(after.entries()).as(what).doesNotContainKey(changed.get(0));
    } else if (ok
        && req.target().startsWith("/api/v1/refresh")
        && !req.target().startsWith("/api/v1/refresh_all")) {
      assertThat(changed).as(what).containsExactly("cf/cache/MY_CACHE3");
    } else {
      assertThat(changed).as("nothing stored by %s", what).isEmpty();
    }
    if (ok && req.target().split("\\?")[0].equals("/count") && req.method().equals("GET")) {
      assertThat(counted).as(what).containsExactly("requests");
    } else if (ok
        && req.target().startsWith("/counters/")
        && req.method().equals("POST")
        && !replayed) {
      assertThat(counted).as(what).hasSizeLessThanOrEqualTo(1); // by=0 counts nothing
    } else {
      assertThat(counted).as("nothing counted by %s", what).isEmpty();
    }
  }

  private static List<String> union(java.util.Set<String> a, java.util.Set<String> b) {
    List<String> all = new ArrayList<>(a);
    for (String k : b) {
      if (!a.contains(k)) {
        all.add(k);
      }
    }
    return all;
  }

  @SuppressWarnings("unused")
  private static String show(byte[] b) {
    return Arrays.toString(b);
  }
}
