package io.lockstep.jmh;

import io.lockstep.process.FreePorts;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
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
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * Cross-process hot path: sequential HTTP {@code PUT /config/<key>} on a 3-voter peer cluster of
 * {@code lockstep serve} processes ({@link ServerCluster}, the runnable jar {@code
 * lockstep-cli/target/lockstep.jar}), timed per instance, with the in-JVM peer put (three voters in
 * this JVM, {@code ReplicatedMap.put} on the leader) measured in the same run for comparison.
 *
 * <pre>
 * ./mvnw -q -DskipTests package
 * scripts/java -cp lockstep-jmh/target/benchmarks.jar io.lockstep.jmh.HttpPutProbe
 * scripts/java -cp lockstep-jmh/target/benchmarks.jar io.lockstep.jmh.HttpPutProbe \
 *     --java-options "-Xmx192m -XX:+UseSerialGC -Xss512k"
 * </pre>
 *
 * <p>Options: {@code --warmup 1000} and {@code --puts 2000} per instance, {@code --java-options
 * "..."} for the server JVMs (default: {@link ServerCluster}'s, which include {@code
 * -XX:TieredStopAtLevel=1}), {@code --no-in-jvm} to skip the in-JVM comparison, {@code --raw} to
 * send the puts over one plain keep-alive socket per instance (request written in one write, answer
 * read on the calling thread) instead of the JDK's {@link HttpClient}, whose own thread hand-offs
 * (caller, selector manager, worker; headers and body written separately) cost about 0.6 ms of a
 * sequential put at the median on 2 busy cores, and more when idle between puts.
 */
public final class HttpPutProbe {
  private HttpPutProbe() {}

  public static void main(String[] args) throws Exception {
    int warmup = 1000;
    int puts = 2000;
    List<String> javaOptions = null;
    boolean inJvm = true;
    boolean raw = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--warmup" -> warmup = Integer.parseInt(args[++i]);
        case "--puts" -> puts = Integer.parseInt(args[++i]);
        case "--java-options" -> javaOptions = Arrays.asList(args[++i].trim().split("\\s+"));
        case "--no-in-jvm" -> inJvm = false;
        case "--raw" -> raw = true;
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Path data = TempDirs.create("lockstep-httpput-");
    List<Integer> ports = FreePorts.take(3);
    List<String> voters = new ArrayList<>();
    for (int p : ports) {
      voters.add("127.0.0.1:" + p);
    }
    String base = "peer://" + String.join(",", voters);
    ServerCluster.Builder b =
        ServerCluster.builder(base)
            .backend(
                i -> base + "?bind=127.0.0.1:" + ports.get(i) + "&data=" + data.resolve("v" + i))
            .instances(3)
            .keyPrefix("httpput")
            .idPrefix("hp-");
    if (javaOptions != null) {
      b.javaOptions(javaOptions.toArray(String[]::new));
    }
    System.out.println(
        "server JVM options: " + (javaOptions == null ? "(ServerCluster's default)" : javaOptions));
    System.out.println("client: " + (raw ? "plain socket (--raw)" : "JDK HttpClient"));
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    byte[] value = new byte[100];
    try (ServerCluster c = b.start()) {
      // Let the cluster settle (leader elected, every instance ready).
      for (ServerProcess n : c.nodes()) {
        put(http, n.url(), "settle", value);
      }
      for (int round = 0; round < 2; round++) {
        for (int i = 0; i < c.size(); i++) {
          ServerProcess n = c.node(i);
          Histogram h = new Histogram(3);
          try (RawClient rc = raw ? new RawClient(URI.create(n.url())) : null) {
            for (int k = 0; k < warmup + puts; k++) {
              long t0 = System.nanoTime();
              if (rc != null) {
                rc.put("k" + (k % 100), value);
              } else {
                put(http, n.url(), "k" + (k % 100), value);
              }
              if (k >= warmup) {
                h.recordValue(System.nanoTime() - t0);
              }
            }
          }
          System.out.printf(
              Locale.ROOT,
              "round %d, HTTP PUT via instance %d (%s): p50 %.3f ms  p90 %.3f ms  p99 %.3f ms%n",
              round + 1,
              i,
              n.url(),
              h.getValueAtPercentile(50) / 1e6,
              h.getValueAtPercentile(90) / 1e6,
              h.getValueAtPercentile(99) / 1e6);
        }
      }
      System.out.println("server logs: " + c.logDir());
    } finally {
      TempDirs.deleteTree(data);
    }
    if (inJvm) {
      HotPathProbe.inJvmPeerPuts(warmup, puts);
    }
    System.exit(0);
  }

  private static void put(HttpClient http, String url, String key, byte[] value) throws Exception {
    HttpRequest req =
        HttpRequest.newBuilder(URI.create(url + "/config/" + key))
            .timeout(Duration.ofSeconds(10))
            .PUT(HttpRequest.BodyPublishers.ofByteArray(value))
            .build();
    HttpResponse<Void> r = http.send(req, HttpResponse.BodyHandlers.discarding());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("PUT " + key + " on " + url + ": status " + r.statusCode());
    }
  }

  /** HTTP/1.1 PUTs over one keep-alive socket, each written at once and answered on this thread. */
  private static final class RawClient implements AutoCloseable {
    private final String host;
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    RawClient(URI url) throws IOException {
      this.host = url.getHost() + ":" + url.getPort();
      this.socket = new Socket(url.getHost(), url.getPort());
      socket.setTcpNoDelay(true);
      this.out = socket.getOutputStream();
      this.in = new BufferedInputStream(socket.getInputStream());
    }

    void put(String key, byte[] value) throws IOException {
      byte[] head =
          ("PUT /config/"
                  + key
                  + " HTTP/1.1\r\nHost: "
                  + host
                  + "\r\nContent-Length: "
                  + value.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII);
      byte[] req = Arrays.copyOf(head, head.length + value.length);
      System.arraycopy(value, 0, req, head.length, value.length);
      out.write(req);
      out.flush();
      StringBuilder line = new StringBuilder();
      int status = -1;
      long length = 0;
      while (true) {
        int c = in.read();
        if (c < 0) {
          throw new EOFException("connection closed by " + host);
        }
        if (c != '\n') {
          line.append((char) c);
          continue;
        }
        String l = line.toString().trim();
        line.setLength(0);
        if (l.isEmpty()) {
          break;
        }
        if (status < 0) {
          status = Integer.parseInt(l.split(" ")[1]);
        } else if (l.regionMatches(true, 0, "content-length:", 0, 15)) {
          length = Long.parseLong(l.substring(15).trim());
        }
      }
      in.skipNBytes(length);
      if (status != 200) {
        throw new IllegalStateException("PUT " + key + " on " + host + ": status " + status);
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
