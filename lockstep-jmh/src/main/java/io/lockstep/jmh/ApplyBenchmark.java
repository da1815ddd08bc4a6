package io.lockstep.jmh;

import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.ReplicatedMap;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How fast a replica applies changes: {@code applyPipeline} writes 1,000 single-key revisions into
 * an in-memory source and waits until the replica has applied the last one (feed thread, hand-off
 * to the applier, ordering checks, map update, digest, waiters), so its score is changes applied
 * per second; {@code digestEntry} is the digest's per-change cost alone.
 *
 * <p>Run from the project root:
 *
 * <pre>
 * ./mvnw -q -DskipTests package -pl lockstep-jmh -am
 * scripts/java -jar lockstep-jmh/target/benchmarks.jar ApplyBenchmark -f 1 -wi 3 -w 2s -i 5 -r 2s
 * </pre>
 */
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xmx1g"})
public class ApplyBenchmark {
  private static final int BATCH = 1000;

  private InMemorySource source;
  private Lockstep node;
  private ReplicatedMap map;
  private byte[][] values;
  private String[] keys;
  private long n;

  @Setup(Level.Trial)
  public void setUp() {
    source = new InMemorySource(RevisionModel.CONTIGUOUS);
    node = Lockstep.builder().backend(source.backend()).keyPrefix("bench").build();
    map = node.map();
    keys = new String[10_000];
    values = new byte[keys.length][];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = "config/key-" + i;
      values[i] = ("value-" + i).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    node.close();
    source.close();
  }

  @Setup(Level.Iteration)
  public void compact() {
    source.compact(); // keeps the in-memory history from growing across iterations
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  @OperationsPerInvocation(BATCH)
  public long applyPipeline() {
    long last = 0;
    for (int i = 0; i < BATCH; i++) {
      int k = (int) (n++ % keys.length);
      last = source.writeAtomically(Map.of(keys[k], values[k]));
    }
    if (!map.replica().awaitRevision(last, Duration.ofSeconds(30))) {
      throw new IllegalStateException("replica did not reach revision " + last);
    }
    return map.replica().digest();
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.NANOSECONDS)
  public long digestEntry() {
    int k = (int) (n++ % keys.length);
    return Digests.entry(keys[k], n, values[k]);
  }
}
