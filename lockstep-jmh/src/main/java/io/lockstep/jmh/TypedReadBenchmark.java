package io.lockstep.jmh;

import io.lockstep.Lockstep;
import io.lockstep.TypedMap;
import io.lockstep.jackson.JsonCodec;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A typed read ({@link TypedMap#get(String)} of a record decoded by {@link JsonCodec}) against
 * {@link ConcurrentHashMap#get} of the very same record objects under the same keys, looked up in
 * the same random order, side by side in one run. Run with {@code -prof gc} to see the allocation
 * per read ({@code gc.alloc.rate.norm}, B/op). Figures: docs/benchmarks.md.
 *
 * <p>Run from the project root:
 *
 * <pre>
 * ./mvnw -q -DskipTests package -pl lockstep-jmh -am
 * scripts/java -jar lockstep-jmh/target/benchmarks.jar TypedReadBenchmark -f 3 -wi 3 -w 1s -i 5 -r 1s -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
// The serial collector's full collection slides the live objects together in allocation order,
// the same in every fork; G1's parallel one places them differently each time, which swung the
// 100,000-key reads of one variant by up to 3x between forks (52 against 142 ns) and hid what the
// read path itself costs. Reads allocate nothing, so the collector matters here only for layout.
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xmx1g", "-XX:+UseSerialGC"})
public class TypedReadBenchmark {

  /** A record value, as an application would keep. */
  public record Quota(String tenant, int limit, List<String> tags) {}

  /**
   * Which map answers the read: {@code typed} is {@link TypedMap#get(String)}; {@code
   * concurrentHashMap} a map built here of the objects the typed map returns, under the same keys;
   * {@code typedStoreDirect} the typed map's own read map, read directly (it tells the cost of the
   * call path apart from the cost of where that map's nodes happen to lie in memory).
   */
  @Param({"typed", "concurrentHashMap", "typedStoreDirect"})
  public String impl;

  /**
   * 1,000 keys stay in the CPU's caches, so the read's own instructions show; 100,000 keys (a few
   * MB of nodes, keys and values) miss the caches on most reads, so where the map's nodes lie in
   * memory shows too.
   */
  @Param({"1000", "100000"})
  public int keys;

  private String[] order;
  private ConcurrentHashMap<String, ?> plain;
  private ConcurrentHashMap<String, Quota> copy;
  private InMemorySource source;
  private Lockstep node;
  private TypedMap<Quota> typed;
  private boolean viaTyped;
  private int next;

  @Setup(Level.Trial)
  @SuppressWarnings("unchecked")
  public void setUp() {
    source = new InMemorySource(RevisionModel.SPARSE);
    Map<String, byte[]> batch = new LinkedHashMap<>();
    String[] names = new String[keys];
    for (int i = 0; i < keys; i++) {
      names[i] = "service-" + (i % 97) + "/key-" + i;
      String json = "{\"tenant\":\"t" + i + "\",\"limit\":" + i + ",\"tags\":[\"gold\"]}";
      batch.put("quotas/" + names[i], json.getBytes(StandardCharsets.UTF_8));
      if (batch.size() == 1000) {
        source.writeAtomically(batch);
        batch.clear();
      }
    }
    if (!batch.isEmpty()) {
      source.writeAtomically(batch);
    }
    node = Lockstep.builder().backend(source.backend()).keyPrefix("bench").build();
    if (!node.map().replica().awaitRevision(source.revision(), Duration.ofSeconds(30))) {
      throw new IllegalStateException("replica did not load " + keys + " keys");
    }
    typed = node.map("quotas", JsonCodec.of(Quota.class)); // decodes every value once, here
    if (typed.size() != keys || typed.decodeFailures() != 0) {
      throw new IllegalStateException("typed map holds " + typed.size() + " of " + keys);
    }
    // Every variant builds the same objects, so every fork's heap holds the same things and only
    // the read path differs: the copy of the typed map's objects in a ConcurrentHashMap of its own
    // (kept alive in every variant), and the typed map's own read map.
    ConcurrentHashMap<String, Quota> m = new ConcurrentHashMap<>();
    for (String k : typed.keys()) { // the same objects, in the typed store's own order
      m.put(k, typed.get(k));
    }
    copy = m;
    ConcurrentHashMap<String, ?> store;
    try {
      var f = typed.getClass().getDeclaredField("values");
      f.setAccessible(true);
      store = (ConcurrentHashMap<String, ?>) f.get(typed);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
    plain = "typedStoreDirect".equals(impl) ? store : copy;
    viaTyped = "typed".equals(impl);
    order = names.clone();
    Random r = new Random(42);
    for (int i = order.length - 1; i > 0; i--) { // the same shuffled order for both
      int j = r.nextInt(i + 1);
      String t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    // Start every fork from a compacted heap: the objects of the setup lie in allocation order,
    // not wherever the replication thread's and this thread's allocation buffers happened to put
    // them, so forks differ less from one another.
    System.gc();
    System.gc();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    node.close();
    source.close();
  }

  @Benchmark
  public Quota get() {
    int i = next;
    next = i + 1 == order.length ? 0 : i + 1;
    String k = order[i];
    return viaTyped ? typed.get(k) : (Quota) plain.get(k);
  }
}
