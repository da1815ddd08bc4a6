package io.lockstep.bench;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Write-to-visible latency: writes through the first target at a fixed rate and measures when each
 * other target first serves the new value from memory.
 *
 * <p>Method: long polls, not tight polling. Before each write at revision R, every other target is
 * sent {@code GET /config/probe/latency?min_revision=P+1}, where P is the previous write's
 * revision; an instance answers such a read the moment it applies a revision at or past P+1, which
 * is this write when nothing else writes meanwhile (if something did and the answer came back below
 * R, the probe asks again with {@code min_revision=R}). The latency of a target is the time from
 * sending the write to receiving that answer, so it includes the write's own commit and one HTTP
 * round trip; the writer's own figure is the write's response time (a write returns after its
 * instance applied it).
 */
public final class PropagationProbe {
  private static final String PATH = "/config/probe/latency";

  /** Figures per target and overall, in microseconds. */
  public record Result(
      Histogram overall,
      Map<String, Histogram> perTarget,
      Histogram writes,
      long samples,
      long missed) {}

  private PropagationProbe() {}

  /**
   * Runs the probe.
   *
   * @param targets the first one is written through, the others are measured
   * @param ratePerSecond writes per second
   * @param warmup how long to write first without measuring
   * @param duration how long to measure
   * @param authToken bearer token for the writes, or null
   */
  public static Result run(
      List<URI> targets,
      double ratePerSecond,
      Duration warmup,
      Duration duration,
      String authToken) {
    if (targets.size() < 2) {
      throw new IllegalArgumentException(
          "targets: the propagation probe needs at least two, got " + targets.size());
    }
    HttpCalls http = new HttpCalls(authToken, Duration.ofSeconds(15));
    URI writer = targets.get(0);
    List<URI> readers = targets.subList(1, targets.size());
    Histogram overall = new Histogram(3);
    Histogram writes = new Histogram(3);
    Map<String, Histogram> per = new LinkedHashMap<>();
    for (URI r : readers) {
      per.put(r.toString(), new Histogram(3));
    }
    HttpCalls.Answer first = http.send("PUT", uri(writer, ""), "{\"probe\": 0}");
    if (first.status() != 200) {
      throw new IllegalStateException(
          "probe write to " + writer + " answered " + first.status() + " " + first.body());
    }
    long previous = first.revision();
    long samples = 0;
    long missed = 0;
    long interval = (long) (1e9 / ratePerSecond);
    long measureFrom = System.nanoTime() + warmup.toNanos();
    long end = measureFrom + duration.toNanos();
    for (long i = 1, next = System.nanoTime(); System.nanoTime() < end; i++) {
      boolean measuring = System.nanoTime() >= measureFrom;
      LockSupport.parkNanos(next - System.nanoTime());
      next += interval;
      long after = previous + 1;
      List<CompletableFuture<HttpCalls.Answer>> polls = new ArrayList<>();
      for (URI r : readers) {
        polls.add(http.sendAsync("GET", uri(r, "?min_revision=" + after), null));
      }
      long sent = System.nanoTime();
      HttpCalls.Answer w = http.send("PUT", uri(writer, ""), "{\"probe\": " + i + "}");
      if (w.status() != 200) {
        polls.forEach(p -> p.cancel(true));
        throw new IllegalStateException(
            "probe write to " + writer + " answered " + w.status() + " " + w.body());
      }
      long rev = w.revision();
      if (measuring) {
        writes.recordValue(w.micros());
      }
      for (int k = 0; k < readers.size(); k++) {
        HttpCalls.Answer a = polls.get(k).join();
        if (a.status() == 200
            && a.applied() >= 0
            && a.applied() < rev) { // another write came first
          a = http.send("GET", uri(readers.get(k), "?min_revision=" + rev), null);
        }
        if (!measuring) {
          continue;
        }
        if (a.status() != 200 || a.revision() < rev && a.applied() < rev) {
          missed++;
          continue;
        }
        long micros = Math.max(1, (a.endNanos() - sent) / 1000);
        overall.recordValue(micros);
        per.get(readers.get(k).toString()).recordValue(micros);
        samples++;
      }
      previous = rev;
    }
    return new Result(overall, per, writes, samples, missed);
  }

  private static URI uri(URI base, String query) {
    return URI.create(base.toString().replaceAll("/+$", "") + PATH + query);
  }
}
