package io.lockstep.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs the locust-style workload: simulated users on virtual threads, spawned at a fixed rate, each
 * looping through its scenario until the duration ends, their requests sent round-robin across the
 * targets as a load balancer would.
 *
 * <p>A request fails when its status is not the one expected (200 for PUT and GET, 204 for DELETE,
 * 404 for the strict scenario's GET after a delete), when no answer came, or when a GET's body is
 * not what the user wrote ({@code {"test": value}}). Every read from memory goes to the {@link
 * History}, whose checks run at the end.
 */
public final class LoadRun {
  static final String LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  static final String NAME = "/config/load_tests/[key]";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final BenchConfig config;
  private final HttpCalls http;
  private final RequestStats stats = new RequestStats();
  private final History history = new History();
  private final AtomicLong roundRobin = new AtomicLong();
  private final AtomicInteger running = new AtomicInteger();
  private volatile long deadline;

  private LoadRun(BenchConfig config) {
    this.config = config;
    this.http = new HttpCalls(config.authToken(), Duration.ofSeconds(30));
  }

  /**
   * Runs the workload and the history checks.
   *
   * @param progress where the live one-line progress goes (a terminal: carriage returns), or null
   */
  public static BenchResult run(BenchConfig config, PrintStream progress)
      throws InterruptedException {
    return new LoadRun(config).execute(progress);
  }

  private BenchResult execute(PrintStream progress) throws InterruptedException {
    long start = System.nanoTime();
    deadline = start + config.duration().toNanos();
    List<Thread> users = new ArrayList<>();
    Thread reporter =
        progress == null
            ? null
            : Thread.ofPlatform()
                .daemon()
                .name("bench-progress")
                .start(() -> reportProgress(progress, start));
    for (int u = 0; u < config.users(); u++) {
      long startAt = start + (long) (u / config.spawnRate() * 1e9);
      if (startAt >= deadline) {
        break;
      }
      int id = u;
      users.add(
          Thread.ofVirtual()
              .name("bench-user-" + u)
              .start(
                  () -> {
                    LockSupport.parkNanos(startAt - System.nanoTime());
                    running.incrementAndGet();
                    try {
                      user(id);
                    } finally {
                      running.decrementAndGet();
                    }
                  }));
    }
    for (Thread t : users) {
      t.join();
    }
    long elapsed = System.nanoTime() - start;
    if (reporter != null) {
      reporter.interrupt();
      reporter.join(2000);
      progress.println();
    }
    return new BenchResult(
        config, stats, history.check(), history.size(), Duration.ofNanos(elapsed), users.size());
  }

  private void reportProgress(PrintStream out, long start) {
    long lastCount = 0;
    long lastAt = start;
    while (!Thread.currentThread().isInterrupted()) {
      try {
        Thread.sleep(1000);
      } catch (InterruptedException e) {
        return;
      }
      long now = System.nanoTime();
      long count = stats.totalRequests();
      double rps = (count - lastCount) / ((now - lastAt) / 1e9);
      lastCount = count;
      lastAt = now;
      out.printf(
          "\r users %d/%d | %.0f req/s | requests %d | failures %d | %ds/%ds   ",
          running.get(),
          config.users(),
          rps,
          count,
          stats.totalFailures(),
          TimeUnit.NANOSECONDS.toSeconds(now - start),
          config.duration().toSeconds());
      out.flush();
    }
  }

  private URI next(String pathAndQuery) {
    List<URI> t = config.targets();
    URI base = t.get((int) Math.floorMod(roundRobin.getAndIncrement(), (long) t.size()));
    return URI.create(base.toString().replaceAll("/+$", "") + pathAndQuery);
  }

  private boolean timeLeft() {
    return System.nanoTime() < deadline;
  }

  /** One simulated user's loop. */
  private void user(int id) {
    Random random = new Random(config.seed() * 31 + id);
    String key = letters(random, 64);
    String value = letters(random, 32);
    boolean fromMemory = id % 2 == 0;
    String path = "/config/load_tests/" + key;
    String getName = NAME + (fromMemory ? "" : "?use_cache=false");
    while (timeLeft()) {
      if (config.scenario() == BenchConfig.Scenario.STRICT) {
        value = letters(random, 32);
      }
      String body = "{\"test\": \"" + value + "\"}";
      HttpCalls.Answer put = http.send("PUT", next(path), body);
      boolean putOk = put.status() == 200 && body.equals(put.body());
      stats.record("PUT", NAME, put.micros(), !putOk);
      long written = putOk ? put.revision() : -1;
      for (int i = 0; i < 20 && timeLeft(); i++) {
        read(path, getName, fromMemory, written, History.Expect.PRESENT, value, 200);
      }
      if (!timeLeft()) {
        break;
      }
      HttpCalls.Answer del = http.send("DELETE", next(path), null);
      boolean delOk = del.status() == 204;
      stats.record("DELETE", NAME, del.micros(), !delOk);
      if (config.scenario() == BenchConfig.Scenario.STRICT && timeLeft()) {
        read(
            path,
            getName + " (after DELETE)",
            fromMemory,
            delOk ? del.revision() : -1,
            History.Expect.ABSENT,
            null,
            404);
      }
      long pause =
          config.thinkMin().toNanos()
              + (long)
                  (random.nextDouble()
                      * (config.thinkMax().toNanos() - config.thinkMin().toNanos()));
      if (pause > 0) {
        LockSupport.parkNanos(Math.min(pause, Math.max(0, deadline - System.nanoTime())));
      }
    }
  }

  /** One GET: checks status and body, records the time and, for memory reads, the history. */
  private void read(
      String path,
      String name,
      boolean fromMemory,
      long ownWrite,
      History.Expect expect,
      String value,
      int wantStatus) {
    boolean session = config.readYourWrites() && ownWrite > 0;
    String query =
        (fromMemory ? "?use_cache=true" : "?use_cache=false")
            + (session ? "&min_revision=" + ownWrite : "");
    URI uri = next(path + query);
    HttpCalls.Answer a = http.send("GET", uri, null);
    boolean ok = a.status() == wantStatus && (value == null || value.equals(testValue(a.body())));
    stats.record("GET", name, a.micros(), !ok);
    if (fromMemory && (a.status() == 200 || a.status() == 404)) {
      String instance = uri.getScheme() + "://" + uri.getAuthority();
      history.record(
          new History.Read(
              instance,
              path.substring("/config/".length()),
              a.startNanos(),
              a.endNanos(),
              a.status() == 200 ? a.revision() : -1,
              a.applied(),
              session ? ownWrite : -1,
              session ? expect : History.Expect.NOTHING));
    }
  }

  private static String testValue(String body) {
    try {
      JsonNode n = JSON.readTree(body);
      JsonNode t = n == null ? null : n.get("test");
      return t == null ? null : t.asText();
    } catch (Exception e) {
      return null;
    }
  }

  static String letters(Random random, int n) {
    StringBuilder sb = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      sb.append(LETTERS.charAt(random.nextInt(LETTERS.length())));
    }
    return sb.toString();
  }
}
