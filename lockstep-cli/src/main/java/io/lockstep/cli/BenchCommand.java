package io.lockstep.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lockstep.bench.BenchConfig;
import io.lockstep.bench.BenchResult;
import io.lockstep.bench.LoadRun;
import io.lockstep.bench.PropagationProbe;
import io.lockstep.bench.Report;
import io.lockstep.process.ServerProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lockstep bench}: the etcd cache lab's load test against any set of instances, plus what it
 * cannot see: propagation time and stale reads. Exits 0 when nothing failed and the history checks
 * held, 1 otherwise.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description =
        "Runs the etcd cache lab's locust workload (scenario lab), or a strict variant that a stale cache "
            + "fails, round-robin across the targets, then prints the locust-style table and checks the history of "
            + "reads (no instance went back in time; min_revision was honoured). With --probe propagation it measures "
            + "write-to-visible latency instead. Writes bench.csv and bench.json to --out.")
public final class BenchCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(
      names = "--targets",
      paramLabel = "URL",
      split = ",",
      description = "Instances to load, comma separated.")
  List<URI> targets = new ArrayList<>();

  @Option(
      names = "--spawn-local",
      paramLabel = "N",
      description =
          "Start N local instances for the run and stop them afterwards (instead of --targets).")
  int spawnLocal;

  @Option(
      names = "--backend",
      paramLabel = "URI",
      defaultValue = LocalCluster.DEFAULT,
      description =
          "With --spawn-local: peer (embedded), etcd (a throwaway etcd) or a backend URI. Default: ${DEFAULT-VALUE}.")
  String backend;

  @Option(
      names = "--users",
      defaultValue = "40",
      description = "Simulated users. Default: ${DEFAULT-VALUE}.")
  int users;

  @Option(
      names = "--spawn-rate",
      defaultValue = "10",
      description = "Users started per second. Default: ${DEFAULT-VALUE}.")
  double spawnRate;

  @Option(
      names = "--duration",
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = DurationConverter.class,
      description =
          "How long the load (or the probe) runs, e.g. 20s, 3m. Default: ${DEFAULT-VALUE}.")
  Duration duration;

  @Option(
      names = "--seed",
      description = "Seed of keys, values and think times. Default: random (printed).")
  Long seed;

  @Option(
      names = "--scenario",
      defaultValue = "lab",
      description =
          "lab (the lab's locust test) or strict (values change every cycle; a GET after each DELETE must answer 404). Default: ${DEFAULT-VALUE}.")
  String scenario;

  @Option(
      names = "--think-min",
      paramLabel = "DURATION",
      defaultValue = "500ms",
      converter = DurationConverter.class,
      description =
          "Shortest pause between a user's cycles; 0ms for none. Default: ${DEFAULT-VALUE}.")
  Duration thinkMin;

  @Option(
      names = "--think-max",
      paramLabel = "DURATION",
      defaultValue = "2s",
      converter = DurationConverter.class,
      description = "Longest pause between a user's cycles. Default: ${DEFAULT-VALUE}.")
  Duration thinkMax;

  @Option(
      names = "--no-read-your-writes",
      negatable = false,
      description =
          "Do not send min_revision with a user's reads after its own write (by default it does, so a read "
              + "that lands on another instance still sees the write).")
  boolean noReadYourWrites;

  @Option(
      names = "--probe",
      paramLabel = "KIND",
      description =
          "propagation: measure write-to-visible latency instead of the load;"
              + " counters: measure increments/s (POST /counters/bench, --users clients) and check the total is exact.")
  String probe;

  @Option(
      names = "--probe-rate",
      defaultValue = "20",
      description = "Probe writes per second. Default: ${DEFAULT-VALUE}.")
  double probeRate;

  @Option(
      names = "--warmup",
      paramLabel = "DURATION",
      defaultValue = "5s",
      converter = DurationConverter.class,
      description =
          "Probe writes made first and not measured, so fresh JVMs are warm. Default: ${DEFAULT-VALUE}.")
  Duration warmup;

  @Option(
      names = "--counter-batch",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "With --spawn-local: start the servers with this --counter-batch window (e.g. 5ms).")
  Duration counterBatch;

  @Option(
      names = "--auth-token",
      paramLabel = "TOKEN",
      defaultValue = "${env:LOCKSTEP_AUTH_TOKEN}",
      description =
          "Bearer token sent on every request, for servers with access tokens (write scope, for"
              + " the mixes that write). Env LOCKSTEP_AUTH_TOKEN.")
  String authToken;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      defaultValue = "bench-results",
      description = "Where bench.csv and bench.json go. Default: ${DEFAULT-VALUE}.")
  Path out;

  private final PrintStream stdout = System.out;

  @Override
  public Integer call() throws Exception {
    BenchConfig.Scenario sc;
    try {
      sc = BenchConfig.Scenario.valueOf(scenario.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      System.err.println("bench: --scenario must be lab or strict, was '" + scenario + "'");
      return 2;
    }
    if (probe != null && !probe.equals("propagation") && !probe.equals("counters")) {
      System.err.println("bench: --probe must be 'propagation' or 'counters', was '" + probe + "'");
      return 2;
    }
    if (spawnLocal > 0 == !targets.isEmpty()) {
      System.err.println("bench: give either --targets URL,... or --spawn-local N");
      return 2;
    }
    long s = seed != null ? seed : ThreadLocalRandom.current().nextLong();
    if (spawnLocal == 0) {
      return run(targets, sc, s);
    }
    // Full JIT for measurements (the test harness's default stops at C1 to start quickly).
    List<String> serverArgs =
        counterBatch == null
            ? List.of()
            : List.of("--counter-batch", counterBatch.toMillis() + "ms");
    try (LocalCluster cluster =
        LocalCluster.start(
            spawnLocal,
            backend,
            "bench",
            "node-",
            List.of("-Xmx192m", "-XX:+UseSerialGC", "-Xss512k"),
            serverArgs,
            stdout)) {
      List<URI> urls = new ArrayList<>();
      for (ServerProcess p : cluster.nodes()) {
        urls.add(URI.create(p.url()));
      }
      return run(urls, sc, s);
    }
  }

  private int run(List<URI> urls, BenchConfig.Scenario sc, long s) throws Exception {
    if ("counters".equals(probe)) {
      return runCounters(urls);
    }
    return probe != null ? runProbe(urls) : runLoad(urls, sc, s);
  }

  private int runCounters(List<URI> urls) throws Exception {
    stdout.printf(
        "counters: %d clients, POST /counters/bench?by=1 round-robin over %d instances for %ds%s%n",
        users,
        urls.size(),
        duration.toSeconds(),
        counterBatch == null ? "" : ", servers batching for " + counterBatch.toMillis() + " ms");
    io.lockstep.bench.CounterProbe.Result r =
        io.lockstep.bench.CounterProbe.run(urls, "bench", users, duration, authToken);
    Histogram h = r.latencyMicros();
    stdout.printf(
        Locale.ROOT,
        "increments: %d acknowledged, %d failed, %.0f/s; latency p50 %.2f ms, p99 %.2f ms;"
            + " counter moved by %d: %s%n",
        r.acknowledged(),
        r.failed(),
        r.perSecond(),
        millis(h, 50),
        millis(h, 99),
        r.after() - r.before(),
        r.exact() ? "exact" : "NOT EXACT");
    ObjectNode json = JSON.createObjectNode();
    json.put("instances", urls.size())
        .put("clients", users)
        .put("seconds", r.seconds())
        .put("counterBatchMillis", counterBatch == null ? 0 : counterBatch.toMillis())
        .put("acknowledged", r.acknowledged())
        .put("failed", r.failed())
        .put("perSecond", r.perSecond())
        .put("exact", r.exact());
    json.set("latency", figures(h));
    writeJson("counters.json", json);
    return r.exact() ? 0 : 1;
  }

  private int runLoad(List<URI> urls, BenchConfig.Scenario sc, long s) throws Exception {
    BenchConfig cfg =
        new BenchConfig(
            urls,
            users,
            spawnRate,
            duration,
            s,
            sc,
            thinkMin,
            thinkMax,
            !noReadYourWrites,
            authToken,
            out);
    stdout.printf(
        "bench: scenario %s, %d users at %.1f/s for %ds against %d instances, seed %d%s%n",
        sc.name().toLowerCase(Locale.ROOT),
        users,
        spawnRate,
        duration.toSeconds(),
        urls.size(),
        s,
        cfg.readYourWrites() ? ", reads after own writes with min_revision" : "");
    BenchResult r = LoadRun.run(cfg, stdout);
    stdout.print(Report.table(r));
    stdout.printf(
        "history: %d reads from memory checked, %d violations%n",
        r.readsChecked(), r.violations().size());
    r.violations().stream().limit(20).forEach(v -> stdout.println("  VIOLATION " + v));
    Report.write(r, out, null);
    stdout.println("wrote " + out.resolve("bench.csv") + " and " + out.resolve("bench.json"));
    return r.passed() ? 0 : 1;
  }

  private int runProbe(List<URI> urls) throws Exception {
    stdout.printf(
        "probe: writing through %s at %.0f/s for %ds after %ds of warm-up; %d instances measured by long"
            + " polls on min_revision%n",
        urls.get(0), probeRate, duration.toSeconds(), warmup.toSeconds(), urls.size() - 1);
    PropagationProbe.Result r = PropagationProbe.run(urls, probeRate, warmup, duration, authToken);
    stdout.printf(
        "%-32s %8s %9s %9s %9s %9s%n",
        "write-to-visible (ms)", "samples", "p50", "p95", "p99", "max");
    line("writer's own write (" + urls.get(0).getPort() + ")", r.writes());
    line("all other instances", r.overall());
    for (Map.Entry<String, Histogram> e : r.perTarget().entrySet()) {
      line("  " + e.getKey(), e.getValue());
    }
    if (r.missed() > 0) {
      stdout.println("missed (no answer within the wait bound): " + r.missed());
    }
    ObjectNode json = JSON.createObjectNode();
    json.put("instances", urls.size())
        .put("ratePerSecond", probeRate)
        .put("durationSeconds", duration.toSeconds())
        .put("samples", r.samples())
        .put("missed", r.missed());
    json.set("writer", figures(r.writes()));
    json.set("overall", figures(r.overall()));
    ObjectNode per = json.putObject("perInstance");
    r.perTarget().forEach((k, v) -> per.set(k, figures(v)));
    writeJson("propagation.json", json);
    stdout.println("wrote " + out.resolve("propagation.json"));
    return r.missed() == 0 ? 0 : 1;
  }

  private void line(String label, Histogram h) {
    stdout.printf(
        Locale.ROOT,
        "%-32s %8d %9.2f %9.2f %9.2f %9.2f%n",
        label,
        h.getTotalCount(),
        millis(h, 50),
        millis(h, 95),
        millis(h, 99),
        h.getMaxValue() / 1000.0);
  }

  private static ObjectNode figures(Histogram h) {
    ObjectNode n = JSON.createObjectNode();
    n.put("count", h.getTotalCount())
        .put("p50Ms", millis(h, 50))
        .put("p95Ms", millis(h, 95))
        .put("p99Ms", millis(h, 99))
        .put("maxMs", h.getMaxValue() / 1000.0);
    return n;
  }

  /** A percentile of a histogram of microseconds, in milliseconds. */
  private static double millis(Histogram h, double percentile) {
    return h.getValueAtPercentile(percentile) / 1000.0;
  }

  /** Writes {@code json}, pretty printed, to {@code file} in {@code --out}. */
  private void writeJson(String file, ObjectNode json) throws IOException {
    Files.createDirectories(out);
    Files.writeString(
        out.resolve(file), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
  }
}
