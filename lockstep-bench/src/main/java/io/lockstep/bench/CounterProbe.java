package io.lockstep.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Increments per second: {@code clients} threads each send {@code POST /counters/<name>?by=1}
 * round-robin over the targets for the duration, one at a time. Afterwards the counter's value is
 * read back and must have grown by exactly the number of acknowledged increments (with none lost
 * and none counted twice, as long as no request failed).
 */
public final class CounterProbe {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What it measured; {@code exact} is false when the counter moved by anything else than {@code
   * acknowledged}.
   */
  public record Result(
      long acknowledged,
      long failed,
      double seconds,
      Histogram latencyMicros,
      long before,
      long after,
      boolean exact) {
    public double perSecond() {
      return acknowledged / seconds;
    }
  }

  private CounterProbe() {}

  public static Result run(
      List<URI> targets, String name, int clients, Duration duration, String authToken)
      throws InterruptedException {
    HttpCalls http = new HttpCalls(authToken, Duration.ofSeconds(30));
    long before = value(http, targets.get(0), name);
    Histogram latency = new ConcurrentHistogram(3);
    AtomicLong acked = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicLong next = new AtomicLong();
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    while (System.nanoTime() < end) {
                      URI t =
                          targets.get(
                              (int) Math.floorMod(next.getAndIncrement(), (long) targets.size()));
                      HttpCalls.Answer a =
                          http.send(
                              "POST", URI.create(base(t) + "/counters/" + name + "?by=1"), null);
                      if (a.status() == 200) {
                        acked.incrementAndGet();
                        latency.recordValue(a.micros());
                      } else {
                        failed.incrementAndGet();
                      }
                    }
                  }));
    }
    for (Thread t : threads) {
      t.join();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long after = value(http, targets.get(0), name);
    return new Result(
        acked.get(),
        failed.get(),
        seconds,
        latency,
        before,
        after,
        failed.get() == 0 && after - before == acked.get());
  }

  private static String base(URI t) {
    return t.toString().replaceAll("/+$", "");
  }

  private static long value(HttpCalls http, URI target, String name) {
    HttpCalls.Answer a = http.send("GET", URI.create(base(target) + "/counters/" + name), null);
    if (a.status() != 200) {
      throw new IllegalStateException(
          "GET /counters/" + name + " on " + target + " answered " + a.status() + " " + a.body());
    }
    try {
      return JSON.readTree(a.body()).get("value").asLong();
    } catch (Exception e) {
      throw new IllegalStateException("GET /counters/" + name + " answered " + a.body(), e);
    }
  }
}
