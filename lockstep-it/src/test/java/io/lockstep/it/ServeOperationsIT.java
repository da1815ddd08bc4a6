package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.FreePorts;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import io.lockstep.testkit.PrometheusText;
import io.lockstep.testkit.PrometheusText.Family;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code lockstep serve} in operation, as real processes on the embedded peer backend: {@code GET
 * /metrics} moves under {@code lockstep bench}; {@code --log-level} reaches core's {@code
 * System.Logger} through slf4j; SIGTERM during a bench stops one instance gracefully (every error
 * it answers is a 503 with Retry-After, no 500 and no stack trace in its log, gone from the others'
 * {@code /cluster} within 1 s).
 */
class ServeOperationsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(2))
          .build();

  private record Answer(int status, String body, String retryAfter, long atNanos) {}

  /** One request; a transport failure is status 0. */
  private static Answer send(String url, Duration timeout) {
    try {
      HttpResponse<String> r =
          CLIENT.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      return new Answer(
          r.statusCode(),
          r.body(),
          r.headers().firstValue("Retry-After").orElse(null),
          System.nanoTime());
    } catch (Exception e) {
      return new Answer(0, e.toString(), null, System.nanoTime());
    }
  }

  private static Map<String, Family> metrics(ServerProcess n) {
    Http.Resp r = Http.raw(n.url(), "GET", "/metrics", null);
    assertThat(r.status()).isEqualTo(200);
    return PrometheusText.parse(r.body());
  }

  private static double requests(Map<String, Family> m, String method) {
    return m.get("lockstep_http_requests_seconds")
        .sum(
            "lockstep_http_requests_seconds_count",
            Map.of("method", method, "route", "/config/<key>", "status", "2xx"));
  }

  private static double gauge(Map<String, Family> m, String name) {
    return m.get(name).samples().get(0).value();
  }

  /** {@code lockstep bench --targets ...} as a process of its own, its output in {@code log}. */
  private static Process bench(Path dir, List<ServerProcess> targets, String duration)
      throws Exception {
    Path jar =
        Path.of(System.getProperty("lockstep.server.jar", "../lockstep-cli/target/lockstep.jar"));
    List<String> cmd =
        List.of(
            ProcessHandle.current().info().command().orElseThrow(),
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-jar",
            jar.toString(),
            "bench",
            "--targets",
            targets.stream().map(ServerProcess::url).collect(Collectors.joining(",")),
            "--users",
            "6",
            "--spawn-rate",
            "100",
            "--think-min",
            "0ms",
            "--think-max",
            "20ms",
            "--duration",
            duration,
            "--seed",
            "7",
            "--out",
            dir.resolve("out").toString());
    return new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("bench.log").toFile())
        .start();
  }

  private static List<String> memberIds(ServerProcess n) throws Exception {
    Http.Resp r = Http.raw(n.url(), "GET", "/cluster", null);
    List<String> ids = new ArrayList<>();
    for (JsonNode m : JSON.readTree(r.body()).path("members")) {
      ids.add(m.path("id").asText());
    }
    return ids;
  }

  @Test
  void metrics_moveUnderBench() throws Exception {
    Path data = TempDirs.create("lockstep-ops-it-");
    try (ServerCluster cluster =
        PeerClusterIT.loopbackPeers(data, 3).keyPrefix("ops-metrics").start()) {
      List<ServerProcess> nodes = cluster.nodes();
      List<Map<String, Family>> before = new ArrayList<>();
      for (ServerProcess n : nodes) {
        before.add(metrics(n));
      }
      Process bench = bench(data, nodes, "6s");
      assertThat(bench.waitFor(90, TimeUnit.SECONDS)).isTrue();
      String benchLog = Files.readString(data.resolve("bench.log"), StandardCharsets.UTF_8);
      for (int i = 0; i < nodes.size(); i++) {
        Map<String, Family> was = before.get(i);
        Map<String, Family> now = metrics(nodes.get(i));
        String what = nodes.get(i).id() + "\n" + benchLog;
        assertThat(requests(now, "PUT")).as(what).isGreaterThan(requests(was, "PUT"));
        assertThat(requests(now, "GET")).as(what).isGreaterThan(requests(was, "GET") + 10);
        assertThat(gauge(now, "lockstep_replica_applied_revision"))
            .as(what)
            .isGreaterThan(gauge(was, "lockstep_replica_applied_revision"));
        assertThat(gauge(now, "lockstep_replica_head_revision"))
            .isGreaterThanOrEqualTo(gauge(now, "lockstep_replica_applied_revision"));
        assertThat(gauge(now, "lockstep_replica_lag_revisions")).isNotNaN().isNotNegative();
        assertThat(gauge(now, "lockstep_replica_lag_seconds")).isNotNaN().isNotNegative();
        Map<String, String> writes = Map.of("call", "write", "outcome", "success");
        assertThat(
                now.get("lockstep_backend_calls_seconds")
                    .sum("lockstep_backend_calls_seconds_count", writes))
            .isGreaterThan(
                was.get("lockstep_backend_calls_seconds")
                    .sum("lockstep_backend_calls_seconds_count", writes));
      }
    } finally {
      TempDirs.deleteTree(data);
    }
  }

  /** A group of one on a free loopback port. */
  private static String single(Path dir) {
    String at = "127.0.0.1:" + FreePorts.one();
    return "peer://" + at + "?bind=" + at + "&data=" + dir;
  }

  @Test
  void logLevel_reachesCoreSystemLoggerThroughSlf4j() throws Exception {
    Path data = TempDirs.create("lockstep-ops-log-it-");
    try (ServerCluster debug =
            ServerCluster.builder("peer:")
                .backend(i -> single(data.resolve("d")))
                .instances(1)
                .keyPrefix("ops-log")
                .args("--log-level", "debug")
                .start();
        ServerCluster warn =
            ServerCluster.builder("peer:")
                .backend(i -> single(data.resolve("w")))
                .instances(1)
                .keyPrefix("ops-log")
                .args("--log-level", "warn")
                .start()) {
      for (ServerCluster c : List.of(debug, warn)) {
        ServerProcess n = c.node(0);
        assertThat(Http.raw(n.url(), "POST", "/admin/refresh", null).status()).isEqualTo(200);
      }
      ServerProcess d = debug.node(0);
      // Core's Replicator logs through System.Logger; slf4j-simple's line shape, not j.u.l.'s.
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () ->
                  assertThat(Files.readString(d.logFile()))
                      .containsPattern(
                          "\\d{4}-\\d\\d-\\d\\dT[0-9:.]+\\S* INFO Replicator - "
                              + d.id()
                              + ": re-listing \\(refresh\\)")
                      .containsPattern(" DEBUG \\S+ - ")
                      .contains("INFO access - 127.0.0.1 - - [")
                      .doesNotContain("WARNING: ")); // no j.u.l. console line
      String quiet = Files.readString(warn.node(0).logFile());
      assertThat(quiet).doesNotContain(" INFO ").doesNotContain(" DEBUG ");
    } finally {
      TempDirs.deleteTree(data);
    }
  }

  @Test
  void sigterm_duringBench_only503WithRetryAfter_noStackTrace_goneFromClusterWithin1s()
      throws Exception {
    Path data = TempDirs.create("lockstep-ops-stop-it-");
    try (ServerCluster cluster =
        PeerClusterIT.loopbackPeers(data, 3)
            .keyPrefix("ops-stop")
            .args("--max-wait", "30s")
            .start()) {
      List<ServerProcess> nodes = cluster.nodes();
      ServerProcess victim = nodes.get(2);
      List<ServerProcess> others = nodes.subList(0, 2);
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> memberIds(nodes.get(0)).contains(victim.id()));
      Process bench = bench(data, nodes, "12s");
      Thread.sleep(3000);

      // Long polls in flight at the SIGTERM: revisions far ahead, waits of up to 30 s.
      List<CompletableFuture<Answer>> polls = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        String path =
            i % 2 == 0
                ? "/config/ops-poll?min_revision=1000000000"
                : "/admin/await?revision=1000000000";
        polls.add(
            CompletableFuture.supplyAsync(() -> send(victim.url() + path, Duration.ofSeconds(40))));
      }
      // And a probe hammering the victim with short requests throughout.
      ConcurrentLinkedQueue<Answer> probe = new ConcurrentLinkedQueue<>();
      AtomicBoolean probing = new AtomicBoolean(true);
      Thread prober =
          Thread.ofVirtual()
              .start(
                  () -> {
                    int i = 0;
                    while (probing.get()) {
                      String path =
                          switch (i++ % 3) {
                            case 0 -> "/health/ready";
                            case 1 -> "/config/ops-probe";
                            default -> "/config/ops-probe?min_revision=1";
                          };
                      probe.add(send(victim.url() + path, Duration.ofSeconds(10)));
                    }
                  });
      Thread.sleep(500);

      // /cluster reads the member list when it arrives, then asks every member for its /stats
      // (up to 1 s each): so ask every 25 ms without waiting, and time each answer by its sending.
      ConcurrentLinkedQueue<long[]> views = new ConcurrentLinkedQueue<>(); // {node, sent, listed}
      AtomicBoolean watching = new AtomicBoolean(true);
      Thread watcher =
          Thread.ofVirtual()
              .start(
                  () -> {
                    while (watching.get()) {
                      for (int i = 0; i < others.size(); i++) {
                        int node = i;
                        long sent = System.nanoTime();
                        Thread.ofVirtual()
                            .start(
                                () -> {
                                  try {
                                    boolean listed =
                                        memberIds(others.get(node)).contains(victim.id());
                                    views.add(new long[] {node, sent, listed ? 1 : 0});
                                  } catch (Exception e) {
                                    // not counted
                                  }
                                });
                      }
                      try {
                        Thread.sleep(25);
                      } catch (InterruptedException e) {
                        return;
                      }
                    }
                  });
      Thread.sleep(300);
      long sigterm = System.nanoTime();
      Thread stopper = Thread.ofPlatform().start(victim::stop); // SIGTERM, then waits for the exit
      Thread.sleep(3000);
      watching.set(false);
      watcher.join(5000);
      Thread.sleep(2000); // the last answers
      long gone = -1;
      for (int node = 0; node < others.size(); node++) {
        int n = node;
        List<long[]> seen =
            views.stream()
                .filter(v -> v[0] == n)
                .sorted(java.util.Comparator.comparingLong(v -> v[1]))
                .toList();
        long lastListed =
            seen.stream().filter(v -> v[2] == 1).mapToLong(v -> v[1]).max().orElse(Long.MIN_VALUE);
        long firstGone =
            seen.stream()
                .filter(v -> v[2] == 0 && v[1] > lastListed)
                .mapToLong(v -> v[1])
                .min()
                .orElse(-1);
        assertThat(seen.stream().filter(v -> v[2] == 1 && v[1] < sigterm)).isNotEmpty();
        assertThat(firstGone).as("node %d stopped listing the victim", n).isPositive();
        gone = Math.max(gone, firstGone);
      }
      stopper.join(20_000);
      probing.set(false);
      prober.join(15_000);
      assertThat(bench.waitFor(90, TimeUnit.SECONDS)).isTrue();

      assertThat(gone).as("the victim left the others' /cluster").isPositive();
      assertThat(TimeUnit.NANOSECONDS.toMillis(gone - sigterm))
          .as("ms from SIGTERM to gone from /cluster")
          .isLessThan(1000);
      for (CompletableFuture<Answer> f : polls) {
        Answer a = f.get(10, TimeUnit.SECONDS);
        assertThat(a.status()).as(a.body()).isEqualTo(503);
        assertThat(a.retryAfter()).isNotNull();
        assertThat(a.body()).contains("\"error\":\"not_ready\"");
        assertThat(TimeUnit.NANOSECONDS.toMillis(a.atNanos() - sigterm)).isLessThan(1000);
      }
      List<Answer> answered = probe.stream().filter(a -> a.status() != 0).toList();
      assertThat(answered).isNotEmpty();
      for (Answer a : answered) {
        if (a.status() >= 400 && a.status() != 404) {
          assertThat(a.status()).as(a.body()).isEqualTo(503);
          assertThat(a.retryAfter()).as(a.body()).isNotNull();
        }
      }
      System.out.printf(
          "SIGTERM: gone from /cluster after %d ms; long polls answered after %s ms;"
              + " probe: %d answers (%d of them 503), %d transport failures%n",
          TimeUnit.NANOSECONDS.toMillis(gone - sigterm),
          polls.stream()
              .map(f -> Long.toString(TimeUnit.NANOSECONDS.toMillis(f.join().atNanos() - sigterm)))
              .collect(Collectors.joining(",")),
          answered.size(),
          answered.stream().filter(a -> a.status() == 503).count(),
          probe.size() - answered.size());
      String log = Files.readString(victim.logFile());
      assertThat(log).contains("INFO access - "); // the log checked below is the real one
      assertThat(log)
          .as(log)
          .doesNotContainPattern("\" 5(?!03)\\d\\d ")
          .doesNotContainPattern("(?m)^\\s+at ");
      // No exception named from the stop on (a voter's start-up may log a refused listing, with its
      // exception's name, before it sees a majority: not what this test is about).
      int stop = log.indexOf("lockstep: stopping");
      assertThat(stop).as("the stop line in the victim's log").isNotNegative();
      assertThat(log.substring(stop)).as(log).doesNotContain("Exception");
    } finally {
      TempDirs.deleteTree(data);
    }
  }
}
