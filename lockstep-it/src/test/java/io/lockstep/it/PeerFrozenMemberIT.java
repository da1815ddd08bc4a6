package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Issue 13: one frozen instance must not stall every write. Five real server processes on the peer
 * backend (3 voters, 2 non-voters); writers PUT 20 KB values through the Raft leader as fast as it
 * answers; one instance is frozen with SIGSTOP for 15 s (a long GC pause, a debugger, a suspended
 * VM). Every write during the freeze must be answered within a second, writes must keep completing,
 * and once thawed the frozen instance must catch up (same digest and applied revision as the
 * others). Once with a frozen non-voter, once with a frozen follower voter.
 */
class PeerFrozenMemberIT {
  private static final Duration FROZEN = Duration.ofSeconds(15);
  private static final Duration BEFORE = Duration.ofSeconds(4);
  private static final Duration AFTER = Duration.ofSeconds(5);
  private static final Duration CATCH_UP = Duration.ofSeconds(60);
  private static final int WRITERS = Integer.getInteger("lockstep.frozen.writers", 4);
  private static final int KEYS = 200;

  /** -Dlockstep.frozen.diagnose=true: keep the server logs, with the GC's. */
  private static final boolean DIAGNOSE = Boolean.getBoolean("lockstep.frozen.diagnose");

  /** ServerCluster's defaults (small heaps), and the GC's log when diagnosing. */
  private static final List<String> JAVA_OPTIONS =
      DIAGNOSE
          ? List.of(
              "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k", "-Xlog:gc")
          : List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k");

  private static final String VALUE = "\"" + "x".repeat(20 * 1024) + "\"";

  /**
   * One write: when it ended (ns since the start), how long it took, and whether it was refused.
   */
  private record Write(long endNanos, long tookNanos, boolean ok, String error) {}

  @Test
  void frozenNonVoter_writesThroughTheLeaderKeepGoing_thawedItCatchesUp() throws Exception {
    run(false);
  }

  @Test
  void frozenFollowerVoter_writesThroughTheLeaderKeepGoing_thawedItCatchesUp() throws Exception {
    run(true);
  }

