package io.lockstep.server;

import static io.lockstep.server.TestServer.assertError;
import static io.lockstep.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.DriftCheck;
import io.lockstep.DriftReport;
import io.lockstep.Versioned;
import io.lockstep.spi.Snapshot;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The drift routes on a server over an in-memory source: the wire of {@code /admin/drift/ranges}
 * both ends ({@link HttpDriftTarget} against the server), {@code POST /admin/reconcile} counted in
 * {@code /stats} and {@code /metrics}, anti-entropy runs, and every bad input refused with a JSON
 * 400 that changes nothing.
 */
class DriftRoutesTest {
  private TestServer ts;

  @AfterEach
  void stop() {
    if (ts != null) {
      ts.close();
    }
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private HttpResponse<byte[]> post(String path, String body) {
    return ts.send("POST", path, body == null ? null : b(body), "Content-Type", "application/json");
  }

  @Test
  void httpTarget_namesExactlyTheKeysThatDifferFromAListing_movingLittle() {
    ts = TestServer.start();
    for (int i = 0; i < 2000; i++) {
      ts.server.node().map().put("k" + i, b("value-" + i + "-".repeat(50)), "text/plain");
    }
    long rev = ts.server.node().map().replica().appliedRevision();
    List<Versioned> listing = new ArrayList<>(ts.server.node().map().list("", 0));
    long mapBytes = 0;
    for (Versioned v : listing) {
      mapBytes += v.key().length() + v.value().length;
    }
    // The "source" differs from the instance in three keys: a value, a key missing, an extra key.
    listing.removeIf(v -> v.key().equals("k5") || v.key().equals("k6"));
    Versioned k5 = ts.server.node().map().get("k5");
    listing.add(new Versioned("k5", b("other"), "text/plain", k5.modRevision()));
    listing.add(new Versioned("only-in-source", b("x"), "text/plain", 1));
    HttpDriftTarget target =
        new HttpDriftTarget(
            ts.http, "http://127.0.0.1:" + ts.server.port(), null, Duration.ofSeconds(5));

    DriftReport r = DriftCheck.run(target, new Snapshot(rev, listing), false, System.nanoTime());

    assertThat(r.drifted()).containsExactly("k5", "k6", "only-in-source");
    assertThat(r.repaired()).isEmpty();
    assertThat(r.keysChecked()).isEqualTo(2001);
    assertThat(r.bytesMoved()).isPositive().isLessThan(mapBytes / 10);
  }

  @Test
  void reconcile_reportsAndCounts_inStatsAndMetrics() {
    ts = TestServer.start();
    ts.server.node().map().put("a", b("1"), "text/plain");

    HttpResponse<byte[]> r = post("/admin/reconcile", null);

    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode report = json(r);
    assertThat(TestServer.fieldNames(report))
        .containsExactly(
            "target",
            "revision",
            "keysChecked",
            "drifted",
            "repaired",
            "unrepaired",
            "bytesMoved",
            "tookMillis");
    assertThat(report.get("keysChecked").asLong()).isEqualTo(1);
    assertThat(report.get("drifted")).isEmpty();
    JsonNode stats = json(ts.get("/stats")).get("reconcile");
    assertThat(stats.get("runs").asLong()).isEqualTo(1);
    assertThat(stats.get("driftedKeys").asLong()).isZero();
    assertThat(stats.get("last").get("keysChecked").asLong()).isEqualTo(1);
    String metrics = new String(ts.get("/metrics").body(), StandardCharsets.UTF_8);
    assertThat(metrics)
        .contains("lockstep_reconcile_runs_total 1.0")
        .contains("lockstep_reconcile_drifted_keys_total 0.0")
        .contains("lockstep_reconcile_repaired_keys_total 0.0")
        .contains("lockstep_reconcile_failures_total 0.0");
    assertThat(post("/admin/reconcile?repair=false", null).statusCode()).isEqualTo(200);
  }

  @Test
  void reconcileEvery_runsWithoutACall() {
    ts = TestServer.start(TestServer.settings(s -> s.reconcileEvery(Duration.ofSeconds(1))));
    ts.server.node().map().put("a", b("1"), "text/plain");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> json(ts.get("/stats")).get("reconcile").get("runs").asLong() >= 2);
    assertThat(json(ts.get("/stats")).get("reconcile").get("everyMillis").asLong()).isEqualTo(1000);
  }

  @Test
  void badInput_400_changesNothing() {
    ts = TestServer.start();
    ts.server.node().map().put("a", b("1"), "text/plain");
    TestServer.State before = ts.state();
    String[][] bad = {
      {"/admin/drift/ranges", "not json"},
      {"/admin/drift/ranges", "[1,2]"},
      {"/admin/drift/ranges", "{}"},
      {"/admin/drift/ranges", "{\"revision\": -1}"},
      {"/admin/drift/ranges", "{\"revision\": \"3\"}"},
      {"/admin/drift/ranges", "{\"revision\": 1, \"digests\": [\"x\"]}"},
      {"/admin/drift/ranges", "{\"revision\": 1, \"digests\": [\"3:0\"]}"},
      {"/admin/drift/ranges", "{\"revision\": 1, \"digests\": [\"4:ff\"]}"},
      {"/admin/drift/ranges", "{\"revision\": 1, \"entries\": \"0:0\"}"},
      {"/admin/drift/ranges", "{\"revision\": 1, \"entries\": [7]}"},
      {"/admin/drift/ranges?x=1", "{\"revision\": 1}"},
      {"/admin/drift/repair", "{}"},
      {"/admin/drift/repair", "{\"keys\": \"a\"}"},
      {"/admin/drift/repair", "{\"keys\": [1]}"},
      {"/admin/drift/repair", "{\"keys\": [\"\"]}"},
      {"/admin/drift/repair", "{\"keys\": [\"_members/x\"]}"},
      {"/admin/reconcile?repair=maybe", null},
      {"/admin/reconcile?other=1", null},
    };
    for (String[] req : bad) {
      assertError(post(req[0], req[1]), 400, ErrorMapper.BAD_REQUEST);
    }
    assertThat(ts.state()).isEqualTo(before);
    assertThat(json(ts.get("/stats")).get("reconcile").get("runs").asLong()).isZero();
  }

  @Test
  void ranges_forARevisionNotYetApplied_409AfterTheWait() {
    ts = TestServer.start();
    assertError(
        post("/admin/drift/ranges", "{\"revision\": 999999, \"digests\": [\"0:0\"]}"),
        409,
        "drift_check_conflict");
  }
}
