package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.FreePorts;
import io.lockstep.process.PostgresProcess;
import io.lockstep.process.RedisProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerJar;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import io.lockstep.testkit.DriftBackendProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 17, drift check and repair, against real processes on each backend (etcd, Redis, peer,
 * PostgreSQL): two server processes, the second made to skip the changes of the keys under {@code
 * d/} by the testkit's drift hook (a test-only backend on its class path only). {@code lockstep
 * check} (the real jar, as a process) names exactly the drifted keys on the drifting instance and
 * none on the other, repairs them, and a second check finds none. With {@code --no-repair} new
 * drift is reported and the exit status is 1.
 */
class DriftIT {
  static final ObjectMapper JSON = new ObjectMapper();

  /** The class path entry holding the testkit's drift hook (its classes folder or jar). */
  static Path testkit() {
    try {
      return Path.of(
          DriftBackendProvider.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code uri} through the drift hook: {@code drift+<uri>} with {@code drift_prefix=d/}. */
  static String drifting(String uri) {
    return "drift+" + uri + (uri.contains("?") ? "&" : "?") + "drift_prefix=d/";
  }

  record Check(int exit, String out, String err) {
    JsonNode json() {
      try {
        return JSON.readTree(out);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + out + "\n" + err, e);
      }
    }

    JsonNode report(String url) {
      for (JsonNode r : json().get("reports")) {
        if (r.get("target").asText().equals(url)) {
          return r;
        }
      }
      throw new AssertionError("no report for " + url + " in " + out + "\n" + err);
    }
  }

  /** Runs {@code lockstep check ARGS} as a process of the real jar. */
  static Check check(String... args) throws Exception {
    Path dir = Files.createTempDirectory("lockstep-check-");
    List<String> cmd =
        new ArrayList<>(
            List.of(
                ProcessHandle.current().info().command().orElseThrow(),
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Djava.io.tmpdir=" + dir,
                "-jar",
                ServerJar.locate().toString(),
                "check"));
    cmd.addAll(List.of(args));
    Path out = dir.resolve("out");
    Path err = dir.resolve("err");
    try {
      Process p =
          new ProcessBuilder(cmd)
              .directory(dir.toFile())
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError("lockstep check did not finish: " + Files.readString(err));
      }
      return new Check(
          p.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      TempDirs.deleteTree(dir); // its output is read: leave nothing behind
    }
  }

  static String value(ServerProcess n, String key) {
    Http.Resp r = Http.get(n.url(), key, "");
    return r.status() == 200 ? r.body() : "HTTP " + r.status();
  }

  static void awaitApplied(ServerProcess n, long revision) {
    Http.Resp r = Http.raw(n.url(), "GET", "/admin/await?revision=" + revision, null);
    assertThat(r.status()).as("await %d on %s: %s", revision, n.id(), r.body()).isEqualTo(200);
  }

  /**
   * The scenario on one backend: {@code sourceUri} is what the check lists, {@code nodes} a cluster
   * whose second node drifts.
   */
  static void checkFindsRepairsThenNone(String sourceUri, String prefix, ServerCluster cluster)
      throws Exception {
    ServerProcess writer = cluster.node(0);
    ServerProcess drifting = cluster.node(1);
    for (int i = 0; i < 30; i++) {
      assertThat(Http.put(writer.url(), "k/" + i, "{\"v\":" + i + "}").status()).isEqualTo(200);
    }
    long last = 0;
    for (int i = 0; i < 5; i++) {
      Http.Resp r = Http.put(writer.url(), "d/" + i, "{\"old\":" + i + "}");
      assertThat(r.status()).isEqualTo(200);
      last = r.revision();
    }
    awaitApplied(drifting, last);
    assertThat(value(drifting, "d/4")).isEqualTo("{\"old\":4}"); // creations pass
    // The drifting instance skips these: three new values and a delete.
    for (int i = 0; i < 3; i++) {
      last = Http.put(writer.url(), "d/" + i, "{\"new\":" + i + "}").revision();
    }
    Http.Resp del = Http.delete(writer.url(), "d/3");
    assertThat(del.status()).isEqualTo(204);
    last = Math.max(last, del.revision());
    Http.Resp tail = Http.put(writer.url(), "k/tail", "{}"); // a change it does apply
    awaitApplied(drifting, tail.revision());
    assertThat(value(drifting, "k/tail")).isEqualTo("{}");
    assertThat(value(drifting, "d/0")).as("drift was injected").isEqualTo("{\"old\":0}");
    assertThat(value(drifting, "d/3")).isEqualTo("{\"old\":3}");

    String targets = writer.url() + "," + drifting.url();
    Check first =
        check("--backend", sourceUri, "--key-prefix", prefix, "--targets", targets, "--json");

    System.out.println("lockstep check --json:\n" + first.out());
    assertThat(first.exit()).as(first.out() + first.err()).isZero();
    JsonNode bad = first.report(drifting.url());
    assertThat(texts(bad.get("drifted"))).containsExactly("d/0", "d/1", "d/2", "d/3");
    assertThat(texts(bad.get("repaired"))).containsExactly("d/0", "d/1", "d/2", "d/3");
    // k/0..29, k/tail, d/0..2 and d/4 in the source; d/3 only on the replica
    assertThat(bad.get("keysChecked").asLong()).isEqualTo(30 + 1 + 4 + 1);
    assertThat(texts(first.report(writer.url()).get("drifted"))).isEmpty();
    assertThat(value(drifting, "d/0")).isEqualTo("{\"new\":0}");
    assertThat(value(drifting, "d/2")).isEqualTo("{\"new\":2}");
    assertThat(value(drifting, "d/3")).isEqualTo("HTTP 404");
    assertThat(value(drifting, "d/4")).isEqualTo("{\"old\":4}");

    Check second =
        check("--backend", sourceUri, "--key-prefix", prefix, "--targets", targets, "--json");
    assertThat(second.exit()).as(second.out() + second.err()).isZero();
    assertThat(texts(second.report(drifting.url()).get("drifted"))).isEmpty();
    assertThat(texts(second.report(writer.url()).get("drifted"))).isEmpty();

    // New drift, reported only: exit status 1, the table names the key.
    long r = Http.put(writer.url(), "d/4", "{\"new\":4}").revision();
    long t = Http.put(writer.url(), "k/tail", "{\"t\":2}").revision();
    awaitApplied(drifting, Math.max(r, t));
    Check reportOnly =
        check(
            "--backend",
            sourceUri,
            "--key-prefix",
            prefix,
            "--targets",
            drifting.url(),
            "--no-repair");
    System.out.println("lockstep check --no-repair:\n" + reportOnly.out());
    assertThat(reportOnly.exit()).as(reportOnly.out() + reportOnly.err()).isEqualTo(1);
    assertThat(reportOnly.out()).contains("d/4  (NOT repaired)").contains("keys checked");
    assertThat(value(drifting, "d/4")).isEqualTo("{\"old\":4}");
  }

  static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  @Test
  void etcd_checkNamesExactlyTheDriftedKeys_repairs_secondCheckNone() throws Exception {
    Path kit = testkit();
    try (EtcdProcess etcd = new EtcdProcess();
        ServerCluster cluster =
            ServerCluster.builder(etcd.backendUri())
                .instances(2)
                .keyPrefix("drift-etcd")
                .backend(i -> i == 1 ? drifting(etcd.backendUri()) : etcd.backendUri())
                .classpath(i -> i == 1 ? List.of(kit) : List.of())
                .start()) {
      checkFindsRepairsThenNone(etcd.backendUri(), "drift-etcd", cluster);
    }
  }

  @Test
  void redis_checkNamesExactlyTheDriftedKeys_repairs_secondCheckNone() throws Exception {
    Path kit = testkit();
    try (RedisProcess redis = new RedisProcess();
        ServerCluster cluster =
            ServerCluster.builder(redis.backendUri())
                .instances(2)
                .keyPrefix("drift-redis")
                .backend(i -> i == 1 ? drifting(redis.backendUri()) : redis.backendUri())
                .classpath(i -> i == 1 ? List.of(kit) : List.of())
                .start()) {
      checkFindsRepairsThenNone(redis.backendUri(), "drift-redis", cluster);
    }
  }

  @Test
  void peer_checkNamesExactlyTheDriftedKeys_repairs_secondCheckNone() throws Exception {
    Path kit = testkit();
    Path data = Files.createTempDirectory("lockstep-drift-peer-");
    List<Integer> ports = List.of(FreePorts.one(), FreePorts.one(), FreePorts.one());
    String voters =
        "peer://127.0.0.1:"
            + ports.get(0)
            + ",127.0.0.1:"
            + ports.get(1)
            + ",127.0.0.1:"
            + ports.get(2);
    try (ServerCluster cluster =
        ServerCluster.builder(voters)
            .instances(3)
            .keyPrefix("drift-peer")
            .backend(
                i -> {
                  String uri =
                      voters + "?bind=127.0.0.1:" + ports.get(i) + "&data=" + data.resolve("n" + i);
                  return i == 1 ? drifting(uri) : uri;
                })
            .classpath(i -> i == 1 ? List.of(kit) : List.of())
            .start()) {
      // The check joins the group as a non-voter (the voters' list, no bind) to list it.
      checkFindsRepairsThenNone(voters, "drift-peer", cluster);
    } finally {
      TempDirs.deleteTree(data);
    }
  }

  @Test
  void postgresql_checkNamesExactlyTheDriftedKeys_repairs_secondCheckNone() throws Exception {
    Path kit = testkit();
    try (PostgresProcess pg = new PostgresProcess();
        ServerCluster cluster =
            ServerCluster.builder(pg.backendUri())
                .instances(2)
                .keyPrefix("drift-postgres")
                .backend(i -> i == 1 ? drifting(pg.backendUri()) : pg.backendUri())
                .classpath(i -> i == 1 ? List.of(kit) : List.of())
                .start()) {
      // The key-value table: every change is a revision of its own (contiguous, like Redis).
      checkFindsRepairsThenNone(pg.backendUri(), "drift-postgres", cluster);
    }
  }
}