  private void run(boolean freezeVoter) throws Exception {
    Path data = Files.createTempDirectory("lockstep-peer-frozen-it-");
    ExecutorService writers = Executors.newFixedThreadPool(WRITERS);
    try (ServerCluster cluster =
        PeerClusterIT.loopbackPeers(data, 5)
            .keyPrefix("peer-frozen")
            .javaOptions(JAVA_OPTIONS.toArray(String[]::new))
            .keepLogs(DIAGNOSE)
            .start()) {
      if (DIAGNOSE) {
        System.out.println("peer frozen: logs kept in " + cluster.logDir());
      }
      List<ServerProcess> all = cluster.nodes();
      assertThat(Http.put(all.get(0).url(), "hello", "1").status()).isEqualTo(200);
      PeerClusterIT.awaitEqualDigests(all, Duration.ofSeconds(30));
      int leader = PeerClusterIT.awaitLeader(all.subList(0, 3));
      ServerProcess through = all.get(leader);
      ServerProcess frozen = freezeVoter ? all.get(leader == 0 ? 1 : 0) : all.get(4);
      String what = freezeVoter ? "follower voter" : "non-voter";

      long t0 = System.nanoTime();
      AtomicBoolean stop = new AtomicBoolean();
      ConcurrentLinkedQueue<Write> done = new ConcurrentLinkedQueue<>();
      List<Future<?>> running = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        int writer = w;
        running.add(
            writers.submit(
                () -> {
                  for (int i = 0; !stop.get(); i++) {
                    String key = "v" + ((writer * 7919 + i) % KEYS);
                    long start = System.nanoTime();
                    boolean ok;
                    String error = null;
                    try {
                      Http.Resp r = Http.put(through.url(), key, VALUE);
                      ok = r.status() == 200;
                      if (!ok) {
                        error = r.status() + " " + r.body();
                      }
                    } catch (RuntimeException e) {
                      ok = false;
                      error = e.toString();
                    }
                    long end = System.nanoTime();
                    done.add(new Write(end - t0, end - start, ok, error));
                  }
                  return null;
                }));
      }

      Thread.sleep(BEFORE.toMillis());
      long frozenAt = System.nanoTime() - t0;
      frozen.pause();
      long thawedAt;
      String heap;
      try {
        Thread.sleep(FROZEN.toMillis() - 500);
        heap = heapUsed(through);
        Thread.sleep(500);
      } finally {
        frozen.resume();
        thawedAt = System.nanoTime() - t0;
      }
      Thread.sleep(AFTER.toMillis());
      stop.set(true);
      for (Future<?> f : running) {
        f.get(60, TimeUnit.SECONDS);
      }
      long stoppedAt = System.nanoTime() - t0;

      long caughtUpAt;
      try {
        PeerClusterIT.awaitEqualDigests(all, CATCH_UP);
        caughtUpAt = System.nanoTime() - t0;
      } catch (AssertionError e) {
        throw new AssertionError(
            "the thawed " + what + " " + frozen.id() + " did not catch up\n" + cluster.logTails(),
            e);
      }
      JsonNode frozenStats = PeerClusterIT.stats(frozen);

      Phase before = Phase.of(done, 0, frozenAt);
      Phase during = Phase.of(done, frozenAt, thawedAt);
      Phase after = Phase.of(done, thawedAt, stoppedAt);
      System.out.printf(
          "peer frozen %s (%s, %d writers of 20 KB through the leader %s):%n"
              + "  before: %s%n  frozen: %s%n  thawed: %s%n"
              + "  caught up %.1f s after the thaw (%.1f s after the writers stopped), applied %d%n"
              + "  the leader's heap near the end of the freeze: %s%n",
          what,
          frozen.id(),
          WRITERS,
          through.id(),
          before,
          during,
          after,
          (caughtUpAt - thawedAt) / 1e9,
          (caughtUpAt - stoppedAt) / 1e9,
          frozenStats.get("appliedRevision").asLong(),
          heap);
      Files.writeString(
          Path.of("target", "peer-frozen-" + (freezeVoter ? "voter" : "non-voter") + ".txt"),
          "before: " + before + "\nfrozen: " + during + "\nthawed: " + after + "\n");

      assertThat(during.failed).as("writes refused during the freeze: %s", during.errors).isZero();
      assertThat(during.count).as("writes completed during the freeze").isGreaterThan(30);
      assertThat(during.maxMillis).as("slowest write during the freeze (ms)").isLessThan(1000);
      assertThat(during.maxGapMillis)
          .as("longest time without a completed write during the freeze (ms)")
          .isLessThan(1000);
      assertThat(before.failed + after.failed)
          .as("writes refused before or after: %s %s", before.errors, after.errors)
          .isZero();
      assertThat(frozen.isAlive()).isTrue();
    } finally {
      writers.shutdownNow();
      TempDirs.deleteTree(data);
    }
  }

  /** The heap summary of a server process (jcmd GC.heap_info), for the report. */
  private static String heapUsed(ServerProcess p) {
    try {
      Process jcmd =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                  Long.toString(p.pid()),
                  "GC.heap_info")
              .redirectErrorStream(true)
              .start();
      String out = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      jcmd.waitFor(10, TimeUnit.SECONDS);
      List<String> used = new ArrayList<>();
      out.lines()
          .filter(l -> l.contains("total") && l.contains("used"))
          .forEach(l -> used.add(l.trim().replaceAll(" *\\[.*", "")));
      return used.isEmpty() ? out.trim() : String.join("; ", used);
    } catch (Exception e) {
      return "unknown (" + e + ")";
    }
  }

  /** What the writers saw in one span of time: writes that ended in it. */
  private static final class Phase {
    int count;
    int failed;
    long maxMillis;
    long maxGapMillis;
    double slowestAt; // seconds into the phase when the slowest write ended
    double seconds;
    final List<String> errors = new ArrayList<>();

    static Phase of(Iterable<Write> writes, long from, long to) {
      Phase p = new Phase();
      p.seconds = (to - from) / 1e9;
      List<Long> ends = new ArrayList<>();
      ends.add(from);
      for (Write w : writes) {
        if (w.endNanos() < from || w.endNanos() >= to) {
          continue;
        }
        p.count++;
        if (!w.ok()) {
          p.failed++;
          if (p.errors.size() < 3) {
            p.errors.add(w.error());
          }
        } else {
          ends.add(w.endNanos());
        }
        long took = TimeUnit.NANOSECONDS.toMillis(w.tookNanos());
        if (took > p.maxMillis) {
          p.maxMillis = took;
          p.slowestAt = (w.endNanos() - from) / 1e9;
        }
      }
      ends.add(to);
      ends.sort(null);
      for (int i = 1; i < ends.size(); i++) {
        p.maxGapMillis =
            Math.max(p.maxGapMillis, TimeUnit.NANOSECONDS.toMillis(ends.get(i) - ends.get(i - 1)));
      }
      return p;
    }

    @Override
    public String toString() {
      return String.format(
          "%d writes in %.1f s (%.0f/s), %d refused, slowest %d ms (ended at +%.1f s),"
              + " longest gap %d ms",
          count, seconds, count / seconds, failed, maxMillis, slowestAt, maxGapMillis);
    }
  }
}
