package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.header;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.javalin.http.HandlerType;
import io.javalin.router.Endpoint;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Access control over every route the router holds: 401 without a known token, 403 with a token
 * whose scope is too low, through with the right one; two tokens of one scope (the old and the new
 * one of a rotation) both work; the cluster secret opens only the routes fan-out calls.
 */
class AccessTest {
  private static final String SECRET = "cluster-secret-0123456789";
  private static final Map<Scope, List<String>> TOKENS = new EnumMap<>(Scope.class);

  static {
    for (Scope s : List.of(Scope.READ, Scope.WRITE, Scope.ADMIN, Scope.METRICS)) {
      TOKENS.put(s, List.of(s.label() + "-old-0123456789abcdef", s.label() + "-new-0123456789"));
    }
  }

  /**
   * The scope each route needs, as docs/http-api.md and docs/security.md list it; "open" for the
   * health probes, "+peer" where the cluster secret is accepted too. The router's listing must be
   * exactly this, so a new route (or a changed scope) fails here until it is decided and written
   * down.
   */
  private static final Map<String, String> EXPECTED =
      new TreeMap<>(
          Map.ofEntries(
              Map.entry("GET /config", "read"),
              Map.entry("GET /config/<key>", "read"),
              Map.entry("HEAD /config/<key>", "read"),
              Map.entry("PUT /config/<key>", "write"),
              Map.entry("POST /config/<key>", "write"),
              Map.entry("DELETE /config/<key>", "write"),
              Map.entry("GET /config/", "read"),
              Map.entry("PUT /config", "write"),
              Map.entry("POST /config", "write"),
              Map.entry("DELETE /config", "write"),
              Map.entry("PUT /config/", "write"),
              Map.entry("POST /config/", "write"),
              Map.entry("DELETE /config/", "write"),
              Map.entry("GET /count", "write"),
              Map.entry("GET /counters/{name}", "read"),
              Map.entry("POST /counters/{name}", "write"),
              Map.entry("GET /health/live", "open"),
              Map.entry("GET /health/ready", "open"),
              Map.entry("GET /stats", "read+peer"),
              Map.entry("GET /stats/requests", "read"),
              Map.entry("GET /stats/{name}", "read"),
              Map.entry("GET /data/<key>", "read"),
              Map.entry("DELETE /data/<key>", "write"),
              Map.entry("GET /_lockstep/groups/{group}/<key>", "open+peer"),
              Map.entry("DELETE /_lockstep/groups/{group}/<key>", "open+peer"),
              Map.entry("GET /_lockstep/replica", "open+peer"),
              Map.entry("GET /metrics", "metrics"),
              Map.entry("GET /cluster", "read"),
              Map.entry("POST /admin/refresh", "admin"),
              Map.entry("GET /admin/await", "admin+peer"),
              Map.entry("POST /admin/reconcile", "admin"),
              Map.entry("POST /admin/drift/ranges", "admin"),
              Map.entry("POST /admin/drift/repair", "admin"),
              Map.entry("GET /api/v1/current", "read"),
              Map.entry("POST /api/v1/current", "read"),
              Map.entry("GET /api/v1/update", "write"),
              Map.entry("POST /api/v1/update", "write"),
              Map.entry("GET /api/v1/refresh", "write"),
              Map.entry("POST /api/v1/refresh", "write"),
              Map.entry("GET /api/v1/refresh_all", "write"),
              Map.entry("POST /api/v1/refresh_all", "write")));

  private TestServer ts;

  static AccessSettings access() {
    List<AccessToken> tokens = new ArrayList<>();
    TOKENS.forEach((scope, list) -> list.forEach(t -> tokens.add(new AccessToken(scope, t))));
    return AccessSettings.NONE.withTokens(tokens).withClusterSecret(SECRET);
  }

  @BeforeEach
  void start() {
    ts = TestServer.start(TestServer.settings(b -> b.access(access())));
  }

  @AfterEach
  void stop() {
    ts.close();
  }

  private static String describe(Rule rule) {
    Scope user = rule.userScope();
    return (user == null ? "open" : user.label())
        + (rule.anyOf().contains(Scope.PEER) ? "+peer" : "");
  }

