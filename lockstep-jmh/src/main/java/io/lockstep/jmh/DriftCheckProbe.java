package io.lockstep.jmh;

import io.lockstep.DriftCheck;
import io.lockstep.DriftReport;
import io.lockstep.Lockstep;
import io.lockstep.server.HttpDriftTarget;
import io.lockstep.server.LockstepServer;
import io.lockstep.server.ServerSettings;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import io.lockstep.testkit.DriftBackendProvider;
import io.lockstep.testkit.InMemorySource;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The drift check's time and bytes for large maps, in one JVM: an in-memory source of N keys
 * (100-byte values), a node whose feed skips the changes of the keys under {@code d/} (the
 * testkit's drift hook), D of them changed so the node drifts; then, on the same data:
 *
 * <ul>
 *   <li><b>HTTP</b>: the node served by a {@link LockstepServer} on a loopback port, checked as
 *       {@code lockstep check} does ({@link HttpDriftTarget} over {@code POST /admin/drift/ranges},
 *       no repair), runs 1 to 3; bytes are request and response bodies; the time excludes the
 *       source listing, shown apart;
 *   <li><b>library</b>: {@link Lockstep#reconcile(boolean)} with repair (lists the in-memory
 *       source, compares by range digests in the process, repairs D keys); bytes are the estimate
 *       the in-process target counts.
 * </ul>
 *
 * <pre>
 * ./mvnw -q -DskipTests package -pl lockstep-jmh -am
 * scripts/java -Xmx3g -cp lockstep-jmh/target/benchmarks.jar io.lockstep.jmh.DriftCheckProbe --keys 100000,1000000
 * </pre>
 *
 * <p>Options: {@code --keys N,...} (default 100000), {@code --drifted D} (default 10).
 */
public final class DriftCheckProbe {
  private DriftCheckProbe() {}

  public static void main(String[] args) throws Exception {
    List<Integer> sizes = List.of(100_000);
    int drifted = 10;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--keys" -> {
          List<Integer> s = new ArrayList<>();
          for (String n : args[++i].split(",")) {
            s.add(Integer.parseInt(n.trim()));
          }
          sizes = s;
        }
        case "--drifted" -> drifted = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    System.out.printf(
        "%-9s %-8s %7s %12s %10s %12s %8s %10s%n",
        "keys", "mode", "drifted", "map bytes", "moved", "moved/map", "check ms", "listing ms");
    for (int n : sizes) {
      probe(n, drifted);
    }
  }

  private static byte[] value(int i) {
    String s = "{\"n\":" + i + ",\"pad\":\"";
    return (s + "x".repeat(Math.max(0, 98 - s.length())) + "\"}").getBytes(StandardCharsets.UTF_8);
  }

  private static void probe(int keys, int drifted) throws Exception {
    try (InMemorySource source = new InMemorySource(RevisionModel.CONTIGUOUS);
        Lockstep node =
            Lockstep.builder()
                .backend(DriftBackendProvider.wrap(source.backend(), "d/"))
                .keyPrefix("probe")
                .operationTimeout(Duration.ofSeconds(10))
                .build()) {
      long mapBytes = 0;
      Map<String, byte[]> batch = new HashMap<>();
      for (int i = 0; i < keys + drifted; i++) {
        String key = i < keys ? String.format("k%08d", i) : "d/" + (i - keys);
        byte[] v = value(i);
        mapBytes += key.getBytes(StandardCharsets.UTF_8).length + v.length;
        batch.put(key, v);
        if (batch.size() == 1000) {
          source.writeAtomically(batch);
          batch = new HashMap<>();
        }
      }
      if (!batch.isEmpty()) {
        source.writeAtomically(batch);
      }
      node.map().replica().awaitRevision(source.revision(), Duration.ofMinutes(5));
      for (int i = 0; i < drifted; i++) { // skipped by the node
        source.writeAtomically(Map.of("d/" + i, "{\"new\":1}".getBytes(StandardCharsets.UTF_8)));
      }
      node.map().replica().awaitRevision(source.revision(), Duration.ofMinutes(1));
      ServerSettings settings =
          ServerSettings.builder()
              .bindHost("127.0.0.1")
              .port(0)
              .maxValueBytes(1 << 20)
              .environment(Map.of())
              .build();
      try (LockstepServer server = LockstepServer.start(settings, node)) {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpDriftTarget target =
            new HttpDriftTarget(
                http, "http://127.0.0.1:" + server.port(), null, Duration.ofMinutes(2));
        for (int run = 1; run <= 3; run++) {
          long t0 = System.nanoTime();
          Snapshot listing = source.backend().snapshot().join();
          long t1 = System.nanoTime();
          DriftReport r = DriftCheck.run(target, listing, false, t1);
          print(keys, "http#" + run, r, mapBytes, (t1 - t0) / 1_000_000);
          if (r.drifted().size() != drifted) {
            throw new IllegalStateException("expected " + drifted + " drifted keys: " + r);
          }
        }
        http.close();
        DriftReport lib = node.reconcile(true); // before the server closes, which closes the node
        print(keys, "library", lib, mapBytes, -1);
        if (lib.repaired().size() != drifted || !node.reconcile(false).drifted().isEmpty()) {
          throw new IllegalStateException("library check did not repair: " + lib);
        }
      }
    }
  }

  private static void print(int keys, String mode, DriftReport r, long mapBytes, long listingMs) {
    System.out.printf(
        "%-9d %-8s %7d %12d %10d %11.3f%% %8d %10s%n",
        keys,
        mode,
        r.drifted().size(),
        mapBytes,
        r.bytesMoved(),
        100.0 * r.bytesMoved() / mapBytes,
        r.took().toMillis(),
        listingMs < 0 ? "(in check)" : Long.toString(listingMs));
  }
}
