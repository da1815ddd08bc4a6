package io.lockstep.jmh;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import io.lockstep.Lockstep;
import io.lockstep.ReplicaMode;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.spi.Backend;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
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
 * A near-mode replica's reads ({@link ReplicatedMap#get(String)} with {@link ReplicaMode#NEAR})
 * against a Caffeine {@link LoadingCache} over the same loader (the in-memory source's strong read
 * of one key, {@link Backend#get(String)}), side by side in one run.
 *
 * <ul>
 *   <li>{@code op=hit}: 10,000 keys, a bound of 10,000, every key read once before measuring; reads
 *       in a shuffled order.
 *   <li>{@code op=miss}: 100,000 keys, a bound of 1,000, keys read in a cycle, so (almost) every
 *       read misses and loads; the miss ratio is printed at the end of the trial.
 * </ul>
 *
 * <p>The near-mode miss hands the loaded answer to the replica's applier thread (the read-through
 * race guard, see docs/replicated-map.md) and waits for it; the Caffeine miss runs the loader on
 * the reading thread. Neither pays for a network: the loader answers from memory. Figures:
 * docs/benchmarks.md.
 *
 * <pre>
 * ./mvnw -q -DskipTests package -pl lockstep-jmh -am
 * scripts/java -jar lockstep-jmh/target/benchmarks.jar NearReadBenchmark -f 1 -wi 3 -w 1s -i 5 -r 1s
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xmx1g"})
public class NearReadBenchmark {

  /** {@code near}: the near-mode replica; {@code caffeineLoading}: a Caffeine LoadingCache. */
  @Param({"near", "caffeineLoading"})
  public String impl;

  @Param({"hit", "miss"})
  public String op;

  private String[] order;
  private InMemorySource source;
  private Lockstep node;
  private ReplicatedMap map;
  private LoadingCache<String, Versioned> caffeine;
  private boolean viaNear;
  private int next;

  @Setup(Level.Trial)
  public void setUp() {
    boolean hit = "hit".equals(op);
    int keys = hit ? 10_000 : 100_000;
    int bound = hit ? 10_000 : 1_000;
    source = new InMemorySource(RevisionModel.SPARSE);
    Map<String, byte[]> batch = new LinkedHashMap<>();
    String[] names = new String[keys];
    for (int i = 0; i < keys; i++) {
      names[i] = "config/service-" + (i % 97) + "/key-" + i;
      batch.put(names[i], ("value-" + i).getBytes(StandardCharsets.UTF_8));
      if (batch.size() == 1000) {
        source.writeAtomically(batch);
        batch.clear();
      }
    }
    if (!batch.isEmpty()) {
      source.writeAtomically(batch);
    }
    viaNear = "near".equals(impl);
    if (viaNear) {
      node =
          Lockstep.builder()
              .backend(source.backend())
              .keyPrefix("bench")
              .mode(ReplicaMode.NEAR)
              .nearMaxKeys(bound)
              .build();
      map = node.map();
      while (!map.replica().isReady()) {
        Thread.onSpinWait();
      }
    } else {
      Backend loader = source.backend();
      caffeine =
          Caffeine.newBuilder()
              .maximumSize(bound)
              .executor(Runnable::run)
              .recordStats()
              .build(k -> loader.get(k).join().entry());
    }
    order = names.clone();
    if (hit) {
      Random r = new Random(42);
      for (int i = order.length - 1; i > 0; i--) {
        int j = r.nextInt(i + 1);
        String t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      for (String k : order) { // held before measuring
        read(k);
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (viaNear) {
      var s = map.replica().stats().near();
      System.out.printf(
          "%n%s/%s: hits %d, misses %d, loads %d, held %d%n",
          impl, op, s.hits(), s.misses(), s.loads(), s.heldKeys());
      node.close();
    } else {
      var s = caffeine.stats();
      System.out.printf(
          "%n%s/%s: hits %d, misses %d, loads %d, held %d%n",
          impl, op, s.hitCount(), s.missCount(), s.loadCount(), caffeine.estimatedSize());
    }
    source.close();
  }

  private Versioned read(String k) {
    return viaNear ? map.get(k) : caffeine.get(k);
  }

  @Benchmark
  public Versioned get() {
    int i = next;
    next = i + 1 == order.length ? 0 : i + 1;
    return read(order[i]);
  }
}