  @Test
  void theRoutersListing_isTheDocumentedTable() {
    Map<String, String> actual = new TreeMap<>();
    for (Endpoint e : ts.server.endpoints()) {
      actual.put(e.getMethod() + " " + e.getPath(), describe(AccessGuard.ruleOf(e.getRoles())));
    }
    assertThat(actual).isEqualTo(EXPECTED);
  }

  /** A concrete request for a route pattern: path params filled in, a body where one is taken. */
  private HttpResponse<byte[]> call(Endpoint e, String... headers) {
    String path =
        e.getPath()
                .replace("<key>", "matrix-key")
                .replace("{name}", "matrix-counter")
                .replace("{group}", "data")
            + (e.getPath().equals("/admin/await") ? "?revision=1&timeout=10ms" : "");
    String method = e.getMethod().name();
    byte[] body =
        method.equals("PUT") || method.equals("POST")
            ? "{\"MY_CACHE\": \"x\"}".getBytes(UTF_8)
            : null;
    return ts.send(method, path, body, headers);
  }

  private static String[] bearer(String token) {
    return new String[] {"Authorization", "Bearer " + token};
  }

  /** A user scope just below {@code needed}: it does not imply it. */
  private static Scope lower(Scope needed) {
    return switch (needed) {
      case READ -> Scope.METRICS;
      case WRITE, METRICS -> Scope.READ;
      case ADMIN -> Scope.WRITE;
      case PEER -> throw new IllegalArgumentException("no user scope is lower than peer");
    };
  }

  @Test
  void everyRoute_is401WithoutAToken_403WithTooLowAScope_andPassesWithTheRightOne() {
    List<Endpoint> endpoints = ts.server.endpoints();
    assertThat(endpoints).hasSize(EXPECTED.size());
    for (Endpoint e : endpoints) {
      Rule rule = AccessGuard.ruleOf(e.getRoles());
      Scope needed = rule.userScope();
      String what = e.getMethod() + " " + e.getPath();
      if (needed == null && rule.anyOf().isEmpty()) { // the health probes
        assertThat(call(e).statusCode()).as(what).isNotIn(401, 403);
        continue;
      }
      if (needed == null) { // members only: the loading groups' peer protocol
        assertError(call(e), 401, "unauthorized");
        for (Scope holder : List.of(Scope.ADMIN, Scope.WRITE, Scope.READ, Scope.METRICS)) {
          assertError(call(e, bearer(TOKENS.get(holder).get(0))), 403, "forbidden");
        }
        assertThat(call(e, bearer(SECRET)).statusCode())
            .as("%s with the cluster secret", what)
            .isNotIn(401, 403);
        continue;
      }
      for (String[] noToken :
          List.of(
              new String[0],
              bearer("not-a-known-token-0123456789"),
              new String[] {"Authorization", "Bearer "},
              new String[] {"Authorization", TOKENS.get(Scope.ADMIN).get(0)},
              new String[] {"Authorization", "Basic " + TOKENS.get(Scope.ADMIN).get(0)})) {
        HttpResponse<byte[]> r = call(e, noToken);
        if (e.getMethod() == HandlerType.HEAD) {
          assertThat(r.statusCode()).as(what).isEqualTo(401); // HEAD answers carry no body
        } else {
          assertError(r, 401, "unauthorized");
        }
        assertThat(header(r, "WWW-Authenticate")).as(what).startsWith("Bearer realm=");
      }
      for (String token : TOKENS.get(lower(needed))) {
        HttpResponse<byte[]> r = call(e, bearer(token));
        if (e.getMethod() == HandlerType.HEAD) {
          assertThat(r.statusCode()).as(what).isEqualTo(403);
        } else {
          assertError(r, 403, "forbidden");
        }
        assertThat(header(r, "WWW-Authenticate"))
            .as(what)
            .contains("insufficient_scope", "scope=\"" + needed.label() + "\"");
      }
      for (Scope holder : Scope.values()) {
        if (holder == Scope.PEER || !holder.implies(needed)) {
          continue;
        }
        for (String token : TOKENS.get(holder)) { // the old and the new token of a rotation
          assertThat(call(e, bearer(token)).statusCode())
              .as("%s with a %s token", what, holder)
              .isNotIn(401, 403);
        }
      }
      HttpResponse<byte[]> peer = call(e, bearer(SECRET));
      if (rule.anyOf().contains(Scope.PEER)) {
        assertThat(peer.statusCode()).as("%s with the cluster secret", what).isNotIn(401, 403);
      } else {
        assertThat(peer.statusCode()).as("%s with the cluster secret", what).isEqualTo(403);
      }
    }
  }

