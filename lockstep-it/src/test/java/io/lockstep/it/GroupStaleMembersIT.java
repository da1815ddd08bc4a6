package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.FreePorts;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * One instance has a stale member list (groupcache's {@code PEERS_SELF}/{@code PEERS_SET}, the
 * static deployment where lists drift): it misses a live member, still lists one that is gone and
 * now swallows connections without ever answering, and names itself under another host name than
 * the others do — so the two sides weigh keys differently and can each think the other owns a key,
 * the case where Go groupcache peers forward to each other forever. Every request on every instance
 * still completes, well within the bound of one peer deadline, and nothing is loaded twice on one
 * instance.
 */
class GroupStaleMembersIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int KEYS = 60;

  /**
   * One peer deadline (1 s) + the 50 ms load + slack for a 2-core machine; a deadlock hits 20 s.
   */
  private static final Duration BOUND = Duration.ofSeconds(5);

  record Timed(String instance, String key, int status, long millis, String error) {}

  @Test
  void staleMemberList_everyRequestCompletesWithinTheDeadline_noLoops_noRepeatedLoads()
      throws Exception {
    Path data = Files.createTempDirectory("lockstep-group-stale-it-");
    List<Socket> swallowed = new CopyOnWriteArrayList<>();
    try (ServerSocket gone = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      // The member that left: its port still accepts connections, and never answers.
      Thread.ofVirtual()
          .start(
              () -> {
                while (!gone.isClosed()) {
                  try {
                    swallowed.add(gone.accept());
                  } catch (IOException closed) {
                    return;
                  }
                }
              });
      List<Integer> ports = FreePorts.take(3);
      List<String> urls = ports.stream().map(p -> "http://127.0.0.1:" + p).toList();
      String goneUrl = "http://127.0.0.1:" + gone.getLocalPort();
      String fresh = String.join(",", urls);
      // The stale one: itself as localhost, the first member, the gone one; not the second.
      String staleSelf = "http://localhost:" + ports.get(2);
      String stale = String.join(",", staleSelf, urls.get(0), goneUrl);
      try (ServerCluster cluster =
          PeerClusterIT.loopbackPeers(data, 3)
              .keyPrefix("group-stale-it")
              .httpPorts(ports)
              .args("--data-peer-deadline", "1s", "--data-delay", "50ms")
              .env(
                  i ->
                      i < 2
                          ? Map.of("PEERS_SELF", urls.get(i), "PEERS_SET", fresh)
                          : Map.of("PEERS_SELF", staleSelf, "PEERS_SET", stale))
              .start()) {
        List<ServerProcess> nodes = cluster.nodes();
        Map<String, Long> before = GroupNginxIT.loaderCalls(nodes);

        // Every key asked of every instance at once: 180 requests.
        List<Timed> first = everyKeyOnEveryInstance(nodes, "k-");
        assertThat(first.stream().filter(t -> t.status() != 200).toList())
            .as("failed or unanswered requests")
            .isEmpty();
        long slowest = first.stream().mapToLong(Timed::millis).max().orElseThrow();
        System.out.println(
            "stale member list: slowest of " + first.size() + ": " + slowest + " ms");
        assertThat(first)
            .as("every request answered within %s", BOUND)
            .allMatch(t -> t.millis() < BOUND.toMillis());

        Map<String, Long> loads = minus(GroupNginxIT.loaderCalls(nodes), before);
        System.out.println("loader calls per instance: " + loads);
        assertThat(loads.values())
            .as("no instance loads a key twice")
            .allMatch(n -> n >= 0 && n <= KEYS);
        long total = loads.values().stream().mapToLong(Long::longValue).sum();
        assertThat(total)
            .as("every key loaded, none more than once per instance")
            .isBetween((long) KEYS, 3L * KEYS);

        JsonNode staleGroup = group(nodes.get(2));
        System.out.println("stale instance's data group: " + staleGroup);
        assertThat(staleGroup.path("peerErrors").asLong())
            .as("the stale instance asked the gone member and fell back to loading")
            .isPositive();
        assertThat(
                group(nodes.get(0)).path("serverRequests").asLong()
                    + group(nodes.get(2)).path("serverRequests").asLong())
            .as("owners that disagree were asked by each other")
            .isPositive();

        // Asked again: everything is cached where it was asked, nothing loads, still no waits.
        Map<String, Long> beforeAgain = GroupNginxIT.loaderCalls(nodes);
        List<Timed> again = everyKeyOnEveryInstance(nodes, "k-");
        assertThat(again).allMatch(t -> t.status() == 200 && t.millis() < BOUND.toMillis());
        assertThat(minus(GroupNginxIT.loaderCalls(nodes), beforeAgain).values())
            .as("loader calls when every key is asked again")
            .allMatch(n -> n == 0);
      }
    } finally {
      for (Socket s : swallowed) {
        s.close();
      }
      TempDirs.deleteTree(data);
    }
  }

  private static JsonNode group(ServerProcess n) throws Exception {
    return JSON.readTree(Http.raw(n.url(), "GET", "/stats", null).body())
        .path("groups")
        .path("data");
  }

  private static Map<String, Long> minus(Map<String, Long> a, Map<String, Long> b) {
    Map<String, Long> out = new java.util.TreeMap<>();
    a.forEach((k, v) -> out.put(k, v - b.getOrDefault(k, 0L)));
    return out;
  }

  /** {@value #KEYS} keys, each asked of every instance, all released together. */
  private static List<Timed> everyKeyOnEveryInstance(List<ServerProcess> nodes, String prefix)
      throws Exception {
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Timed>> futures = new ArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int k = 0; k < KEYS; k++) {
        for (ServerProcess n : nodes) {
          String key = prefix + k;
          HttpRequest get =
              HttpRequest.newBuilder(URI.create(n.url() + "/data/" + key))
                  .timeout(Duration.ofSeconds(20))
                  .GET()
                  .build();
          futures.add(
              pool.submit(
                  () -> {
                    go.await();
                    long t0 = System.nanoTime();
                    try {
                      HttpResponse<String> r =
                          client.send(get, HttpResponse.BodyHandlers.ofString());
                      long ms = (System.nanoTime() - t0) / 1_000_000;
                      String guid =
                          r.statusCode() == 200
                              ? JSON.readTree(r.body()).path("guid").asText()
                              : "";
                      return new Timed(
                          n.id(),
                          key,
                          guid.equals(key) ? r.statusCode() : -2,
                          ms,
                          r.statusCode() == 200 ? null : r.body());
                    } catch (Exception e) {
                      return new Timed(
                          n.id(), key, -1, (System.nanoTime() - t0) / 1_000_000, e.toString());
                    }
                  }));
        }
      }
      go.countDown();
      List<Timed> out = new ArrayList<>();
      for (Future<Timed> f : futures) {
        out.add(f.get());
      }
      return out;
    } finally {
      client.close();
    }
  }
}
