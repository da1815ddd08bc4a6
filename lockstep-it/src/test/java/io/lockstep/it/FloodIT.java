package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockstep.process.EtcdProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Anonymous floods against one real {@code serve} process with a 128 MiB heap, over a real etcd:
 * each must leave the live heap (after a full GC, read with {@code jcmd}) less than 8 MiB larger
 * than before, and the instance answering {@code /health/ready} and a read quickly afterwards.
 *
 * <p>Each flood lasts {@code -Dlockstep.flood.seconds} (default 25, what CI runs: about 90 s for
 * the class with start-up and the measurements).
 */
class FloodIT {
  static final long MAX_GROWTH = 8L << 20;
  static final Duration FLOOD = Duration.ofSeconds(Long.getLong("lockstep.flood.seconds", 25));
  static final Duration HEADER_TIMEOUT = Duration.ofSeconds(5);
  static EtcdProcess etcd;
  static ServerCluster cluster;
  static ServerProcess server;
  static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(2))
          .build();

  @BeforeAll
  static void start() {
    etcd = new EtcdProcess();
    cluster =
        ServerCluster.builder(etcd.backendUri())
            .instances(1)
            .keyPrefix("flood-" + UUID.randomUUID().toString().substring(0, 8))
            .javaOptions("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k")
            .args("--max-wait", "250ms", "--header-timeout", HEADER_TIMEOUT.toMillis() + "ms")
            .start();
    server = cluster.node(0);
    assertThat(Http.put(server.url(), "k", "\"v\"").status()).isEqualTo(200);
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  long before;

  @BeforeEach
  void measure() throws Exception {
    before = liveHeap();
  }

  @AfterEach
  void stillServing() throws Exception {
    long after = liveHeap();
    System.out.printf(
        "FloodIT: live heap %d KiB before, %d KiB after (%+d KiB)%n",
        before >> 10, after >> 10, (after - before) >> 10);
    assertThat(after - before)
        .as("live heap growth (before %d, after %d bytes)\n%s", before, after, server.logTail())
        .isLessThan(MAX_GROWTH);
    assertQuick("/health/ready", 200);
    assertQuick("/config/k", 200);
  }

  @Test
  void farFutureMinRevisionReads_from64Clients() throws Exception {
    AtomicLong answers = new AtomicLong();
    flood(
        64,
        () -> {
          long rev = ThreadLocalRandom.current().nextLong(1L << 40, Long.MAX_VALUE);
          int status = get("/config/k?min_revision=" + rev);
          assertThat(status).isIn(503, 504);
          answers.incrementAndGet();
        });
    System.out.println("FloodIT: " + answers.get() + " far-future reads answered");
    assertThat(answers.get()).isPositive();
  }

  @Test
  void randomCounterNames() throws Exception {
    AtomicLong answers = new AtomicLong();
    flood(
        16,
        () -> {
          int status = get("/counters/n" + UUID.randomUUID().toString().replace("-", ""));
          assertThat(status).isEqualTo(200);
          answers.incrementAndGet();
        });
    System.out.println("FloodIT: " + answers.get() + " random counter names read");
    assertThat(answers.get()).isPositive();
  }

  @Test
  void slowloris_200Connections_areClosedWithinTheBound_whileOthersAreServed() throws Exception {
    List<Socket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < 200; i++) {
        Socket s = new Socket("127.0.0.1", server.port());
        s.setSoTimeout(1);
        s.getOutputStream()
            .write("GET /config/k HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
        sockets.add(s);
      }
      long start = System.nanoTime();
      long bound = HEADER_TIMEOUT.plusSeconds(3).toNanos(); // the bound, a sweep, and slack
      long deadline = start + Math.max(FLOOD.toNanos(), bound + TimeUnit.SECONDS.toNanos(1));
      int open = sockets.size();
      while (System.nanoTime() < deadline && open > 0) {
        open = 0;
        for (Socket s : sockets) {
          if (s.isClosed()) {
            continue;
          }
          if (closedByPeer(s)) {
            s.close();
            continue;
          }
          open++;
        }
        assertThat(open == 0 || System.nanoTime() - start < bound)
            .as(
                "%d slow connections still open after %d ms",
                open, (System.nanoTime() - start) / 1_000_000)
            .isTrue();
        assertQuick("/health/ready", 200); // others are served meanwhile
        Thread.sleep(2000);
      }
      assertThat(open).isZero();
    } finally {
      for (Socket s : sockets) {
        s.close();
      }
    }
  }

  /** Sends one more header byte; true when the server has closed the connection. */
  static boolean closedByPeer(Socket s) {
    try {
      OutputStream out = s.getOutputStream();
      out.write('X');
      out.flush();
      return s.getInputStream().read() == -1;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  interface Call {
    void run() throws Exception;
  }

  static void flood(int clients, Call call) throws Exception {
    long deadline = System.nanoTime() + FLOOD.toNanos();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<java.util.concurrent.Future<?>> all = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      all.add(
          pool.submit(
              () -> {
                while (System.nanoTime() < deadline) {
                  call.run();
                }
                return null;
              }));
    }
    pool.shutdown();
    for (java.util.concurrent.Future<?> f : all) {
      f.get(FLOOD.toSeconds() + 60, TimeUnit.SECONDS);
    }
  }

  static int get(String path) throws Exception {
    HttpRequest r =
        HttpRequest.newBuilder(URI.create(server.url() + path))
            .timeout(Duration.ofSeconds(10))
            .GET()
            .build();
    return HTTP.send(r, HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  static void assertQuick(String path, int status) throws Exception {
    long t0 = System.nanoTime();
    assertThat(get(path)).as(path).isEqualTo(status);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ms).as("%s answered in %d ms", path, ms).isLessThan(1000);
  }

  /**
   * A generation's figure ("DefNew total 39296K, used 361K", "Tenured ...") or the whole heap's
   * (G1); never Metaspace's, which has no total.
   */
  private static final Pattern USED =
      Pattern.compile("(?m)^\\s*[A-Za-z][A-Za-z -]*?\\s+total \\d+K, used (\\d+)K");

  /** The process's live heap: a full GC, then the used heap as jcmd reports it. */
  static long liveHeap() throws Exception {
    jcmd("GC.run");
    String info = jcmd("GC.heap_info");
    Matcher m = USED.matcher(info);
    long used = 0;
    boolean found = false;
    while (m.find()) {
      used += Long.parseLong(m.group(1)) << 10;
      found = true;
    }
    if (!found) {
      throw new IllegalStateException("no 'used' figure in GC.heap_info:\n" + info);
    }
    return used;
  }

  static String jcmd(String command) throws Exception {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p =
        new ProcessBuilder(jcmd.toString(), Long.toString(server.pid()), command)
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("jcmd " + command + " failed:\n" + out);
    }
    return out;
  }
}
