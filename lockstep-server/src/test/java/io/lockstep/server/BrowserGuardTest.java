package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.javalin.router.Endpoint;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a web page can make a browser send: cross-site requests to routes that change state (403),
 * requests under a rebound DNS name (421), form bodies on JSON routes (415).
 */
class BrowserGuardTest {

  private static String pathOf(Endpoint e) {
    return e.getPath().replace("<key>", "k").replace("{name}", "c");
  }

  @Test
  void crossSiteRequests_toEveryRouteThatChangesState_are403AndChangeNothing() throws Exception {
    try (TestServer ts = TestServer.start()) {
      assertThat(ts.put("/config/k", "before").statusCode()).isEqualTo(200);
      TestServer.Everything before = ts.everything();
      int checked = 0;
      for (Endpoint e : ts.server.endpoints()) {
        Rule rule = AccessGuard.ruleOf(e.getRoles());
        if (!rule.changesState()) {
          continue;
        }
        checked++;
        String method = e.getMethod().name();
        byte[] body = "{\"MY_CACHE\": \"evil\"}".getBytes(UTF_8);
        for (String[] h :
            List.of(
                new String[] {"Origin", "https://evil.example"},
                new String[] {"Origin", "null"},
                new String[] {"Origin", "http://127.0.0.1:1"},
                new String[] {"Sec-Fetch-Site", "cross-site"},
                new String[] {"Sec-Fetch-Site", "same-site"},
                new String[] {
                  "Origin", "https://evil.example", "Content-Type", "text/plain;charset=UTF-8"
                })) {
          HttpResponse<byte[]> r = ts.send(method, pathOf(e), body, h);
          assertError(r, 403, "cross_site");
        }
      }
      assertThat(checked).isGreaterThan(15);
      assertThat(ts.everything()).isEqualTo(before);
      assertThat(ts.server.node().map().replica().stats().relists()).isZero();
    }
  }

  @Test
  void sameOriginAndNonBrowserRequests_pass() {
    try (TestServer ts = TestServer.start()) {
      String self = "http://127.0.0.1:" + ts.server.port();
      assertThat(ts.put("/config/a", "1", "Origin", self).statusCode()).isEqualTo(200);
      assertThat(ts.put("/config/b", "2", "Sec-Fetch-Site", "same-origin").statusCode())
          .isEqualTo(200);
      assertThat(ts.put("/config/c", "3", "Sec-Fetch-Site", "none").statusCode()).isEqualTo(200);
      assertThat(ts.put("/config/d", "4").statusCode()).isEqualTo(200);
      // reads do not change state: a cross-site Origin on them is not refused here (the
      // browser's same-origin policy keeps the answer from the page)
      assertThat(ts.get("/config/a", "Origin", "https://evil.example").statusCode()).isEqualTo(200);
      assertThat(ts.source.entries()).hasSize(4);
    }
  }

  @Test
  void onLoopback_onlyLoopbackHostNamesAreAnswered() throws Exception {
    try (TestServer ts = TestServer.start()) {
      ts.put("/config/k", "v");
      int port = ts.server.port();
      for (String host :
          List.of("localhost", "127.0.0.1", "[::1]", "LOCALHOST.", "localhost:" + port)) {
        String h = host.contains(":") && !host.startsWith("[") ? host : host + ":" + port;
        assertThat(RawHttp.send(port, "GET", "/config/k", h).status()).as(h).isEqualTo(200);
      }
      for (String host :
          List.of("evil.example:" + port, "evil.example", "127.0.0.1.evil.example", "10.0.0.1")) {
        RawHttp.Answer a = RawHttp.send(port, "PUT", "/config/k", host);
        assertThat(a.status()).as(host).isEqualTo(421);
        assertThat(a.text()).contains("\"error\":\"misdirected_request\"");
        assertThat(RawHttp.send(port, "GET", "/config/k", host).status()).isEqualTo(421);
        assertThat(RawHttp.send(port, "GET", "/health/ready", host).status()).isEqualTo(421);
      }
    }
  }

  @Test
  void withAllowedHosts_thoseNamesAndTheAddressesAreAnswered_othersAre421() throws Exception {
    AccessSettings access =
        AccessSettings.NONE
            .withTokens(List.of(new AccessToken(Scope.READ, "read-token-0123456789")))
            .withAllowedHosts(List.of("Config.Internal"));
    try (TestServer ts =
        TestServer.start(TestServer.settings(b -> b.bindHost("0.0.0.0").access(access)))) {
      int port = ts.server.port();
      String[] auth = {"Authorization", "Bearer read-token-0123456789"};
      for (String host : List.of("config.internal", "CONFIG.INTERNAL.", "127.0.0.1", "localhost")) {
        assertThat(RawHttp.send(port, "GET", "/config", host + ":" + port, auth).status())
            .as(host)
            .isEqualTo(200);
      }
      assertThat(RawHttp.send(port, "GET", "/config", "other.example:" + port, auth).status())
          .isEqualTo(421);
    }
    AccessSettings noNames =
        AccessSettings.NONE.withTokens(
            List.of(new AccessToken(Scope.READ, "read-token-0123456789")));
    try (TestServer ts =
        TestServer.start(TestServer.settings(b -> b.bindHost("0.0.0.0").access(noNames)))) {
      int port = ts.server.port();
      assertThat(
              RawHttp.send(
                      port,
                      "GET",
                      "/config",
                      "anything.example",
                      "Authorization",
                      "Bearer read-token-0123456789")
                  .status())
          .as("not on loopback and no names: any Host (a platform router may use any)")
          .isEqualTo(200);
    }
  }

  @Test
  void formAndMultipartBodies_onJsonRoutes_are415_valuesTakeAnyType() {
    try (TestServer ts = TestServer.start()) {
      TestServer.Everything before = ts.everything();
      for (String type :
          List.of(
              "application/x-www-form-urlencoded",
              "multipart/form-data; boundary=xyz",
              "Application/X-WWW-Form-Urlencoded; charset=UTF-8")) {
        for (String route : List.of("update", "refresh", "refresh_all")) {
          HttpResponse<byte[]> r =
              ts.send(
                  "POST",
                  "/api/v1/" + route,
                  "MY_CACHE=evil".getBytes(UTF_8),
                  "Content-Type",
                  type);
          assertError(r, 415, "unsupported_media_type");
        }
        assertError(
            ts.send("POST", "/counters/c", "a=b".getBytes(UTF_8), "Content-Type", type),
            415,
            "unsupported_media_type");
      }
      assertThat(ts.everything()).isEqualTo(before);
      assertThat(
              ts.send(
                      "POST",
                      "/api/v1/update",
                      "{\"MY_CACHE\": \"ok\"}".getBytes(UTF_8),
                      "Content-Type",
                      "application/json")
                  .statusCode())
          .isEqualTo(200);
      // a value is stored with whatever type it is sent with, form types included
      assertThat(
              ts.put("/config/f", "a=b", "Content-Type", "application/x-www-form-urlencoded")
                  .statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void methodsARouteDoesNotTake_are405() {
    try (TestServer ts = TestServer.start()) {
      for (String[] mp :
          List.of(
              new String[] {"PATCH", "/config/k"},
              new String[] {"OPTIONS", "/config/k"},
              new String[] {"DELETE", "/count"},
              new String[] {"PUT", "/api/v1/update"},
              new String[] {"POST", "/health/live"})) {
        assertError(ts.send(mp[0], mp[1], null), 405, "method_not_allowed");
      }
    }
  }
}