  @Test
  void scopesImplyAsDocumented() {
    assertThat(Scope.ADMIN.granted())
        .containsExactlyInAnyOrder(Scope.ADMIN, Scope.WRITE, Scope.READ, Scope.METRICS);
    assertThat(Scope.WRITE.granted()).containsExactlyInAnyOrder(Scope.WRITE, Scope.READ);
    assertThat(Scope.READ.granted()).containsExactly(Scope.READ);
    assertThat(Scope.METRICS.granted()).containsExactly(Scope.METRICS);
    assertThat(Scope.PEER.granted()).containsExactly(Scope.PEER);
  }

  @Test
  void aRouteWithoutARule_keepsTheServerFromStarting() {
    Endpoint unguarded = new Endpoint(HandlerType.GET, "/forgotten", ctx -> {});
    assertThatThrownBy(() -> Exposure.requireRules(List.of(unguarded)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("GET /forgotten");
    // and, should one slip through, the guard treats it as admin-only
    assertThat(AccessGuard.ruleOf(unguarded.getRoles()).userScope()).isEqualTo(Scope.ADMIN);
  }

  @Test
  void otherSpellingsOfGuardedPaths_neverReachAHandlerWithoutAToken() {
    String write = TOKENS.get(Scope.WRITE).get(0);
    assertThat(ts.put("/config/k", "v", bearer(write)).statusCode()).isEqualTo(200);
    TestServer.State before = everything();
    for (String path :
        List.of(
            "/confi%67/k",
            "//config/k",
            "/health/../config/k",
            "/health/%2E%2E/config/k",
            "/./config/k",
            "/CONFIG/k",
            "/config%2Fk")) {
      assertThat(ts.put(path, "v").statusCode()).as(path).isIn(400, 401, 404);
      assertThat(ts.put(path, "v", bearer(TOKENS.get(Scope.READ).get(0))).statusCode())
          .as(path)
          .isIn(400, 403, 404);
    }
    for (String path : List.of("/health/../admin/refresh", "/%61dmin/refresh", "//admin/refresh")) {
      assertThat(ts.send("POST", path, null).statusCode()).as(path).isIn(400, 401, 404);
    }
    assertThat(everything()).isEqualTo(before);
    assertThat(ts.server.node().map().replica().stats().relists()).isZero();
  }

  private TestServer.State everything() {
    return ts.state();
  }

  @Test
  void theClusterSecret_letsClusterSeeTheOtherMembers_butAUsersTokenIsNotPassedOn() {
    String read = TOKENS.get(Scope.READ).get(1);
    try (TestServer other =
        TestServer.replica(ts.source, TestServer.settings(b -> b.access(access())))) {
      HttpResponse<byte[]> cluster = ts.get("/cluster", bearer(read));
      assertThat(cluster.statusCode()).isEqualTo(200);
      for (var m : TestServer.json(cluster).get("members")) {
        assertThat(m.get("reachable").asBoolean()).as(m.toString()).isTrue();
      }
      assertThat(other.get("/stats", bearer(SECRET)).statusCode()).isEqualTo(200);
    }
    AccessSettings noSecret = access().withClusterSecret(null);
    try (TestServer lone = TestServer.start(TestServer.settings(b -> b.access(noSecret)))) {
      HttpResponse<byte[]> cluster = lone.get("/cluster", bearer(read));
      assertThat(cluster.statusCode()).isEqualTo(200);
      // its own /stats refuses it: it sends no secret, and never the user's read token
      assertThat(TestServer.json(cluster).get("members").get(0).get("error").asText())
          .contains("HTTP 401", "cluster secret");
    }
  }
}
