package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.process.NginxProcess;
import io.lockstep.process.NginxProcess.AccessLogEntry;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Three real servers (peer backend, loopback) behind real nginx, round-robin, as a load balancer
 * puts them: 300 concurrent requests reach all three; with one server killed nginx skips it (a
 * refused connection goes to the next upstream) and no request fails; after a reload without it
 * nginx never tries it again; and nothing is left behind.
 */
class NginxProcessIT {
  private static final int BURST = 300;

  /** One answer through nginx: its status and the instance that sent it, or the failure. */
  record Answer(int status, String instance, String failure) {
    boolean ok() {
      return failure == null && status == 200;
    }
  }

  @Test
  void threeServersBehindNginx_spreadOverAll_deadOneSkipped_reloadWithoutIt() throws Exception {
    Path data = Files.createTempDirectory("lockstep-nginx-it-");
    NginxProcess nginx = null;
    try (ServerCluster cluster =
        PeerClusterIT.loopbackPeers(data, 3).keyPrefix("nginx-it").start()) {
      List<String> urls = cluster.nodes().stream().map(ServerProcess::url).toList();
      nginx = new NginxProcess(urls);
      Map<String, String> addressOf = new TreeMap<>(); // instance id -> host:port
      for (ServerProcess n : cluster.nodes()) {
        addressOf.put(n.id(), "127.0.0.1:" + n.port());
      }

      // 1. All three answer: round-robin over 300 concurrent requests.
      List<Answer> first = burst(nginx.url());
      assertThat(first).allMatch(Answer::ok, "200 with an instance");
      Map<String, Long> spread = countByInstance(first);
      System.out.println("nginx spread over 3 instances: " + spread);
      assertThat(spread).containsOnlyKeys(addressOf.keySet());
      assertThat(spread.values()).allMatch(c -> c >= BURST / 6, "at least half a fair share");
      // The access log names the same upstreams, request by request.
      List<AccessLogEntry> log1 = liveChecks(nginx.accessLog());
      assertThat(log1).hasSize(BURST);
      Map<String, Long> logged =
          log1.stream()
              .collect(
                  Collectors.groupingBy(
                      e -> e.upstreamAddresses().get(e.upstreamAddresses().size() - 1),
                      TreeMap::new,
                      Collectors.counting()));
      Map<String, Long> expected = new TreeMap<>();
      spread.forEach((id, c) -> expected.put(addressOf.get(id), c));
      assertThat(logged).isEqualTo(expected);
      assertThat(log1).allMatch(e -> e.status() == 200 && e.upstreamAddresses().size() == 1);

      // 2. One server killed: nginx still answers every request, from the other two.
      ServerProcess dead = cluster.node(1);
      String deadAddress = addressOf.get(dead.id());
      dead.kill();
      int before = nginx.accessLog().size();
      List<Answer> second = burst(nginx.url());
      List<Answer> failed = second.stream().filter(a -> !a.ok()).toList();
      assertThat(failed).as("failed requests with one upstream dead").isEmpty();
      assertThat(countByInstance(second)).containsOnlyKeys("node-1", "node-3");
      List<AccessLogEntry> log2 = liveChecks(after(nginx, before));
      List<AccessLogEntry> triedDead =
          log2.stream().filter(e -> e.upstreamAddresses().contains(deadAddress)).toList();
      System.out.println(
          "nginx with "
              + deadAddress
              + " dead: "
              + failed.size()
              + " failed of "
              + BURST
              + "; "
              + triedDead.size()
              + " requests tried it first and went on, e.g. "
              + (triedDead.isEmpty() ? "none" : triedDead.get(0)));
      // nginx learns of the dead upstream by trying it (passive check): a refused connection, then
      // the next upstream; after one failure it leaves it out for fail_timeout (5 s).
      assertThat(triedDead).as("requests that tried the dead upstream").isNotEmpty();
      assertThat(triedDead)
          .allSatisfy(
              e -> {
                assertThat(e.status()).isEqualTo(200);
                assertThat(e.upstreamStatuses()).hasSize(2).startsWith("502").endsWith("200");
              });

      // A bad list is refused before anything changes.
      NginxProcess lb = nginx;
      assertThatThrownBy(() -> lb.reload(List.of("https://127.0.0.1:1")))
          .isInstanceOf(IllegalArgumentException.class);

      // 3. Reloaded without it: never tried again (on new connections), nothing fails.
      nginx.reload(List.of(cluster.node(0).url(), cluster.node(2).url()));
      assertThat(nginx.upstreamAddresses()).doesNotContain(deadAddress).hasSize(2);
      int reloadedAt = nginx.accessLog().size();
      List<Answer> third = burst(nginx.url());
      assertThat(third).allMatch(Answer::ok, "200 with an instance");
      Map<String, Long> spread3 = countByInstance(third);
      System.out.println("nginx after the reload: " + spread3);
      assertThat(spread3).containsOnlyKeys("node-1", "node-3");
      assertThat(spread3.values()).allMatch(c -> c >= BURST / 4, "at least half a fair share");
      List<AccessLogEntry> log3 = liveChecks(after(nginx, reloadedAt));
      assertThat(log3).noneMatch(e -> e.upstreamAddresses().contains(deadAddress));
      assertThat(log3).allMatch(e -> e.upstreamAddresses().size() == 1 && e.status() == 200);

      // 4. Everything goes: nginx's master, its worker and its directory.
      long pid = nginx.pid();
      List<ProcessHandle> workers = ProcessHandle.of(pid).orElseThrow().children().toList();
      assertThat(workers).hasSize(1);
      Path dir = nginx.directory();
      nginx.close();
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
      assertThat(workers).noneMatch(ProcessHandle::isAlive);
      assertThat(dir).doesNotExist();
    } finally {
      if (nginx != null) {
        nginx.close();
      }
      TempDirs.deleteTree(data);
    }
  }

  private static List<AccessLogEntry> after(NginxProcess nginx, int from) {
    List<AccessLogEntry> all = nginx.accessLog();
    return all.subList(from, all.size());
  }

  private static List<AccessLogEntry> liveChecks(List<AccessLogEntry> entries) {
    return entries.stream().filter(e -> e.uri().equals("/health/live")).toList();
  }

  private static Map<String, Long> countByInstance(List<Answer> answers) {
    return answers.stream()
        .filter(Answer::ok)
        .collect(Collectors.groupingBy(Answer::instance, TreeMap::new, Collectors.counting()));
  }

  /**
   * {@value #BURST} concurrent {@code GET /health/live} through nginx, released together, on a new
   * client (new connections).
   */
  private static List<Answer> burst(String base) throws Exception {
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    HttpRequest get =
        HttpRequest.newBuilder(URI.create(base + "/health/live"))
            .timeout(Duration.ofSeconds(20))
            .GET()
            .build();
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Answer>> futures = new ArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < BURST; i++) {
        futures.add(
            pool.submit(
                () -> {
                  go.await();
                  try {
                    HttpResponse<String> r = client.send(get, HttpResponse.BodyHandlers.ofString());
                    String instance = r.headers().firstValue("X-Lockstep-Instance").orElse(null);
                    return new Answer(
                        r.statusCode(),
                        instance,
                        instance == null ? "no instance header: " + r.body() : null);
                  } catch (Exception e) {
                    return new Answer(-1, null, e.toString());
                  }
                }));
      }
      go.countDown();
      List<Answer> answers = new ArrayList<>();
      for (Future<Answer> f : futures) {
        answers.add(f.get());
      }
      return answers;
    }
  }
}
