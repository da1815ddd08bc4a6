package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.header;
import static io.lockstep.server.TestServer.json;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * With {@code --auth-token}: writes and admin routes need the bearer token; reads and health stay
 * open.
 */
class AuthTest {
  private static final String TOKEN = "s3cret-token";
  private TestServer ts;

  /** A guarded request: method and path. */
  private record Route(String method, String path) {}

  private static final List<Route> GUARDED =
      List.of(
          new Route("PUT", "/config/k"),
          new Route("POST", "/config/k"),
          new Route("DELETE", "/config/k"),
          new Route("PUT", "/config/"),
          new Route("POST", "/admin/refresh"),
          new Route("GET", "/cluster"),
          new Route("GET", "/stats"),
          new Route("GET", "/admin/await?revision=1"),
          new Route("GET", "/api/v1/update"),
          new Route("POST", "/api/v1/update"),
          new Route("GET", "/api/v1/refresh"),
          new Route("POST", "/api/v1/refresh"),
          new Route("GET", "/api/v1/refresh_all"),
          new Route("POST", "/api/v1/refresh_all"),
          new Route("POST", "/counters/c"));

  @BeforeEach
  void start() {
    ts = TestServer.start(TestServer.settings(b -> b.authToken(TOKEN)));
    assertThat(ts.put("/config/k", "v", "Authorization", "Bearer " + TOKEN).statusCode())
        .isEqualTo(200);
  }

  @AfterEach
  void stop() {
    ts.close();
  }

  private HttpResponse<byte[]> call(Route r, String... headers) {
    byte[] body =
        r.method().equals("GET") || r.method().equals("DELETE") ? null : "changed".getBytes(UTF_8);
    return ts.send(r.method(), r.path(), body, headers);
  }

  @Test
  void guardedRoutes_withoutTheToken_are401AndStoreNothing() {
    TestServer.Everything before = ts.everything();
    for (Route r : GUARDED) {
      for (String[] headers :
          List.of(
              new String[0],
              new String[] {"Authorization", "Bearer wrong"},
              new String[] {"Authorization", "Bearer "},
              new String[] {"Authorization", TOKEN},
              new String[] {"Authorization", "Basic " + TOKEN})) {
        HttpResponse<byte[]> resp = call(r, headers);
        assertError(resp, 401, "unauthorized");
        assertThat(header(resp, "WWW-Authenticate")).as(r.toString()).startsWith("Bearer");
      }
    }
    assertThat(ts.everything()).isEqualTo(before);
    assertThat(ts.server.node().map().replica().stats().relists()).isZero(); // refresh did not run
  }

  @Test
  void guardedRoutes_withTheToken_work() {
    String[] auth = {"Authorization", "Bearer " + TOKEN};
    assertThat(ts.put("/config/k", "v2", auth).statusCode()).isEqualTo(200);
    assertThat(ts.send("POST", "/config/k", "v3".getBytes(UTF_8), auth).statusCode())
        .isEqualTo(200);
    assertThat(ts.get("/stats", auth).statusCode()).isEqualTo(200);
    assertThat(ts.send("POST", "/admin/refresh", null, auth).statusCode()).isEqualTo(200);
    assertThat(ts.get("/admin/await?revision=1", auth).statusCode()).isEqualTo(200);
    // /cluster passes the token on to each member's /stats, so the member is reachable.
    HttpResponse<byte[]> cluster = ts.get("/cluster", auth);
    assertThat(cluster.statusCode()).isEqualTo(200);
    assertThat(json(cluster).get("members").get(0).get("reachable").asBoolean()).isTrue();
    assertThat(ts.delete("/config/k", "authorization", "bearer " + TOKEN).statusCode())
        .isEqualTo(204);
    assertThat(ts.source.entries()).isEmpty();
  }

  @Test
  void readsAndHealth_stayOpen() {
    assertThat(ts.get("/config/k").statusCode()).isEqualTo(200);
    assertThat(ts.get("/config/k?use_cache=false").statusCode()).isEqualTo(200);
    assertThat(ts.get("/config").statusCode()).isEqualTo(200);
    assertThat(ts.get("/health/live").statusCode()).isEqualTo(200);
    assertThat(ts.get("/health/ready").statusCode()).isEqualTo(200);
    assertThat(ts.get("/api/v1/current").statusCode()).isEqualTo(200);
    assertThat(ts.send("POST", "/api/v1/current", null).statusCode()).isEqualTo(200);
  }

  @Test
  void otherSpellingsOfGuardedPaths_neverReachAGuardedHandler() {
    TestServer.Everything before = ts.everything();
    for (String path :
        List.of(
            "/confi%67/k",
            "//config/k",
            "/health/../config/k",
            "/health/%2E%2E/config/k",
            "/./config/k",
            "/CONFIG/k",
            "/config%2Fk")) {
      assertThat(ts.put(path, "v").statusCode()).as(path).isIn(401, 404);
    }
    for (String path : List.of("/health/../admin/refresh", "/%61dmin/refresh", "//admin/refresh")) {
      assertThat(ts.send("POST", path, null).statusCode()).as(path).isIn(401, 404);
    }
    assertThat(ts.everything()).isEqualTo(before);
    assertThat(ts.server.node().map().replica().stats().relists()).isZero();
  }
}
