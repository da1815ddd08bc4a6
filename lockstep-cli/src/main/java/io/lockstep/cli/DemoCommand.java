package io.lockstep.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.ServerProcess;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lockstep demo}: starts a local cluster of real server processes, walks through a short
 * scenario against their HTTP API, then keeps the cluster up until Ctrl-C or {@code --duration}.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description =
        "Starts N local server processes on free ports, shows a write and a delete reaching every "
            + "instance with the time each took, a compare-and-set conflict, the /cluster view, and the loading "
            + "group loading each of 3 ids once for 30 concurrent gets over every instance, then keeps the "
            + "cluster running until Ctrl-C or --duration. Every process it starts stops when the demo ends, even "
            + "when the demo is killed.")
public final class DemoCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int GROUP_GETS = 30;
  private static final int GROUP_IDS = 3;

  @Option(
      names = "--instances",
      paramLabel = "N",
      defaultValue = "3",
      description = "Number of server processes, 1..64. Default: ${DEFAULT-VALUE}.")
  int instances;

  @Option(
      names = "--backend",
      paramLabel = "URI",
      defaultValue = LocalCluster.DEFAULT,
      description =
          "peer (the embedded backend, no server to install), etcd (a throwaway etcd; scripts/setup installs "
              + "the binary), or a backend URI every instance uses. Default: ${DEFAULT-VALUE}.")
  String backend;

  @Option(
      names = "--duration",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "Exit after this long once the scenario has run, e.g. 20s, 2m. Default: until Ctrl-C.")
  Duration duration;

  @Option(
      names = "--key-prefix",
      paramLabel = "PREFIX",
      defaultValue = "demo",
      description = "Key prefix in the backend. Default: ${DEFAULT-VALUE}.")
  String keyPrefix;

  private final PrintStream out = System.out;
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(2))
          .build();
  private final java.util.concurrent.ExecutorService pollers =
      java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

  @Override
  public Integer call() throws Exception {
    if (instances < 1 || instances > 64) {
      System.err.println("demo: --instances must be between 1 and 64, was " + instances);
      return 2;
    }
    Duration runFor = duration;
    try (LocalCluster cluster =
        LocalCluster.start(instances, backend, keyPrefix, "instance-", null, out)) {
      Thread cleanup = new Thread(cluster::close, "demo-cleanup");
      Runtime.getRuntime().addShutdownHook(cleanup);
      long t0 = System.nanoTime();
      scenario(cluster.nodes());
      out.printf("%n(scenario ran in %d ms)%n", (System.nanoTime() - t0) / 1_000_000);

      out.println();
      out.println("The cluster is running on " + cluster.description() + ":");
      for (ServerProcess n : cluster.nodes()) {
        out.printf("  %-12s %s   (try: curl %s/config/demo/greeting)%n", n.id(), n.url(), n.url());
      }
      if (runFor == null) {
        out.println("Press Ctrl-C to stop.");
        new CountDownLatch(1).await();
      } else {
        out.println("Stopping in " + runFor.toSeconds() + " s (--duration).");
        Thread.sleep(runFor.toMillis());
      }
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running
      }
      return 0;
    }
  }

  private void scenario(List<ServerProcess> nodes) throws Exception {
    ServerProcess first = nodes.get(0);
    // Fresh JVMs answer their first requests slowly; warm every instance up before measuring.
    for (int i = 0; i < 200; i++) {
      ServerProcess n = nodes.get(i % nodes.size());
      send("PUT", n.url() + "/config/demo/warmup", "\"" + i + "\"");
      send("GET", n.url() + "/config/demo/warmup", null);
    }
    send("DELETE", first.url() + "/config/demo/warmup", null);
    String key = "demo/greeting";
    String value = "{\"hello\":\"world\",\"at\":" + System.currentTimeMillis() + "}";

    out.println();
    out.println("1. Write through " + first.id() + ", then read from every instance's memory");
    List<CompletableFuture<Long>> seen = watchUntil(nodes, key, value, 200);
    long start = System.nanoTime();
    HttpResponse<String> put = send("PUT", first.url() + "/config/" + key, value);
    long putMicros = (System.nanoTime() - start) / 1000;
    out.printf(
        "   PUT %s/config/%s -> %d, revision %s, %.2f ms%n",
        first.url(),
        key,
        put.statusCode(),
        put.headers().firstValue("X-Lockstep-Revision").orElse("?"),
        putMicros / 1000.0);
    report(nodes, seen, start, "serves the new value");

    ServerProcess deleter = nodes.get(nodes.size() > 1 ? 1 : 0);
    out.println();
    out.println("2. Delete through " + deleter.id() + ", then read from every instance");
    seen = watchUntil(nodes, key, null, 404);
    start = System.nanoTime();
    HttpResponse<String> del = send("DELETE", deleter.url() + "/config/" + key, null);
    out.printf(
        "   DELETE -> %d, revision %s%n",
        del.statusCode(), del.headers().firstValue("X-Lockstep-Revision").orElse("?"));
    report(nodes, seen, start, "answers 404");

    ServerProcess casNode = nodes.get(nodes.size() - 1);
    out.println();
    out.println("3. Compare-and-set: two writers start from the same revision");
    HttpResponse<String> base = send("PUT", first.url() + "/config/demo/counter", "1");
    String rev = base.headers().firstValue("X-Lockstep-Revision").orElse("0");
    HttpResponse<String> win = sendIfMatch(first.url() + "/config/demo/counter", "2", rev);
    HttpResponse<String> lose = sendIfMatch(casNode.url() + "/config/demo/counter", "3", rev);
    out.printf(
        "   %s: PUT If-Match %s -> %d (revision %s)%n",
        first.id(),
        rev,
        win.statusCode(),
        win.headers().firstValue("X-Lockstep-Revision").orElse("?"));
    out.printf(
        "   %s: PUT If-Match %s -> %d %s%n", casNode.id(), rev, lose.statusCode(), lose.body());

    out.println();
    out.println("4. GET /cluster on " + first.id());
    JsonNode cluster = JSON.readTree(send("GET", first.url() + "/cluster", null).body());
    for (JsonNode m : cluster.path("members")) {
      out.printf(
          "   %-12s %-24s applied=%-6s keys=%-4s digest=%s%n",
          m.path("id").asText(),
          m.path("url").asText(),
          m.path("appliedRevision").asText("?"),
          m.path("keys").asText("?"),
          m.path("digest").asText("?"));
    }

    loadingGroup(nodes);
  }

  /**
   * The loading group (groupcache's example): {@value #GROUP_GETS} concurrent {@code GET
   * /data/<id>} for {@value #GROUP_IDS} new ids, spread over every instance, then each id's {@code
   * date_created} and the loader calls summed over the instances' {@code /stats}: one per id.
   */
  private void loadingGroup(List<ServerProcess> nodes) throws Exception {
    out.println();
    out.printf(
        "5. Loading group: %d concurrent GET /data/<id> for %d ids, spread over every instance%n",
        GROUP_GETS, GROUP_IDS);
    long before = loaderCalls(nodes);
    String run = Long.toString(System.currentTimeMillis(), 36);
    List<CompletableFuture<String[]>> answers = new ArrayList<>();
    CountDownLatch go = new CountDownLatch(1);
    for (int i = 0; i < GROUP_GETS; i++) {
      String id = "item-" + run + "-" + (i % GROUP_IDS);
      ServerProcess n = nodes.get((i / GROUP_IDS) % nodes.size()); // every id on every instance
      answers.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  go.await();
                  HttpResponse<String> r = send("GET", n.url() + "/data/" + id, null);
                  String date =
                      r.statusCode() == 200
                          ? JSON.readTree(r.body()).path("date_created").asText("?")
                          : "HTTP " + r.statusCode();
                  return new String[] {id, n.id(), date};
                } catch (Exception e) {
                  return new String[] {id, n.id(), "failed: " + e};
                }
              },
              pollers));
    }
    go.countDown();
    java.util.Map<String, java.util.Set<String>> dates = new java.util.TreeMap<>();
    java.util.Map<String, java.util.Set<String>> servedBy = new java.util.TreeMap<>();
    for (CompletableFuture<String[]> f : answers) {
      String[] a = f.join();
      dates.computeIfAbsent(a[0], k -> new java.util.TreeSet<>()).add(a[2]);
      servedBy.computeIfAbsent(a[0], k -> new java.util.TreeSet<>()).add(a[1]);
    }
    for (String id : dates.keySet()) {
      out.printf(
          "   %-22s date_created %s, answered by %d instances%n",
          id, String.join(" / ", dates.get(id)), servedBy.get(id).size());
    }
    out.printf(
        "   loader calls over the whole cluster: %d for %d ids%n",
        loaderCalls(nodes) - before, GROUP_IDS);
  }

  /** The data group's loader calls summed over every instance's {@code /stats}. */
  private long loaderCalls(List<ServerProcess> nodes) throws Exception {
    long calls = 0;
    for (ServerProcess n : nodes) {
      JsonNode g = JSON.readTree(send("GET", n.url() + "/stats", null).body()).path("groups");
      calls +=
          g.path("data").path("localLoads").asLong()
              + g.path("data").path("localLoadErrors").asLong();
    }
    return calls;
  }

  /**
   * Starts one waiter per instance: a long-polling {@code GET ?min_revision=A+1}, where A is the
   * highest revision any instance has applied now, so each instance answers the moment it applies
   * the next write (the one about to be made). Completes with the nanoTime the expected answer
   * arrived, or -1 when the instance answered something else or nothing within the bound.
   */
  private List<CompletableFuture<Long>> watchUntil(
      List<ServerProcess> nodes, String key, String body, int status) throws Exception {
    long applied = 0;
    for (ServerProcess n : nodes) {
      HttpResponse<String> r = send("GET", n.url() + "/config/" + key, null);
      applied = Math.max(applied, r.headers().firstValueAsLong("X-Lockstep-Applied").orElse(0));
    }
    long next = applied + 1;
    List<CompletableFuture<Long>> out = new ArrayList<>();
    for (ServerProcess n : nodes) {
      out.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  HttpResponse<String> r =
                      send("GET", n.url() + "/config/" + key + "?min_revision=" + next, null);
                  long at = System.nanoTime();
                  return r.statusCode() == status && (body == null || body.equals(r.body()))
                      ? at
                      : -1L;
                } catch (Exception e) {
                  return -1L;
                }
              },
              pollers));
    }
    Thread.sleep(50); // let every long poll reach its server before the write is made
    return out;
  }

  private void report(
      List<ServerProcess> nodes, List<CompletableFuture<Long>> seen, long start, String what) {
    for (int i = 0; i < nodes.size(); i++) {
      long at = seen.get(i).join();
      if (at < 0) {
        out.printf("   %-12s did NOT %s within the wait bound%n", nodes.get(i).id(), what);
      } else {
        out.printf(
            "   %-12s %s after %.2f ms%n", nodes.get(i).id(), what, Math.max(0, at - start) / 1e6);
      }
    }
  }

  private HttpResponse<String> send(String method, String url, String body) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(5))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> sendIfMatch(String url, String body, String revision)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(5))
            .header("Content-Type", "application/json")
            .header("If-Match", revision)
            .PUT(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
