package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.NginxProcess;
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
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The groupcache example's setup with real processes: three {@code serve} instances (peer backend,
 * loopback) behind nginx round-robin, {@code GET /data/<id>} through nginx. 300 concurrent requests
 * for 10 ids reach every instance, yet the slow loader runs exactly once per id in the whole
 * cluster and every answer for an id carries the same {@code date_created}; a {@code DELETE}
 * through nginx of an id cached on all three (the owner's main cache, the others' hot caches) drops
 * each copy, leaves none on any instance, and the next get loads again, once.
 */
class GroupNginxIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int BURST = 300;
  private static final int IDS = 10;

  /** One answer through nginx: the instance that sent it and the body, or the failure. */
  record Answer(int status, String instance, String id, String dateCreated, String failure) {
    boolean ok() {
      return failure == null && status == 200;
    }
  }

  @Test
  void threeInstancesBehindNginx_loadEachIdOnce_agreeOnItsDate_andForgetItEverywhereOnDelete()
      throws Exception {
    Path data = Files.createTempDirectory("lockstep-group-it-");
    try (ServerCluster cluster =
            PeerClusterIT.loopbackPeers(data, 3)
                .keyPrefix("group-it")
                // an owner slowed by a busy machine must not count as gone
                .args("--data-peer-deadline", "10s")
                .start();
        NginxProcess nginx =
            new NginxProcess(cluster.nodes().stream().map(ServerProcess::url).toList())) {
      List<ServerProcess> nodes = cluster.nodes();
      awaitMembership(nodes);

      // Warm the JVMs on other ids, so that the burst is not judged on cold start.
      assertThat(burst(nginx.url(), "warm-")).allMatch(Answer::ok);
      Map<String, Long> before = loaderCalls(nodes);

      // 1. 300 concurrent gets of 10 ids, round-robin over the three.
      List<Answer> answers = burst(nginx.url(), "id-");
      List<Answer> failed = answers.stream().filter(a -> !a.ok()).toList();
      assertThat(failed).as("failed requests").isEmpty();
      Map<String, Long> spread =
          answers.stream()
              .collect(
                  Collectors.groupingBy(Answer::instance, TreeMap::new, Collectors.counting()));
      System.out.println("group burst spread over instances: " + spread);
      assertThat(spread).hasSize(3);
      for (ServerProcess n : nodes) {
        System.out.println(
            n.id()
                + " data group: "
                + JSON.readTree(Http.raw(n.url(), "GET", "/stats", null).body())
                    .path("groups")
                    .path("data"));
      }
      Map<String, Set<String>> datesById = new TreeMap<>();
      for (Answer a : answers) {
        datesById.computeIfAbsent(a.id(), k -> new TreeSet<>()).add(a.dateCreated());
      }
      assertThat(datesById).hasSize(IDS);
      assertThat(datesById.values())
          .as("one date_created per id, whichever instance answered")
          .allMatch(d -> d.size() == 1);
      Map<String, Long> after = loaderCalls(nodes);
      Map<String, Long> loads = minus(after, before);
      System.out.println("loader calls per instance in the burst: " + loads);
      assertThat(loads.values().stream().mapToLong(Long::longValue).sum())
          .as("loader calls over the whole cluster")
          .isEqualTo(IDS);
      // the rendezvous owners of id-0..id-9 over node-1..node-3: each instance owns some
      assertThat(loads.values()).allMatch(n -> n >= 1);

      // 2. DELETE one id through nginx: no instance holds it any more.
      String gone = "id-3";
      String oldDate = datesById.get(gone).iterator().next();
      // First make sure it is cached on all three: asked of each directly, no load anywhere.
      Map<String, Long> beforeWarm = loaderCalls(nodes);
      for (ServerProcess n : nodes) {
        Http.Resp r = Http.raw(n.url(), "GET", "/data/" + gone, null);
        assertThat(JSON.readTree(r.body()).get("date_created").asText()).isEqualTo(oldDate);
      }
      assertThat(sum(minus(loaderCalls(nodes), beforeWarm))).isZero();
      Map<String, Long> mainBefore = cacheItemsByInstance(nodes, "main");
      Map<String, Long> hotBefore = cacheItemsByInstance(nodes, "hot");
      Http.Resp del = Http.raw(nginx.url(), "DELETE", "/data/" + gone, null);
      assertThat(del.status()).as(del.body()).isEqualTo(204);
      Map<String, Long> mainDropped = minus(mainBefore, cacheItemsByInstance(nodes, "main"));
      Map<String, Long> hotDropped = minus(hotBefore, cacheItemsByInstance(nodes, "hot"));
      System.out.println(
          "entries dropped by the delete: main " + mainDropped + ", hot " + hotDropped);
      assertThat(sum(mainDropped)).as("the owner's main-cache copy").isEqualTo(1);
      assertThat(sum(hotDropped)).as("the two hot copies").isEqualTo(2);
      for (ServerProcess n : nodes) {
        assertThat(mainDropped.get(n.id()) + hotDropped.get(n.id()))
            .as("copies dropped on %s", n.id())
            .isEqualTo(1);
      }
      Map<String, Long> beforeReload = loaderCalls(nodes);
      Set<String> newDates = new TreeSet<>();
      for (ServerProcess n : nodes) { // each asked directly: a copy left anywhere would show
        Http.Resp r = Http.raw(n.url(), "GET", "/data/" + gone, null);
        assertThat(r.status()).isEqualTo(200);
        newDates.add(JSON.readTree(r.body()).get("date_created").asText());
      }
      assertThat(newDates).as("every instance loaded afresh, once").hasSize(1);
      assertThat(newDates.iterator().next()).isNotEqualTo(oldDate);
      assertThat(sum(minus(loaderCalls(nodes), beforeReload))).isEqualTo(1);

      // 3. The next get through nginx has the new date, and loads nothing more.
      Map<String, Long> beforeNext = loaderCalls(nodes);
      JsonNode next = JSON.readTree(Http.raw(nginx.url(), "GET", "/data/" + gone, null).body());
      assertThat(next.get("date_created").asText()).isEqualTo(newDates.iterator().next());
      assertThat(sum(minus(loaderCalls(nodes), beforeNext))).isZero();
    } finally {
      TempDirs.deleteTree(data);
    }
  }

  /**
   * Every instance's {@code /cluster} lists all three, reachable, and every instance's data group
   * routes over all three ({@code groups.data.members} in its {@code /stats}).
   */
  static void awaitMembership(List<ServerProcess> nodes) {
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              for (ServerProcess n : nodes) {
                JsonNode members = JSON.readTree(Http.raw(n.url(), "GET", "/cluster", null).body());
                assertThat(members.path("members")).hasSize(nodes.size());
                for (JsonNode m : members.path("members")) {
                  assertThat(m.path("reachable").asBoolean()).isTrue();
                }
                JsonNode group =
                    JSON.readTree(Http.raw(n.url(), "GET", "/stats", null).body())
                        .path("groups")
                        .path("data");
                assertThat(group.path("members").asInt())
                    .as("%s's data group", n.id())
                    .isEqualTo(nodes.size());
              }
            });
  }

  /** Each instance's loader calls in the data group, from its {@code /stats}. */
  static Map<String, Long> loaderCalls(List<ServerProcess> nodes) throws Exception {
    Map<String, Long> out = new TreeMap<>();
    for (ServerProcess n : nodes) {
      JsonNode g =
          JSON.readTree(Http.raw(n.url(), "GET", "/stats", null).body())
              .path("groups")
              .path("data");
      assertThat(g.isObject()).as("groups.data in /stats").isTrue();
      out.put(n.id(), g.path("localLoads").asLong() + g.path("localLoadErrors").asLong());
    }
    return out;
  }

  private static Map<String, Long> cacheItemsByInstance(List<ServerProcess> nodes, String cache)
      throws Exception {
    Map<String, Long> out = new TreeMap<>();
    for (ServerProcess n : nodes) {
      out.put(
          n.id(),
          JSON.readTree(Http.raw(n.url(), "GET", "/stats/" + cache, null).body())
              .get("items")
              .asLong());
    }
    return out;
  }

  private static Map<String, Long> minus(Map<String, Long> a, Map<String, Long> b) {
    Map<String, Long> out = new TreeMap<>();
    a.forEach((k, v) -> out.put(k, v - b.getOrDefault(k, 0L)));
    return out;
  }

  private static long sum(Map<String, Long> m) {
    return m.values().stream().mapToLong(Long::longValue).sum();
  }

  /** {@value #BURST} concurrent gets of {@value #IDS} ids through nginx, released together. */
  static List<Answer> burst(String base, String prefix) throws Exception {
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Answer>> futures = new ArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < BURST; i++) {
        String id = prefix + (i % IDS);
        HttpRequest get =
            HttpRequest.newBuilder(URI.create(base + "/data/" + id))
                .timeout(Duration.ofSeconds(20))
                .GET()
                .build();
        futures.add(
            pool.submit(
                () -> {
                  go.await();
                  try {
                    HttpResponse<String> r = client.send(get, HttpResponse.BodyHandlers.ofString());
                    String instance = r.headers().firstValue("X-Lockstep-Instance").orElse("?");
                    if (r.statusCode() != 200) {
                      return new Answer(r.statusCode(), instance, id, null, r.body());
                    }
                    JsonNode body = JSON.readTree(r.body());
                    String guid = body.path("guid").asText();
                    return new Answer(
                        200,
                        instance,
                        guid,
                        body.path("date_created").asText(),
                        guid.equals(id) ? null : "guid " + guid + " for " + id);
                  } catch (Exception e) {
                    return new Answer(-1, "?", id, null, e.toString());
                  }
                }));
      }
      go.countDown();
      List<Answer> answers = new ArrayList<>();
      for (Future<Answer> f : futures) {
        answers.add(f.get());
      }
      return answers;
    } finally {
      client.close();
    }
  }
}
