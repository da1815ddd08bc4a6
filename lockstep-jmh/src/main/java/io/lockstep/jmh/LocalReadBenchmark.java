package io.lockstep.jmh;

import io.lockstep.Lockstep;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.LinkedHashMap;
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
 * A local read ({@link ReplicatedMap#get(String)}) against a plain {@link ConcurrentHashMap#get}
 * over the same 100,000 keys, looked up in the same random order, side by side in one run. Figures:
 * docs/benchmarks.md.
 *
 * <p>Run from the project root:
 *
 * <pre>
 * ./mvnw -q -DskipTests package -pl lockstep-jmh -am
 * scripts/java -jar lockstep-jmh/target/benchmarks.jar LocalReadBenchmark -f 2 -wi 3 -w 2s -i 8 -r 1s
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xmx1g"})
public class LocalReadBenchmark {

  /**
   * Which map answers the read: {@code lockstep} is {@link ReplicatedMap#get(String)}; {@code
   * concurrentHashMap} a map of the same entries built here; {@code replicaMapDirect} the replica's
   * own internal map, read directly (it tells the cost of the call path apart from the cost of
   * where the replica's map nodes happen to lie in memory).
   */
  @Param({"lockstep", "concurrentHashMap", "replicaMapDirect"})
  public String impl;

  @Param("100000")
  public int keys;

  private String[] order;
  private ConcurrentHashMap<String, Versioned> plain;
  private InMemorySource source;
  private Lockstep node;
  private ReplicatedMap map;
  private int next;
  private boolean viaLockstep;
  private ConcurrentHashMap<String, Versioned> internal;

  @Setup(Level.Trial)
  @SuppressWarnings("unchecked")
  public void setUp() {
    source = new InMemorySource(RevisionModel.SPARSE);
    Map<String, byte[]> batch = new LinkedHashMap<>();
    String[] names = new String[keys];
    for (int i = 0; i < keys; i++) {
      names[i] = "config/service-" + (i % 97) + "/key-" + i;
      batch.put(names[i], ("value-" + i).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      if (batch.size() == 1000) {
        source.writeAtomically(batch);
        batch.clear();
      }
    }
    if (!batch.isEmpty()) {
      source.writeAtomically(batch);
    }
    node = Lockstep.builder().backend(source.backend()).keyPrefix("bench").build();
    map = node.map();
    if (!map.replica().awaitRevision(source.revision(), Duration.ofSeconds(30))
        || map.size() != keys) {
      throw new IllegalStateException("replica did not load " + keys + " keys");
    }
    viaLockstep = "lockstep".equals(impl);
    try { // the engine's map, for the replicaMapDirect variant only
      var f = map.getClass().getDeclaredField("entries");
      f.setAccessible(true);
      internal = (ConcurrentHashMap<String, Versioned>) f.get(map);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
    if ("replicaMapDirect".equals(impl)) {
      plain = internal;
    }
    // Filled in the order the replica filled its own map (a listing goes through a HashMap), so
    // both maps' nodes lie in memory alike and the comparison measures the read path, not layout.
    Map<String, Versioned> listingOrder = new java.util.HashMap<>(Math.max(16, keys * 2));
    for (Versioned v : source.entries()) {
      listingOrder.put(v.key(), v);
    }
    if (plain == null) {
      plain = new ConcurrentHashMap<>();
      for (Versioned v : listingOrder.values()) {
        plain.put(v.key(), v);
      }
    }
    order = names.clone();
    Random r = new Random(42);
    for (int i = order.length - 1; i > 0; i--) { // same shuffled order for both
      int j = r.nextInt(i + 1);
      String t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    node.close();
    source.close();
  }

  @Benchmark
  public Versioned get() {
    int i = next;
    next = i + 1 == order.length ? 0 : i + 1;
    String k = order[i];
    return viaLockstep ? map.get(k) : plain.get(k);
  }
}
