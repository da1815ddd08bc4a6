package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.bench.History;
import io.lockstep.it.ChaosModel.Outcome;
import io.lockstep.process.ServerProcess;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The chaos suite: per backend, three server processes take seeded random operations (puts,
 * deletes, compare-and-sets, counter increments, memory reads) through random instances while a
 * seeded fault schedule runs (kill -9 and restart of an instance, SIGSTOP/SIGCONT, the backend
 * restarted, a partition, connections to the backend reset mid-command). Then everything is healed,
 * and:
 *
 * <ul>
 *   <li>every instance's key → (value, revision) equals the source's, read by value: the source
 *       with strong reads ({@code use_cache=false}), each instance's memory with its {@code GET
 *       /config} listing and memory reads;
 *   <li>the source holds, per key, what the answers allow ({@link ChaosModel}): the last certain
 *       write or an ambiguous one;
 *   <li>each counter is at least its acknowledged increments, at most those plus the ambiguous;
 *   <li>no instance served a key at an older revision after a newer one, nor its applied revision
 *       going back, within one process's life (lockstep-bench's {@link History}).
 * </ul>
 *
 * <p>Settings: {@code -Dchaos.seed=N} (default: new each run, printed first and in every failure),
 * {@code -Dchaos.duration=30s} (the schedule's length), {@code -Dchaos.backends=etcd,redis,peer},
 * {@code -Dchaos.historyResetFaults=true} (the default: also faults that reset the source's
 * history, see {@link ChaosBackend}; after one, the acknowledged-write and counter checks allow
 * what the source may have lost, see {@link ChaosModel}). The same seed makes the same decisions
 * (faults, their order and holds, every client's operations); timing, hence answers, may differ.
 */
class ChaosIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int CLIENTS = 4;
  private static final int KEYS_PER_CLIENT = 5;
  private static final int COUNTERS = 2;

  private static final long SEED =
      Long.getLong("chaos.seed", System.nanoTime() ^ System.currentTimeMillis());
  private static final Duration DURATION =
      Duration.parse("PT" + System.getProperty("chaos.duration", "20s").toUpperCase(Locale.ROOT));
  private static final boolean HISTORY_RESET_FAULTS =
      Boolean.parseBoolean(System.getProperty("chaos.historyResetFaults", "true"));
  private static final List<String> BACKENDS =
      List.of(System.getProperty("chaos.backends", "etcd,redis,peer").split(","));

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"etcd", "redis", "peer"})
  void randomOperations_underSeededFaults_converge_keepAcknowledgedWrites_readMonotonic(
      String backendName) throws Exception {
    if (!BACKENDS.contains(backendName)) {
      System.out.println("chaos: " + backendName + " not in -Dchaos.backends=" + BACKENDS);
      return;
    }
    long seed = SEED ^ backendName.hashCode();
    String tag = "chaos seed=" + SEED + " backend=" + backendName;
    System.out.println(
        tag
            + ": starting, duration "
            + DURATION
            + ", historyResetFaults="
            + HISTORY_RESET_FAULTS
            + " (re-run: -Dchaos.seed="
            + SEED
            + " -Dchaos.backends="
            + backendName
            + ")");
    long t0 = System.nanoTime();
    String prefix = "chaos-" + Long.toHexString(seed & 0xffffffL);
    try (ChaosBackend backend = ChaosBackend.named(backendName)) {
      Run run = null;
      try {
        backend.start(prefix);
        run = new Run(backend, seed, tag, prefix);
        System.out.println(tag + ": started in " + seconds(t0) + " s");
        run.go();
        System.out.println(tag + ": done in " + seconds(t0) + " s; " + run.summary());
      } catch (Exception | AssertionError e) {
        throw new AssertionError(
            tag
                + ": "
                + e.getMessage()
                + "\nfaults: "
                + (run == null ? "none (failed to start)" : run.faultLog)
                + "\n"
                + (backend.cluster == null ? "" : backend.cluster.logTails())
                + backend.backendLog(),
            e);
      }
    }
  }

  private static String seconds(long t0) {
    return String.format("%.1f", (System.nanoTime() - t0) / 1e9);
  }

  /** One backend's run: clients, the fault schedule, and the checks. */
  private static final class Run {
    final ChaosBackend backend;
    final List<ServerProcess> nodes;
    final long seed;
    final String tag;
    final String counterPrefix;
    final ChaosModel model = new ChaosModel();
    final History history = new History();
    final AtomicIntegerArray incarnation = new AtomicIntegerArray(3);
    final AtomicBoolean stop = new AtomicBoolean();

    /** How many faults so far reset the source's history; reads are checked per history. */
    final java.util.concurrent.atomic.AtomicInteger histories =
        new java.util.concurrent.atomic.AtomicInteger();

    final ConcurrentLinkedQueue<String> surprises = new ConcurrentLinkedQueue<>();
    final List<String> faultLog = Collections.synchronizedList(new ArrayList<>());
    final Map<String, Integer> ambiguousMessages = new java.util.concurrent.ConcurrentHashMap<>();
    int ops;

    Run(ChaosBackend backend, long seed, String tag, String prefix) {
      this.backend = backend;
      this.nodes = backend.cluster.nodes();
      this.seed = seed;
      this.tag = tag;
      this.counterPrefix = prefix;
    }

    String summary() {
      return ops
          + " operations "
          + model.tally()
          + ", "
          + history.size()
          + " reads checked, faults "
          + faultLog
          + ", ambiguous answers "
          + ambiguousMessages;
    }

    void go() throws Exception {
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
      List<Future<Integer>> clients = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        int client = c;
        for (int k = 0; k < KEYS_PER_CLIENT; k++) {
          model.key(key(client, k));
        }
        clients.add(pool.submit(() -> client(client, new Random(seed * 31 + client))));
      }
      try {
        schedule(new Random(seed));
      } finally {
        backend.healAll();
        stop.set(true);
        pool.shutdown();
      }
      for (Future<Integer> f : clients) {
        ops += f.get(2, TimeUnit.MINUTES);
      }
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      check();
    }

    // -------------------------------------------------------------------------------------------
    // The fault schedule
    // -------------------------------------------------------------------------------------------

    List<ChaosBackend.Fault> faults() {
      List<ChaosBackend.Fault> all = new ArrayList<>();
      all.add(
          new ChaosBackend.Fault(
              "kill9-restart",
              false,
              r -> {
                int i = r.nextInt(nodes.size());
                incarnation.incrementAndGet(i);
                nodes.get(i).kill();
                ChaosBackend.hold(r, 0, 1500);
                nodes.get(i).start().awaitReady(ChaosBackend.READY);
              }));
      all.add(
          new ChaosBackend.Fault(
              "sigstop",
              false,
              r -> {
                ServerProcess n = nodes.get(r.nextInt(nodes.size()));
                n.pause();
                try {
                  ChaosBackend.hold(r, 500, 4000);
                } finally {
                  n.resume();
                }
              }));
      for (ChaosBackend.Fault f : backend.faults()) {
        if (!f.resetsHistory() || HISTORY_RESET_FAULTS) {
          all.add(f);
        }
      }
      return all;
    }

    /**
     * Every fault once in a seeded order, then seeded picks, with seeded gaps, until the duration
     * has passed (a fault started keeps its hold). One fault at a time, so the peer backend keeps a
     * majority.
     */
    void schedule(Random r) throws Exception {
      List<ChaosBackend.Fault> faults = faults();
      List<ChaosBackend.Fault> order = new ArrayList<>(faults);
      Collections.shuffle(order, r);
      long end = System.nanoTime() + DURATION.toNanos();
      for (int i = 0; System.nanoTime() < end; i++) {
        ChaosBackend.hold(r, 300, 1500);
        ChaosBackend.Fault f =
            i < order.size() ? order.get(i) : faults.get(r.nextInt(faults.size()));
        long t = System.nanoTime();
        if (f.resetsHistory()) {
          histories.incrementAndGet();
        }
        f.action().run(r);
        if (f.resetsHistory()) {
          model.reset(System.nanoTime());
        }
        faultLog.add(f.name() + "(" + (System.nanoTime() - t) / 1_000_000 + "ms)");
      }
    }

    // -------------------------------------------------------------------------------------------
    // The clients
    // -------------------------------------------------------------------------------------------

    static String key(int client, int k) {
      return "k" + client + "-" + k;
    }

    /** One client: its own keys, in order; returns how many operations it made. */
    int client(int client, Random r) throws InterruptedException {
      Map<String, Long> known = new HashMap<>(); // last revision this client learned per key
      int n = 0;
      while (!stop.get()) {
        n++;
        long sent = System.nanoTime();
        int i = r.nextInt(nodes.size());
        String url = nodes.get(i).url();
        String key = key(client, r.nextInt(KEYS_PER_CLIENT));
        String value = "\"s" + Long.toHexString(seed) + "-c" + client + "-" + n + "\"";
        int dice = r.nextInt(100);
        String counter = counterPrefix + "-" + r.nextInt(COUNTERS);
        int status = -1;
        try {
          if (dice < 30) {
            status = write(key, "put", value, sent, known, Http.put(url, key, value));
          } else if (dice < 42) {
            status = write(key, "delete", null, sent, known, Http.delete(url, key));
          } else if (dice < 60) {
            long rev = known.getOrDefault(key, 0L);
            status =
                write(
                    key,
                    "cas@" + rev,
                    value,
                    sent,
                    known,
                    Http.put(url, key, value, "If-Match", Long.toString(rev)));
          } else if (dice < 75) {
            Http.Resp resp = Http.raw(url, "POST", "/counters/" + counter + "?by=1", null);
            model.increment(counter, sent, outcome("increment " + counter, resp));
            status = resp.status();
          } else {
            status = read(i, url, key);
          }
        } catch (UncheckedIOException e) {
          // no answer: refused (the instance is down: nothing sent), or lost after it was sent
          boolean reached =
              !(e.getCause() instanceof java.net.ConnectException
                  || e.getCause() instanceof java.net.http.HttpConnectTimeoutException);
          Outcome o = reached ? Outcome.MAYBE : Outcome.NONE;
          if (dice < 60) {
            model.write(
                key,
                new ChaosModel.Write(
                    dice < 30 ? "put" : dice < 42 ? "delete" : "cas",
                    dice < 30 || dice >= 42 ? value : null,
                    -1,
                    o,
                    -1,
                    sent));
          } else if (dice < 75) {
            model.increment(counter, sent, o);
          }
        }
        if (status == -1 || status == 503) {
          // the backend or the instance is down: slow down rather than pile up ambiguous answers
          // (a fixed pause, so the seeded decisions stay the same)
          Thread.sleep(100);
        }
      }
      return n;
    }

    int write(
        String key, String op, String value, long sent, Map<String, Long> known, Http.Resp resp) {
      Outcome o = outcome(op + " " + key, resp);
      if (resp.status() == 404 && op.equals("delete")) {
        o = Outcome.CERTAIN; // nothing to delete: the key is absent
      }
      if (o == Outcome.CERTAIN) {
        known.put(key, value == null ? 0L : resp.revision());
      } else if (resp.status() == 412) {
        known.put(key, Math.max(0, resp.revision()));
      }
      model.write(
          key,
          new ChaosModel.Write(
              op, value, resp.status(), o, o == Outcome.CERTAIN ? resp.revision() : -1, sent));
      return resp.status();
    }

    Outcome outcome(String what, Http.Resp resp) {
      return switch (resp.status()) {
        case 200, 204, 504 -> Outcome.CERTAIN;
        case 404, 412 -> Outcome.NONE;
        // the write committed, but its revision belongs to a history the source then lost while
        // this instance waited to apply it (docs/http-api.md): it may or may not be held now
        case 410 -> Outcome.MAYBE;
        // the backend may have committed it, its answer was lost (500, not a 503 a proxy retries)
        case 500 -> {
          if (resp.body().contains("\"outcome_unknown\"")) {
            ambiguousMessages.merge(
                what.replaceAll("[@ ].*", "")
                    + ": "
                    + resp.body().replaceAll("[0-9]+", "N").replaceAll(".*\"message\":\"", ""),
                1,
                Integer::sum);
          } else {
            surprises.add(what + " -> " + resp.status() + " " + resp.body());
          }
          yield Outcome.MAYBE;
        }
        case 503 -> {
          if (resp.body().contains("may or may not have been committed")) {
            ambiguousMessages.merge(
                what.replaceAll("[@ ].*", "")
                    + ": "
                    + resp.body().replaceAll("[0-9]+", "N").replaceAll(".*\"message\":\"", ""),
                1,
                Integer::sum);
            yield Outcome.MAYBE;
          }
          yield Outcome.NONE;
        }
        default -> {
          surprises.add(what + " -> " + resp.status() + " " + resp.body());
          yield Outcome.MAYBE;
        }
      };
    }

    /**
     * A memory read, recorded per instance life and per history the instance was on: its {@code
     * resets} in {@code /stats} before and after the read (a read across a reset is not recorded;
     * the instance learns of a reset after the fault, so the fault's own time cannot tell).
     */
    int read(int i, String url, String key) {
      long resetsBefore = resets(url);
      long start = System.nanoTime();
      Http.Resp resp = Http.get(url, key, "");
      long end = System.nanoTime();
      long resetsAfter = resets(url);
      String instance = nodes.get(i).id() + "#" + incarnation.get(i) + "#" + resetsAfter;
      if (resetsBefore != resetsAfter || resetsBefore < 0) {
        return resp.status();
      }
      if (resp.status() == 200 || resp.status() == 404) {
        history.record(
            new History.Read(
                instance,
                key,
                start,
                end,
                resp.status() == 200 ? resp.revision() : -1,
                resp.applied(),
                -1,
                History.Expect.NOTHING));
      } else if (resp.status() != 503) {
        surprises.add("read " + key + " -> " + resp.status() + " " + resp.body());
      }
      return resp.status();
    }

    /** The instance's count of history resets, or -1 when it does not answer. */
    static long resets(String url) {
      try {
        Http.Resp stats = Http.raw(url, "GET", "/stats", null);
        return stats.status() == 200 ? JSON.readTree(stats.body()).path("resets").asLong(-1) : -1;
      } catch (UncheckedIOException | java.io.IOException e) {
        return -1;
      }
    }

    // -------------------------------------------------------------------------------------------
    // The checks
    // -------------------------------------------------------------------------------------------

    record Entry(String value, long revision) {}

    /** The source's map, by strong reads through any instance that answers. */
    Map<String, Entry> source() {
      Map<String, Entry> out = new TreeMap<>();
      int i = 0;
      for (String key : model.keys()) {
        Http.Resp resp = Http.get(nodes.get(i++ % nodes.size()).url(), key, "use_cache=false");
        assertThat(resp.status()).as("strong read of %s: %s", key, resp.body()).isIn(200, 404);
        if (resp.status() == 200) {
          out.put(key, new Entry(resp.body(), resp.revision()));
        }
      }
      return out;
    }

    /** One instance's memory: its listing, then a memory read of each key listed. */
    static Map<String, Entry> memory(ServerProcess n) throws Exception {
      Http.Resp list = Http.raw(n.url(), "GET", "/config?limit=10000", null);
      assertThat(list.status()).as("listing on %s: %s", n.id(), list.body()).isEqualTo(200);
      Map<String, Entry> out = new TreeMap<>();
      for (JsonNode k : JSON.readTree(list.body()).get("keys")) {
        String key = k.get("key").asText();
        Http.Resp resp = Http.get(n.url(), key, "use_cache=true");
        out.put(
            key, new Entry(resp.status() == 200 ? resp.body() : null, k.get("revision").asLong()));
      }
      return out;
    }

    void check() throws Exception {
      Map<String, Entry> source = new TreeMap<>();
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(500))
          .ignoreExceptions()
          .untilAsserted(
              () -> {
                Map<String, Entry> s = source();
                for (ServerProcess n : nodes) {
                  assertThat(memory(n))
                      .as("%s: memory of %s equals the source", tag, n.id())
                      .isEqualTo(s);
                }
                source.clear();
                source.putAll(s);
              });

      if (model.hadResets()) {
        // What was sent before a reset may be lost: the model allows it (ChaosModel#reset).
        System.out.println(
            tag + ": the source's history was reset " + histories.get() + " time(s)");
      }
      List<String> lost = new ArrayList<>();
      for (String key : model.keys()) {
        Entry e = source.get(key);
        String held = e == null ? null : e.value();
        long revision = model.revisionOf(key, held);
        if (e != null && revision > 0 && e.revision() != revision) {
          lost.add(
              key
                  + ": source holds the last acknowledged value "
                  + held
                  + " at revision "
                  + e.revision()
                  + ", acknowledged at "
                  + revision
                  + "\n    "
                  + model.history(key));
        }
        if (!model.allowed(key).contains(held)) {
          lost.add(
              key
                  + ": source holds "
                  + held
                  + ", allowed "
                  + model.allowed(key)
                  + "\n    "
                  + model.history(key));
        }
      }
      assertThat(lost).as("%s: keys whose source value no answer allows", tag).isEmpty();

      for (String counter : model.counters()) {
        Http.Resp resp = Http.raw(nodes.get(0).url(), "GET", "/counters/" + counter, null);
        assertThat(resp.status())
            .as("%s: counter %s: %s", tag, counter, resp.body())
            .isEqualTo(200);
        long value = JSON.readTree(resp.body()).get("value").asLong();
        assertThat(value)
            .as(
                "%s: counter %s: between %d (acknowledged since the last reset) and %d"
                    + " (acknowledged or ambiguous)",
                tag, counter, model.atLeast(counter), model.atMost(counter))
            .isBetween(model.atLeast(counter), model.atMost(counter));
      }

      assertThat(
              model.tally().entrySet().stream()
                  .filter(e -> e.getKey().startsWith("CERTAIN"))
                  .mapToInt(Map.Entry::getValue)
                  .sum())
          .as("%s: acknowledged writes (a run where nothing succeeds checks nothing)", tag)
          .isGreaterThanOrEqualTo(50);
      assertThat(history.size()).as("%s: memory reads recorded", tag).isGreaterThanOrEqualTo(50);
      assertThat(history.check()).as("%s: read history violations", tag).isEmpty();
      assertThat(surprises).as("%s: unexpected answers", tag).isEmpty();
    }
  }
}
