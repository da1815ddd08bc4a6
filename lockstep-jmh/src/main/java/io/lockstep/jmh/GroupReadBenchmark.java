package io.lockstep.jmh;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.lockstep.GroupOptions;
import io.lockstep.Loaded;
import io.lockstep.LoadingGroup;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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
 * A loading group's cache hits against the plain structures they stand on, over the same 10,000
 * keys in the same shuffled order: a hot-cache hit ({@link LoadingGroup#get} of keys another
 * instance owns, already copied here) against {@link ConcurrentHashMap#get}, and a main-cache hit
 * (keys this instance owns) against {@link Cache#getIfPresent} of a Caffeine cache of the same
 * size. Figures: docs/benchmarks.md.
 *
 * <pre>
 * ./mvnw -q -DskipTests package -pl lockstep-jmh -am
 * scripts/java -jar lockstep-jmh/target/benchmarks.jar GroupReadBenchmark -f 1 -wi 3 -w 1s -i 5 -r 1s
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
public class GroupReadBenchmark {

  /**
   * {@code groupHot}: hot-cache hits on an instance that owns none of the keys; {@code
   * concurrentHashMap}: the same entries in a map; {@code groupMain}: main-cache hits on the owner;
   * {@code caffeine}: a weight-bounded Caffeine cache holding the same entries.
   */
  @Param({"groupHot", "concurrentHashMap", "groupMain", "caffeine", "caffeineExpiring"})
  public String impl;

  @Param("10000")
  public int keys;

  private String[] order;
  private final List<LoadingGroup> groups = new ArrayList<>();
  private LoadingGroup group;
  private ConcurrentHashMap<String, byte[]> plain;
  private Cache<String, byte[]> caffeine;
  private int next;
  private int mode;

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    String[] names = new String[keys];
    for (int i = 0; i < keys; i++) {
      names[i] = "user/" + i;
    }
    GroupOptions.Builder o =
        GroupOptions.builder().mainCacheBytes(64L << 20).hotCacheBytes(64L << 20);
    switch (impl) {
      case "groupMain" -> {
        group = open(o.staticPeers("http://127.0.0.1:9", List.of()).build());
        for (String k : names) {
          group.getBlocking(k);
        }
        check(group.stats().main().items());
      }
      case "groupHot" -> {
        int a = freePort();
        int b = freePort();
        List<String> both = List.of("http://127.0.0.1:" + a, "http://127.0.0.1:" + b);
        LoadingGroup ga = open(o.staticPeers(both.get(0), both).listenPort(a).build());
        open(o.staticPeers(both.get(1), both).listenPort(b).build());
        // keys B owns, read through A until A's hot cache holds them all
        List<String> owned = new ArrayList<>();
        for (int i = 0; owned.size() < keys; i++) {
          String k = "user/" + i;
          ga.getBlocking(k);
          if (ga.stats().hot().items() > owned.size()) {
            owned.add(k);
          }
        }
        names = owned.toArray(new String[0]);
        group = ga;
        check(ga.stats().hot().items());
      }
      case "concurrentHashMap" -> {
        plain = new ConcurrentHashMap<>();
        for (String k : names) {
          plain.put(k, value(k));
        }
      }
      case "caffeine", "caffeineExpiring" -> {
        Caffeine<String, byte[]> b =
            Caffeine.newBuilder()
                .maximumWeight(64L << 20)
                .weigher((String k, byte[] v) -> v.length + k.length() + 64);
        if (impl.equals("caffeineExpiring")) {
          b.expireAfter(
              com.github.benmanes.caffeine.cache.Expiry.creating(
                  (String k, byte[] v) -> java.time.Duration.ofHours(1)));
        }
        caffeine = b.build();
        for (String k : names) {
          caffeine.put(k, value(k));
        }
      }
      default -> throw new IllegalArgumentException(impl);
    }
    mode = impl.startsWith("group") ? 0 : impl.equals("concurrentHashMap") ? 1 : 2;
    order = names.clone();
    Random r = new Random(42);
    for (int i = order.length - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      String t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }

  private void check(long items) {
    if (items != keys) {
      throw new IllegalStateException("cache holds " + items + " of " + keys + " keys");
    }
  }

  private static byte[] value(String k) {
    return ("value of " + k + " ........................................")
        .getBytes(StandardCharsets.UTF_8);
  }

  private LoadingGroup open(GroupOptions options) {
    LoadingGroup g = LoadingGroup.open("bench", k -> Loaded.of(value(k)), options);
    groups.add(g);
    return g;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    for (LoadingGroup g : groups) {
      g.close();
    }
  }

  @Benchmark
  public byte[] get() {
    int i = next;
    next = i + 1 == order.length ? 0 : i + 1;
    String k = order[i];
    return switch (mode) {
      case 0 -> group.get(k).getNow(null);
      case 1 -> plain.get(k);
      default -> caffeine.getIfPresent(k);
    };
  }
}
