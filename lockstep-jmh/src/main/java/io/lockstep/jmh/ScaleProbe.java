package io.lockstep.jmh;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.ReplicatedMap;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.RedisProcess;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * Scale (issue 13, item 8): a large namespace on etcd and on Redis, and many replicas of one
 * in-memory source in one JVM.
 *
 * <ul>
 *   <li>{@code etcd}, {@code redis}: a fresh server; {@code --keys} keys of 100-byte values are
 *       loaded through the raw client in Lockstep's data layout (etcd: transactions of 100 puts;
 *       Redis: pipelined {@code HSET}s of 100 envelopes, then {@code <ns>:rev}; putAsync through a
 *       node managed only 1.5k/s (etcd) and 4k/s (Redis) here, too slow for a million keys). Then a
 *       fresh node is built and timed from {@code build()} to {@link io.lockstep.Replica#isReady()}
 *       (the listing); used heap after {@code System.gc()} with that replica ready, minus before it
 *       was built, divided by the keys, is the heap per key (an <em>estimate</em>: GC and other
 *       threads move it); then {@link io.lockstep.Replica#refresh()} is timed (a relist, as after a
 *       compaction). etcd runs with {@code --quota-backend-bytes} 4 GiB (the process default is 256
 *       MiB). The fresh Redis node first tries the default 3 s operation timeout (its listing is
 *       read in pages, each bounded by the timeout); if it is not ready within {@code
 *       --ready-wait}, it is closed and a node with {@code --redis-timeout} tries again, and both
 *       outcomes are printed.
 *   <li>{@code fanout}: for each of {@code --replicas} (default 64,128,256), that many Lockstep
 *       nodes on one {@link InMemorySource}; node 0 writes a burst of {@code --burst} puts (256 in
 *       flight) over {@code --burst} distinct keys; the figure is the time from the first write
 *       until every replica's digest equals the source's.
 * </ul>
 *
 * <p>Run from the project root (heap for a million keys on two replicas' worth of churn):
 *
 * <pre>
 * ./mvnw -q -DskipTests package -pl lockstep-jmh -am
 * scripts/java -Xmx3g -cp lockstep-jmh/target/benchmarks.jar io.lockstep.jmh.ScaleProbe
 * scripts/java -Xmx3g -cp lockstep-jmh/target/benchmarks.jar io.lockstep.jmh.ScaleProbe --part etcd,redis --keys 300000
 * scripts/java -Xmx3g -cp lockstep-jmh/target/benchmarks.jar io.lockstep.jmh.ScaleProbe --part fanout --replicas 64,128,256
 * </pre>
 *
 * <p>Options: {@code --part etcd,redis,fanout} (default all), {@code --keys 1000000}, {@code
 * --redis-timeout 60s}, {@code --ready-wait 120s}, {@code --replicas 64,128,256}, {@code --burst
 * 10000}, {@code --deadline 30m} (the whole run; past it the probe exits and its servers are
 * stopped by their shutdown hooks).
 */
public final class ScaleProbe {
  private static final int VALUE_BYTES = 100;
  private static final String CT = "application/octet-stream";
  private static final String PREFIX = "scale";
  private static final int BATCH = 100; // etcd's default --max-txn-ops is 128
  static final List<String> ALL = List.of("etcd", "redis", "fanout");

  private int keys = 1_000_000;
  private Duration redisTimeout = Duration.ofSeconds(60);
  private Duration readyWait = Duration.ofSeconds(120);
  private List<Integer> replicas = List.of(64, 128, 256);
  private int burst = 10_000;
  private String etcdQuery = "";
  private final List<String> lines = new ArrayList<>();

  private ScaleProbe() {}

  public static void main(String[] args) throws Exception {
    ScaleProbe p = new ScaleProbe();
    List<String> parts = ALL;
    Duration deadline = Duration.ofMinutes(30);
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--part" -> parts = Arrays.asList(args[++i].split(","));
        case "--keys" -> p.keys = Integer.parseInt(args[++i]);
        case "--redis-timeout" -> p.redisTimeout = duration(args[++i]);
        case "--ready-wait" -> p.readyWait = duration(args[++i]);
        case "--replicas" ->
            p.replicas = Arrays.stream(args[++i].split(",")).map(Integer::valueOf).toList();
        case "--burst" -> p.burst = Integer.parseInt(args[++i]);
        case "--etcd-query" -> p.etcdQuery = "?" + args[++i];
        case "--deadline" -> deadline = duration(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    for (String part : parts) {
      if (!ALL.contains(part)) {
        throw new IllegalArgumentException("unknown part " + part + "; known: " + ALL);
      }
    }
    long deadlineMillis = deadline.toMillis();
    Thread watchdog =
        new Thread(
            () -> {
              try {
                Thread.sleep(deadlineMillis);
                System.out.println("ScaleProbe: deadline of " + deadlineMillis + " ms reached");
                p.print();
                Runtime.getRuntime().halt(3);
              } catch (InterruptedException e) {
                // done in time
              }
            },
            "scale-deadline");
    watchdog.setDaemon(true);
    watchdog.start();
    System.out.printf(
        Locale.ROOT,
        "ScaleProbe %s, max heap %d MiB, %d processors%n",
        LocalDate.now(),
        Runtime.getRuntime().maxMemory() >> 20,
        Runtime.getRuntime().availableProcessors());
    for (String part : parts) {
      System.out.println("== " + part);
      switch (part) {
        case "etcd" -> p.etcd();
        case "redis" -> p.redis();
        case "fanout" -> {
          for (int n : p.replicas) {
            p.fanout(n);
          }
        }
        default -> throw new IllegalStateException(part);
      }
    }
    p.print();
    System.exit(0); // client libraries may leave non-daemon threads behind
  }

  private static Duration duration(String s) {
    String t = s.trim().toLowerCase(Locale.ROOT);
    if (t.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
    }
    if (t.endsWith("s")) {
      return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
    }
    if (t.endsWith("m")) {
      return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
    }
    return Duration.parse(s);
  }

  private void record(String line) {
    System.out.println(line);
    lines.add(line);
  }

  private void print() {
    System.out.println();
    System.out.println("Scale summary (" + LocalDate.now() + "):");
    for (String l : lines) {
      System.out.println("  " + l);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // A large namespace
  // ---------------------------------------------------------------------------------------------

  private void etcd() throws Exception {
    try (EtcdProcess etcd = new EtcdProcess("--quota-backend-bytes", Long.toString(4L << 30))) {
      String uri = "etcd://127.0.0.1:" + etcd.clientPort() + etcdQuery;
      namespace(
          "etcd" + etcdQuery, uri, Duration.ofSeconds(3), null, () -> loadEtcd(etcd.clientUrl()));
    }
  }

  private void redis() throws Exception {
    try (RedisProcess redis = new RedisProcess()) {
      String uri = "redis://127.0.0.1:" + redis.port();
      namespace("redis", uri, Duration.ofSeconds(3), redisTimeout, () -> loadRedis(redis.port()));
    }
  }

  private static String key(int i) {
    return String.format(Locale.ROOT, "k%08d", i);
  }

  private static byte[] value(long seq) {
    byte[] b = new byte[VALUE_BYTES];
    ByteBuffer.wrap(b).putLong(seq);
    return b;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] r = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  private interface Load {
    void run() throws Exception;
  }

  /**
   * etcd: Lockstep's layout ({@code <prefix>/<key>}, a non-JSON value as the envelope {@code 00 'L'
   * 'S' '1' len contentType value}, docs/backends/etcd.md), written by jetcd transactions of {@link
   * #BATCH} puts (one revision each), 8 in flight.
   */
  private void loadEtcd(String url) throws Exception {
    byte[] ct = utf8(CT);
    byte[] head = new byte[5 + ct.length];
    head[0] = 0;
    head[1] = 'L';
    head[2] = 'S';
    head[3] = '1';
    head[4] = (byte) ct.length;
    System.arraycopy(ct, 0, head, 5, ct.length);
    try (Client client = Client.builder().endpoints(url).build()) {
      KV kv = client.getKVClient();
      Semaphore window = new Semaphore(8);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      for (int from = 0; from < keys; from += BATCH) {
        window.acquire();
        if (failure.get() != null) {
          throw new IllegalStateException("etcd load failed", failure.get());
        }
        List<Op> ops = new ArrayList<>();
        for (int i = from; i < Math.min(keys, from + BATCH); i++) {
          ops.add(
              Op.put(
                  ByteSequence.from(utf8(PREFIX + "/" + key(i))),
                  ByteSequence.from(concat(head, value(i))),
                  PutOption.DEFAULT));
        }
        kv.txn()
            .Then(ops.toArray(new Op[0]))
            .commit()
            .whenComplete(
                (r, e) -> {
                  if (e != null) {
                    failure.compareAndSet(null, e);
                  }
                  window.release();
                });
      }
      window.acquire(8);
      if (failure.get() != null) {
        throw new IllegalStateException("etcd load failed", failure.get());
      }
    }
  }

  /**
   * Redis: Lockstep's layout ({@code <ns>:data} hash of envelopes {@code
   * <modRev>:<typeLen>:<contentType><value>}, {@code <ns>:rev} the namespace's revision,
   * docs/backends/redis.md), written by pipelined {@code HSET}s of {@link #BATCH} fields, one
   * revision per batch, then {@code SET <ns>:rev}. The change stream stays empty (nothing to
   * replay: a listing reads the hash).
   */
  private void loadRedis(int port) throws Exception {
    RedisClient client = RedisClient.create(RedisURI.create("redis://127.0.0.1:" + port));
    try (StatefulRedisConnection<byte[], byte[]> conn = client.connect(ByteArrayCodec.INSTANCE)) {
      RedisAsyncCommands<byte[], byte[]> async = conn.async();
      byte[] data = utf8(PREFIX + ":data");
      Semaphore window = new Semaphore(16);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      long rev = 0;
      for (int from = 0; from < keys; from += BATCH) {
        window.acquire();
        if (failure.get() != null) {
          throw new IllegalStateException("redis load failed", failure.get());
        }
        rev++;
        byte[] head = utf8(rev + ":" + CT.length() + ":" + CT);
        Map<byte[], byte[]> fields = new LinkedHashMap<>();
        for (int i = from; i < Math.min(keys, from + BATCH); i++) {
          fields.put(utf8(key(i)), concat(head, value(i)));
        }
        async
            .hset(data, fields)
            .whenComplete(
                (r, e) -> {
                  if (e != null) {
                    failure.compareAndSet(null, e);
                  }
                  window.release();
                });
      }
      window.acquire(16);
      if (failure.get() != null) {
        throw new IllegalStateException("redis load failed", failure.get());
      }
      async.set(utf8(PREFIX + ":rev"), utf8(Long.toString(rev))).get(30, TimeUnit.SECONDS);
    } finally {
      client.shutdown();
    }
  }

  /**
   * Loads the namespace, then times a fresh node's listing (with {@code timeout}; if it is not
   * ready within the wait and {@code retryTimeout} is given, again with that), its heap and a
   * refresh.
   */
  private void namespace(
      String name, String uri, Duration timeout, @Nullable Duration retryTimeout, Load load)
      throws Exception {
    long t0load = System.nanoTime();
    load.run();
    long loadNanos = System.nanoTime() - t0load;
    record(
        String.format(
            Locale.ROOT,
            "%s: load %d keys x %d B (raw client, Lockstep's layout, batches of %d): %.1f s"
                + " (%.0f keys/s)",
            name,
            keys,
            VALUE_BYTES,
            BATCH,
            loadNanos / 1e9,
            keys / (loadNanos / 1e9)));

    long before = usedHeapAfterGc();
    Lockstep fresh = node(uri, PREFIX, "fresh", timeout);
    long t0 = System.nanoTime();
    boolean ready = awaitReady(fresh.map(), readyWait);
    long listNanos = System.nanoTime() - t0;
    if (!ready) {
      record(
          String.format(
              Locale.ROOT,
              "%s: listing with operationTimeout %s: NOT READY after %.1f s (state %s)",
              name,
              timeout,
              listNanos / 1e9,
              fresh.map().replica().state()));
      fresh.close();
      if (retryTimeout == null) {
        return;
      }
      timeout = retryTimeout;
      before = usedHeapAfterGc();
      fresh = node(uri, PREFIX, "fresh2", timeout);
      t0 = System.nanoTime();
      ready = awaitReady(fresh.map(), readyWait);
      listNanos = System.nanoTime() - t0;
      if (!ready) {
        record(
            String.format(
                Locale.ROOT,
                "%s: listing with operationTimeout %s: NOT READY after %.1f s either",
                name,
                timeout,
                listNanos / 1e9));
        fresh.close();
        return;
      }
    }
    try (Lockstep node = fresh) {
      long after = usedHeapAfterGc();
      int held = node.map().replica().stats().keys();
      record(
          String.format(
              Locale.ROOT,
              "%s: listing (build() to isReady(), operationTimeout %s): %.2f s, %d keys held",
              name,
              timeout,
              listNanos / 1e9,
              held));
      record(
          String.format(
              Locale.ROOT,
              "%s: heap per key (estimate: used heap after GC, ready minus before): %.0f B"
                  + " (%d MiB for %d keys)",
              name,
              (after - before) / (double) keys,
              (after - before) >> 20,
              keys));
      long r0 = System.nanoTime();
      node.map().replica().refresh().get(10, TimeUnit.MINUTES);
      long refreshNanos = System.nanoTime() - r0;
      record(
          String.format(
              Locale.ROOT,
              "%s: relist (replica().refresh() to its completion): %.2f s",
              name,
              refreshNanos / 1e9));
    }
  }

  private static Lockstep node(String uri, String prefix, String id, Duration timeout) {
    return Lockstep.builder()
        .backend(uri)
        .keyPrefix(prefix)
        .instanceId(id)
        .advertiseUrl("http://" + id + ".test")
        .operationTimeout(timeout)
        .build();
  }

  private static boolean awaitReady(ReplicatedMap map, Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (!map.replica().isReady()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      sleep(5);
    }
    return true;
  }

  private static long usedHeapAfterGc() {
    MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      System.gc();
      sleep(200);
      used = Math.min(used, mx.getHeapMemoryUsage().getUsed());
    }
    return used;
  }

  // ---------------------------------------------------------------------------------------------
  // Many replicas of one source
  // ---------------------------------------------------------------------------------------------

  private void fanout(int n) throws Exception {
    List<Lockstep> nodes = new ArrayList<>();
    try (InMemorySource source = new InMemorySource(RevisionModel.CONTIGUOUS)) {
      try {
        for (int i = 0; i < n; i++) {
          nodes.add(
              Lockstep.builder()
                  .backend(source.backend())
                  .keyPrefix("scale")
                  .instanceId("r" + i)
                  .advertiseUrl("http://r" + i + ".test")
                  .build());
        }
        for (Lockstep node : nodes) {
          if (!awaitReady(node.map(), Duration.ofSeconds(60))) {
            throw new IllegalStateException("replica not ready after 60 s");
          }
        }
        ReplicatedMap writer = nodes.get(0).map();
        Semaphore window = new Semaphore(256);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < burst; i++) {
          window.acquire();
          writer
              .putAsync(key(i), value(i), CT)
              .whenComplete(
                  (r, e) -> {
                    if (e != null) {
                      failure.compareAndSet(null, e);
                    }
                    window.release();
                  });
        }
        window.acquire(256);
        long acked = System.nanoTime() - t0;
        if (failure.get() != null) {
          throw new IllegalStateException("burst failed", failure.get());
        }
        long target = Digests.of(source.entries());
        long deadline = t0 + TimeUnit.SECONDS.toNanos(120);
        int equal = 0;
        while (System.nanoTime() < deadline) {
          equal = 0;
          for (Lockstep node : nodes) {
            if (node.map().replica().digest() == target) {
              equal++;
            }
          }
          if (equal == n) {
            break;
          }
          sleep(1);
        }
        long converged = System.nanoTime() - t0;
        if (equal != n) {
          record(
              String.format(
                  Locale.ROOT,
                  "fanout-%d: only %d of %d digests equal after %.1f s",
                  n,
                  equal,
                  n,
                  converged / 1e9));
          return;
        }
        record(
            String.format(
                Locale.ROOT,
                "fanout-%d: %d puts (256 in flight) acknowledged in %.0f ms; all %d digests equal"
                    + " the source's %.0f ms after the first put (%.0f ms after the last ack)",
                n,
                burst,
                acked / 1e6,
                n,
                converged / 1e6,
                (converged - acked) / 1e6));
      } finally {
        for (Lockstep node : nodes) {
          try {
            node.close();
          } catch (RuntimeException e) {
            System.err.println("  closing: " + e);
          }
        }
      }
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
