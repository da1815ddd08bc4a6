package io.lockstep.jmh;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lockstep.ChangeEvent;
import io.lockstep.Lockstep;
import io.lockstep.ReplicatedMap;
import io.lockstep.peer.PeerBackend;
import io.lockstep.peer.PeerProbeAccess;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.FreePorts;
import io.lockstep.process.PostgresProcess;
import io.lockstep.process.RedisProcess;
import io.lockstep.process.TempDirs;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.HdrHistogram.Histogram;
import org.jgroups.JChannel;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.raft.StateMachine;

/**
 * The hot path, Lockstep against the raw client it is built on, side by side in one JVM and one
 * run.
 *
 * <p>Method, for every latency path: the writer and every reader in this JVM, {@link
 * System#nanoTime()} as the one clock, one write at a time. A write is timed from the write call to
 * each reader seeing it (for Lockstep a {@link io.lockstep.ChangeListener} on each replica, which
 * runs once the replica's memory serves the value; for the reference, the raw client's own
 * callback); the figure of a write is the time to the <em>last</em> reader. 2,000 warm-up writes
 * per side, then 5 repetitions of 1,000 measured writes, Lockstep's and the reference's repetitions
 * alternating; each path reports the median over the repetitions of their p50 and p99.
 *
 * <ul>
 *   <li>{@code redis-2}: 2 Lockstep replicas on one Redis, time to the other one; reference: {@code
 *       PUBLISH} on one Lettuce connection, one subscriber connection.
 *   <li>{@code redis-8}: 8 replicas, time to the last of the 7 others; reference: 7 subscribers.
 *   <li>{@code etcd-17}: 17 replicas (each its own jetcd client), last of the 16 others; reference:
 *       a jetcd put, 16 clients each watching the prefix.
 *   <li>{@code peer-3}: 3 voters, the write on the leader, time to the last of the 3 replicas (the
 *       leader's own included); reference: three jgroups-raft voters on the very stack the peer
 *       backend builds ({@code PeerStack}), a minimal state machine, {@code setAsync} on the
 *       leader, time until all 3 state machines applied it ({@code send_commits_immediately} on,
 *       else followers apply only with the next append or resend).
 *   <li>{@code postgres-3}: 3 Lockstep replicas on one PostgreSQL (the key-value table), time to
 *       the last of the 2 others (a transaction whose deferred trigger takes the revision and sends
 *       {@code NOTIFY}, then each replica's read of the change log); reference: {@code SELECT
 *       pg_notify(...)} on one PgJDBC connection, 2 connections {@code LISTEN}ing, each on a thread
 *       of its own blocked in {@code getNotifications}.
 *   <li>{@code writes-redis}, {@code writes-etcd}, {@code writes-peer}: one writer, writes per
 *       second one at a time ({@code put}) and with 16 in flight ({@code putAsync}); reference: the
 *       same {@code write.lua} by {@code EVALSHA} (with its {@code PUBLISH}), a jetcd {@code put},
 *       jgroups-raft {@code setAsync} on the leader. Median of the repetitions.
 * </ul>
 *
 * <p>Redis and etcd are started from here ({@code lockstep-process}), each path on fresh servers.
 * Run from the project root:
 *
 * <pre>
 * ./mvnw -q -DskipTests package -pl lockstep-jmh -am
 * scripts/java -cp lockstep-jmh/target/benchmarks.jar io.lockstep.jmh.HotPathProbe            # every path
 * scripts/java -cp lockstep-jmh/target/benchmarks.jar io.lockstep.jmh.HotPathProbe --path redis-2,peer-3
 * </pre>
 *
 * <p>Options: {@code --path a,b} (default all), {@code --warmup 2000}, {@code --reps 5}, {@code
 * --writes 1000} (measured writes per repetition).
 */
public final class HotPathProbe {
  private static final int VALUE_BYTES = 100;
  private static final String CT = "application/octet-stream";
  private static final Duration TIMEOUT = Duration.ofSeconds(3);
  static final List<String> ALL =
      List.of(
          "redis-2",
          "redis-8",
          "etcd-17",
          "peer-3",
          "postgres-3",
          "writes-redis",
          "writes-etcd",
          "writes-peer");

  private int warmup = 2000;
  private int reps = 5;
  private int writes = 1000;
  private final List<Row> rows = new ArrayList<>();

  private record Row(String path, String metric, double lockstep, double reference) {}

  private HotPathProbe() {}

  public static void main(String[] args) throws Exception {
    HotPathProbe p = new HotPathProbe();
    List<String> paths = ALL;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--path" -> paths = Arrays.asList(args[++i].split(","));
        case "--warmup" -> p.warmup = Integer.parseInt(args[++i]);
        case "--reps" -> p.reps = Integer.parseInt(args[++i]);
        case "--writes" -> p.writes = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    for (String path : paths) {
      if (!ALL.contains(path)) {
        throw new IllegalArgumentException("unknown path " + path + "; known: " + ALL);
      }
    }
    for (String path : paths) {
      System.out.println("== " + path);
      switch (path) {
        case "redis-2" -> p.redisFanout(path, 2);
        case "redis-8" -> p.redisFanout(path, 8);
        case "etcd-17" -> p.etcdFanout(path, 17);
        case "peer-3" -> p.peerFanout(path);
        case "postgres-3" -> p.postgresFanout(path, 3);
        case "writes-redis" -> p.redisWrites(path);
        case "writes-etcd" -> p.etcdWrites(path);
        case "writes-peer" -> p.peerWrites(path);
        default -> throw new IllegalStateException(path);
      }
      p.print(System.out);
    }
    System.exit(0); // client libraries may leave non-daemon threads behind
  }

  // ---------------------------------------------------------------------------------------------
  // Fan-out latency: write to the last reader
  // ---------------------------------------------------------------------------------------------

  /**
   * One write at a time; each call returns the nanoseconds from the write call to the last reader.
   */
  private interface Fanout {
    long once(long seq) throws Exception;
  }

  /** Where each reader records the moment it saw the awaited write. Readers call {@link #seen}. */
  static final class Arrivals {
    private final int readers;
    private final AtomicLongArray seenSeq;
    private final long[] at;
    private volatile CountDownLatch latch = new CountDownLatch(0);
    private volatile long expect = -1;

    Arrivals(int readers) {
      this.readers = readers;
      this.seenSeq = new AtomicLongArray(readers);
      this.at = new long[readers];
      for (int i = 0; i < readers; i++) {
        seenSeq.set(i, -1);
      }
    }

    void arm(long seq) {
      latch = new CountDownLatch(readers);
      expect = seq;
    }

    void seen(int reader, long seq) {
      long t = System.nanoTime();
      if (seq == expect && seenSeq.getAndSet(reader, seq) != seq) {
        at[reader] = t;
        latch.countDown();
      }
    }

    /** Whether every reader saw the armed write within {@code millis}. */
    boolean await(long millis) throws InterruptedException {
      return latch.await(millis, TimeUnit.MILLISECONDS);
    }

    /** Waits for every reader; returns the latest arrival. */
    long awaitLast(long seq) throws InterruptedException {
      if (!latch.await(10, TimeUnit.SECONDS)) {
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < readers; i++) {
          if (seenSeq.get(i) != seq) {
            missing.add(i);
          }
        }
        throw new IllegalStateException(
            "write " + seq + " did not reach readers " + missing + " in 10 s");
      }
      long last = Long.MIN_VALUE;
      for (int i = 0; i < readers; i++) {
        last = Math.max(last, at[i]);
      }
      return last;
    }
  }

  private static byte[] value(long seq, int size) {
    byte[] b = new byte[size];
    ByteBuffer.wrap(b).putLong(seq);
    return b;
  }

  private static long seqOf(byte[] b, int off) {
    return ByteBuffer.wrap(b, off, 8).getLong();
  }

  /** Lockstep: the writer's putAsync, readers' listeners. */
  private static Fanout lockstepFanout(ReplicatedMap writer, List<ReplicatedMap> readers) {
    Arrivals arrivals = new Arrivals(readers.size());
    for (int i = 0; i < readers.size(); i++) {
      int reader = i;
      readers
          .get(i)
          .addListener(
              (ChangeEvent e) -> {
                if (e.type() == ChangeEvent.Type.PUT
                    && e.value() != null
                    && e.value().value().length >= 8) {
                  arrivals.seen(reader, seqOf(e.value().value(), 0));
                }
              });
    }
    return seq -> {
      arrivals.arm(seq);
      long t0 = System.nanoTime();
      CompletableFuture<?> w = writer.putAsync("hp-" + (seq % 100), value(seq, VALUE_BYTES), CT);
      long last = arrivals.awaitLast(seq);
      w.get(10, TimeUnit.SECONDS);
      return last - t0;
    };
  }

  /**
   * Runs both sides: warm-up, then repetitions alternating Lockstep and reference; records the
   * medians of the repetitions' p50 and p99.
   */
  private void compareFanout(String path, Fanout lockstep, Fanout reference) throws Exception {
    long seq = 1;
    for (int i = 0; i < warmup; i++) {
      lockstep.once(seq++);
      reference.once(seq++);
    }
    double[][] p50 = new double[2][reps];
    double[][] p99 = new double[2][reps];
    for (int r = 0; r < reps; r++) {
      for (int side = 0; side < 2; side++) {
        Fanout f = side == 0 ? lockstep : reference;
        Histogram h = new Histogram(3);
        for (int i = 0; i < writes; i++) {
          h.recordValue(Math.max(0, f.once(seq++)));
        }
        p50[side][r] = h.getValueAtPercentile(50) / 1e6;
        p99[side][r] = h.getValueAtPercentile(99) / 1e6;
        System.out.printf(
            Locale.ROOT,
            "  rep %d %-9s p50 %.3f ms  p99 %.3f ms  max %.3f ms%n",
            r + 1,
            side == 0 ? "lockstep" : "reference",
            p50[side][r],
            p99[side][r],
            h.getMaxValue() / 1e6);
      }
    }
    rows.add(new Row(path, "p50 ms", median(p50[0]), median(p50[1])));
    rows.add(new Row(path, "p99 ms", median(p99[0]), median(p99[1])));
  }

  private void redisFanout(String path, int replicas) throws Exception {
    try (RedisProcess redis = new RedisProcess();
        Closer closer = new Closer()) {
      String uri = "redis://127.0.0.1:" + redis.port();
      List<ReplicatedMap> maps = lockstepNodes(closer, uri, "hp" + replicas, replicas);
      Fanout lockstep = lockstepFanout(maps.get(0), maps.subList(1, replicas));
      Fanout reference = rawPubSub(closer, redis.port(), replicas - 1);
      compareFanout(path, lockstep, reference);
      if (replicas == 2) {
        tapDecomposition(closer, redis.port(), "hp2:changes", maps.get(0), maps.get(1));
      }
    }
  }

  private void etcdFanout(String path, int replicas) throws Exception {
    try (EtcdProcess etcd = new EtcdProcess();
        Closer closer = new Closer()) {
      String uri = "etcd://127.0.0.1:" + etcd.clientPort();
      List<ReplicatedMap> maps = lockstepNodes(closer, uri, "hp" + replicas, replicas);
      Fanout lockstep = lockstepFanout(maps.get(0), maps.subList(1, replicas));
      Fanout reference = rawEtcdWatch(closer, etcd.clientUrl(), replicas - 1);
      compareFanout(path, lockstep, reference);
    }
  }

  private void peerFanout(String path) throws Exception {
    try (Closer closer = new Closer()) {
      PeerNodes nodes = peerNodes(closer);
      RawRaft raw = rawRaft(closer, true);
      Fanout lockstep = lockstepFanout(nodes.leader(), nodes.maps());
      Fanout reference =
          seq -> {
            raw.arrivals.arm(seq);
            long t0 = System.nanoTime();
            byte[] v = value(seq, VALUE_BYTES);
            CompletableFuture<byte[]> w = raw.leader().setAsync(v, 0, v.length);
            long last = raw.arrivals.awaitLast(seq);
            w.get(10, TimeUnit.SECONDS);
            return last - t0;
          };
      compareFanout(path, lockstep, reference);
    }
  }

  private void postgresFanout(String path, int replicas) throws Exception {
    try (PostgresProcess pg = new PostgresProcess();
        Closer closer = new Closer()) {
      List<ReplicatedMap> maps = lockstepNodes(closer, pg.backendUri(), "hp" + replicas, replicas);
      Fanout lockstep = lockstepFanout(maps.get(0), maps.subList(1, replicas));
      Fanout reference = rawListenNotify(closer, pg.jdbcUrl(), replicas - 1);
      compareFanout(path, lockstep, reference);
    }
  }

  /** {@code pg_notify} on one connection, {@code listeners} connections blocked in LISTEN. */
  private static Fanout rawListenNotify(Closer closer, String jdbcUrl, int listeners)
      throws Exception {
    Arrivals arrivals = new Arrivals(listeners);
    for (int i = 0; i < listeners; i++) {
      int reader = i;
      java.sql.Connection c = java.sql.DriverManager.getConnection(jdbcUrl);
      closer.add(c);
      try (java.sql.Statement st = c.createStatement()) {
        st.execute("LISTEN raw_changes");
      }
      org.postgresql.PGConnection pgc = c.unwrap(org.postgresql.PGConnection.class);
      Thread t =
          new Thread(
              () -> {
                try {
                  while (!c.isClosed()) {
                    org.postgresql.PGNotification[] got = pgc.getNotifications(0);
                    if (got != null) {
                      for (org.postgresql.PGNotification n : got) {
                        arrivals.seen(reader, Long.parseLong(n.getParameter()));
                      }
                    }
                  }
                } catch (java.sql.SQLException e) {
                  // closed at the end of the run
                }
              },
              "raw-listen-" + i);
      t.setDaemon(true);
      t.start();
    }
    java.sql.Connection w = java.sql.DriverManager.getConnection(jdbcUrl);
    closer.add(w);
    java.sql.PreparedStatement notify = w.prepareStatement("SELECT pg_notify('raw_changes', ?)");
    return seq -> {
      arrivals.arm(seq);
      long t0 = System.nanoTime();
      notify.setString(1, Long.toString(seq));
      notify.executeQuery().close();
      return arrivals.awaitLast(seq) - t0;
    };
  }

  private static List<ReplicatedMap> lockstepNodes(
      Closer closer, String uri, String prefix, int n) {
    List<ReplicatedMap> maps = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Lockstep node =
          Lockstep.builder()
              .backend(uri)
              .keyPrefix(prefix)
              .instanceId("r" + i)
              .advertiseUrl("http://r" + i + ".test")
              .build();
      closer.add(node);
      maps.add(node.map());
    }
    awaitReady(maps);
    return maps;
  }

  private static void awaitReady(List<ReplicatedMap> maps) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!maps.stream().allMatch(m -> m.replica().isReady())) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("replicas not ready after 60 s");
      }
      sleep(10);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // References
  // ---------------------------------------------------------------------------------------------

  /** Lettuce's resources as RedisBackend sets them up: 2 I/O threads, 2 computation threads. */
  private static ClientResources lettuceResources(Closer closer) {
    ClientResources res =
        DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2).build();
    closer.add(() -> res.shutdown(0, 2, TimeUnit.SECONDS).get());
    return res;
  }

  private static Fanout rawPubSub(Closer closer, int port, int subscribers) {
    ClientResources res = lettuceResources(closer);
    RedisClient client = RedisClient.create(res, RedisURI.create("redis://127.0.0.1:" + port));
    closer.add(client::shutdown);
    byte[] channel = "raw:changes".getBytes(StandardCharsets.UTF_8);
    Arrivals arrivals = new Arrivals(subscribers);
    for (int i = 0; i < subscribers; i++) {
      int reader = i;
      StatefulRedisPubSubConnection<byte[], byte[]> sub =
          client.connectPubSub(ByteArrayCodec.INSTANCE);
      closer.add(sub::close);
      sub.addListener(
          new RedisPubSubAdapter<>() {
            @Override
            public void message(byte[] ch, byte[] message) {
              arrivals.seen(reader, seqOf(message, 0));
            }
          });
      sub.sync().subscribe(channel);
    }
    StatefulRedisConnection<byte[], byte[]> pub = client.connect(ByteArrayCodec.INSTANCE);
    closer.add(pub::close);
    RedisAsyncCommands<byte[], byte[]> async = pub.async();
    // About the size of Lockstep's change message:
    // "<rev>:P:<keyLen>:<key><rev>:<typeLen>:<type><value>".
    int size = VALUE_BYTES + 45;
    return seq -> {
      arrivals.arm(seq);
      long t0 = System.nanoTime();
      CompletableFuture<Long> w = async.publish(channel, value(seq, size)).toCompletableFuture();
      long last = arrivals.awaitLast(seq);
      w.get(10, TimeUnit.SECONDS);
      return last - t0;
    };
  }

  /**
   * Splits Lockstep's redis-2 figure in two with a raw subscriber on Lockstep's own channel: write
   * call to the change message reaching a subscriber (script, Redis, Lettuce), and from there to
   * the other replica's listener (Lettuce on the replica's connection, RedisFeed, the applier
   * hand-off, apply, listener). Both subscribers get the message from the same PUBLISH.
   */
  private void tapDecomposition(
      Closer closer, int port, String lockstepChannel, ReplicatedMap writer, ReplicatedMap reader)
      throws Exception {
    ClientResources res = lettuceResources(closer);
    RedisClient client = RedisClient.create(res, RedisURI.create("redis://127.0.0.1:" + port));
    closer.add(client::shutdown);
    Arrivals tap = new Arrivals(1);
    StatefulRedisPubSubConnection<byte[], byte[]> sub =
        client.connectPubSub(ByteArrayCodec.INSTANCE);
    closer.add(sub::close);
    sub.addListener(
        new RedisPubSubAdapter<>() {
          @Override
          public void message(byte[] ch, byte[] message) {
            // The change message ends with the value, whose first 8 bytes are the sequence.
            tap.seen(0, seqOf(message, message.length - VALUE_BYTES));
          }
        });
    sub.sync().subscribe(b(lockstepChannel));
    Arrivals replica = new Arrivals(1);
    reader.addListener(
        (ChangeEvent e) -> {
          if (e.type() == ChangeEvent.Type.PUT && e.value() != null) {
            replica.seen(0, seqOf(e.value().value(), 0));
          }
        });
    Histogram toTap = new Histogram(3);
    Histogram tapToReplica = new Histogram(3);
    long seq = 1L << 40;
    for (int i = 0; i < warmup + writes; i++, seq++) {
      tap.arm(seq);
      replica.arm(seq);
      long t0 = System.nanoTime();
      CompletableFuture<?> w = writer.putAsync("hp-" + (seq % 100), value(seq, VALUE_BYTES), CT);
      long atTap = tap.awaitLast(seq);
      long atReplica = replica.awaitLast(seq);
      w.get(10, TimeUnit.SECONDS);
      if (i >= warmup) {
        toTap.recordValue(Math.max(0, atTap - t0));
        tapToReplica.recordValue(Math.max(0, atReplica - atTap));
      }
    }
    System.out.printf(
        Locale.ROOT,
        "  decomposition (%d writes): write call -> raw subscriber on Lockstep's channel p50 %.3f"
            + " ms; that subscriber -> the other replica's listener p50 %.3f ms (p90 %.3f)%n",
        writes,
        toTap.getValueAtPercentile(50) / 1e6,
        tapToReplica.getValueAtPercentile(50) / 1e6,
        tapToReplica.getValueAtPercentile(90) / 1e6);
  }

  private static Client etcdClient(Closer closer, String url) {
    Client c = Client.builder().endpoints(url).build();
    closer.add(c::close);
    return c;
  }

  private static Fanout rawEtcdWatch(Closer closer, String url, int watchers) {
    ByteSequence prefix = ByteSequence.from("raw/", StandardCharsets.UTF_8);
    Arrivals arrivals = new Arrivals(watchers);
    for (int i = 0; i < watchers; i++) {
      int reader = i;
      Client c = etcdClient(closer, url);
      Watch.Watcher w =
          c.getWatchClient()
              .watch(
                  prefix,
                  WatchOption.builder().isPrefix(true).build(),
                  (WatchResponse resp) -> {
                    for (WatchEvent e : resp.getEvents()) {
                      byte[] v = e.getKeyValue().getValue().getBytes();
                      if (v.length >= 8) {
                        arrivals.seen(reader, seqOf(v, 0));
                      }
                    }
                  });
      closer.add(w::close);
    }
    KV kv = etcdClient(closer, url).getKVClient();
    sleep(500); // let the watches be created before the first put
    return seq -> {
      arrivals.arm(seq);
      long t0 = System.nanoTime();
      CompletableFuture<?> w =
          kv.put(
              ByteSequence.from("raw/hp-" + (seq % 100), StandardCharsets.UTF_8),
              ByteSequence.from(value(seq, VALUE_BYTES)));
      long last = arrivals.awaitLast(seq);
      w.get(10, TimeUnit.SECONDS);
      return last - t0;
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Peer: Lockstep's three voters and three raw jgroups-raft voters on the same stack
  // ---------------------------------------------------------------------------------------------

  private record PeerNodes(ReplicatedMap leader, List<ReplicatedMap> maps) {}

  /**
   * For {@link HttpPutProbe}: sequential {@code put}s on each of three voters in this JVM (leader
   * and followers), printed as p50/p90/p99.
   */
  static void inJvmPeerPuts(int warmup, int puts) throws Exception {
    try (Closer closer = new Closer()) {
      PeerNodes nodes = peerNodes(closer);
      for (int i = 0; i < nodes.maps().size(); i++) {
        ReplicatedMap m = nodes.maps().get(i);
        Histogram h = new Histogram(3);
        for (int k = 0; k < warmup + puts; k++) {
          long t0 = System.nanoTime();
          m.put("k" + (k % 100), new byte[VALUE_BYTES], CT);
          if (k >= warmup) {
            h.recordValue(System.nanoTime() - t0);
          }
        }
        System.out.printf(
            Locale.ROOT,
            "in-JVM put on voter v%d%s: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms%n",
            i,
            m == nodes.leader() ? " (leader)" : "",
            h.getValueAtPercentile(50) / 1e6,
            h.getValueAtPercentile(90) / 1e6,
            h.getValueAtPercentile(99) / 1e6);
      }
    }
  }

  private static String peerUri(List<Integer> ports, int self, Path data) {
    String list = ports.stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
    return "peer://"
        + list
        + "?bind=127.0.0.1:"
        + ports.get(self)
        + "&data="
        + data.resolve("voter-" + self)
        + "&failure_timeout=3s";
  }

  private static PeerNodes peerNodes(Closer closer) {
    String cluster = "hp-peer-" + System.nanoTime();
    List<Integer> ports = FreePorts.take(3);
    Path data = TempDirs.create("lockstep-hotpath-peer-");
    closer.add(() -> TempDirs.deleteTree(data));
    PeerBackend[] backends = new PeerBackend[3];
    List<ReplicatedMap> maps = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      backends[i] =
          PeerBackend.create(
              BackendUri.parse(peerUri(ports, i, data)),
              new BackendContext(cluster, "v" + i, TIMEOUT));
      closer.add(backends[i]);
    }
    for (int i = 0; i < 3; i++) {
      Lockstep node =
          Lockstep.builder()
              .backend(backends[i])
              .keyPrefix(cluster)
              .instanceId("v" + i)
              .advertiseUrl("http://v" + i + ".test")
              .build();
      closer.add(node);
      maps.add(node.map());
    }
    awaitReady(maps);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      for (int i = 0; i < 3; i++) {
        if (PeerProbeAccess.isLeader(backends[i])) {
          System.out.println("  lockstep peer leader: v" + i);
          return new PeerNodes(maps.get(i), maps);
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no peer leader after 30 s");
      }
      sleep(10);
    }
  }

  /** Three raw voters; each state machine reports what it applies to {@link #arrivals}. */
  private record RawRaft(RAFT[] voters, Arrivals arrivals) {
    RAFT leader() {
      for (RAFT r : voters) {
        if (r.isLeader()) {
          return r;
        }
      }
      throw new IllegalStateException("the raw Raft group has no leader");
    }
  }

  /**
   * @param commitsImmediately {@code send_commits_immediately}: on for the fan-out reference (else
   *     followers apply with the next append, up to the resend interval later); off for writes/s,
   *     as on Lockstep's own stack (with it on, sequential setAsync on the leader failed with
   *     "processing queue is full" after ~2,000 writes, reproducibly)
   */
  private static RawRaft rawRaft(Closer closer, boolean commitsImmediately) throws Exception {
    String cluster = "hp-raw-" + System.nanoTime();
    List<Integer> ports = FreePorts.take(3);
    Path data = TempDirs.create("lockstep-hotpath-raw-");
    closer.add(() -> TempDirs.deleteTree(data));
    Arrivals arrivals = new Arrivals(3);
    RAFT[] voters = new RAFT[3];
    for (int i = 0; i < 3; i++) {
      int reader = i;
      JChannel ch =
          new JChannel(
              PeerProbeAccess.stack(
                  peerUri(ports, i, data), new BackendContext(cluster, "raw" + i, TIMEOUT)));
      ch.setName("raw" + i);
      RAFT raft = ch.getProtocolStack().findProtocol(RAFT.class);
      raft.sendCommitsImmediately(commitsImmediately);
      raft.stateMachine(
          new StateMachine() {
            @Override
            public byte[] apply(byte[] buf, int off, int len, boolean serialize) {
              if (len >= 8) {
                arrivals.seen(reader, seqOf(buf, off));
              }
              return serialize ? new byte[0] : null;
            }

            @Override
            public void readContentFrom(DataInput in) {}

            @Override
            public void writeContentTo(DataOutput out) {}
          });
      ch.connect(cluster);
      closer.add(ch::close);
      voters[i] = raft;
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    RawRaft raw = new RawRaft(voters, arrivals);
    while (true) {
      try {
        RAFT leader = raw.leader();
        if (!commitsImmediately) {
          return raw;
        }
        // A voter that joined after the election may lag behind the log for a while; write until
        // one write reaches all three state machines.
        for (long settle = -1; ; settle--) {
          arrivals.arm(settle);
          byte[] v = value(settle, VALUE_BYTES);
          leader.setAsync(v, 0, v.length);
          // A lagging voter catches up through the leader's resends (every resend_interval), so
          // give each settle write several seconds rather than one.
          if (arrivals.await(5000)) {
            return raw;
          }
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "the raw Raft group did not settle in 30 s: " + describe(voters));
          }
        }
      } catch (IllegalStateException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        sleep(10);
      }
    }
  }

  /** Each raw voter's view of the group, for a probe that cannot settle. */
  private static String describe(RAFT[] voters) {
    StringBuilder b = new StringBuilder();
    for (RAFT r : voters) {
      b.append(
          String.format(
              "[%s leader=%s term=%d commit=%d appended=%d members=%s] ",
              r.raftId(),
              r.leader(),
              r.currentTerm(),
              r.commitIndex(),
              r.lastAppended(),
              r.members()));
    }
    return b.toString().strip();
  }

  // ---------------------------------------------------------------------------------------------
  // Writes per second
  // ---------------------------------------------------------------------------------------------

  private interface Writer {
    CompletableFuture<?> write(long seq) throws Exception;
  }

  private static Writer lockstepWriter(ReplicatedMap map) {
    return seq -> map.putAsync("w-" + (seq % 100), value(seq, VALUE_BYTES), CT);
  }

  /** Writes per second, one at a time ({@code inFlight} 1) or with {@code inFlight} outstanding. */
  private double rate(Writer w, int inFlight, long[] seq) throws Exception {
    long t0 = System.nanoTime();
    if (inFlight == 1) {
      for (int i = 0; i < writes; i++) {
        w.write(seq[0]++).get(10, TimeUnit.SECONDS);
      }
    } else {
      Semaphore slots = new Semaphore(inFlight);
      AtomicReference<Throwable> failed = new AtomicReference<>();
      for (int i = 0; i < writes; i++) {
        slots.acquire();
        w.write(seq[0]++)
            .whenComplete(
                (r, e) -> {
                  if (e != null) {
                    failed.compareAndSet(null, e);
                  }
                  slots.release();
                });
      }
      slots.acquire(inFlight);
      if (failed.get() != null) {
        throw new IllegalStateException("a write failed", failed.get());
      }
    }
    return writes / ((System.nanoTime() - t0) / 1e9);
  }

  private void compareWrites(String path, Writer lockstep, Writer reference) throws Exception {
    long[] seq = {1};
    for (int inFlight : new int[] {1, 16}) {
      int saved = writes;
      writes = Math.max(1, warmup / 2);
      rate(lockstep, inFlight, seq);
      rate(reference, inFlight, seq);
      writes = saved;
      double[][] r = new double[2][reps];
      for (int rep = 0; rep < reps; rep++) {
        r[0][rep] = rate(lockstep, inFlight, seq);
        r[1][rep] = rate(reference, inFlight, seq);
        System.out.printf(
            Locale.ROOT,
            "  rep %d in flight %2d: lockstep %.0f/s  reference %.0f/s%n",
            rep + 1,
            inFlight,
            r[0][rep],
            r[1][rep]);
      }
      rows.add(
          new Row(
              path,
              inFlight == 1 ? "writes/s, sequential" : "writes/s, 16 in flight",
              median(r[0]),
              median(r[1])));
    }
  }

  private void redisWrites(String path) throws Exception {
    try (RedisProcess redis = new RedisProcess();
        Closer closer = new Closer()) {
      String uri = "redis://127.0.0.1:" + redis.port();
      ReplicatedMap map = lockstepNodes(closer, uri, "hpw", 1).get(0);
      ClientResources res = lettuceResources(closer);
      RedisClient client = RedisClient.create(res, RedisURI.create(uri));
      closer.add(client::shutdown);
      StatefulRedisConnection<byte[], byte[]> conn = client.connect(ByteArrayCodec.INSTANCE);
      closer.add(conn::close);
      RedisAsyncCommands<byte[], byte[]> async = conn.async();
      byte[] script;
      try (InputStream in =
          HotPathProbe.class.getClassLoader().getResourceAsStream("io/lockstep/redis/write.lua")) {
        if (in == null) {
          throw new IllegalStateException("write.lua not on the class path");
        }
        script = in.readAllBytes();
      }
      String sha = conn.sync().scriptLoad(script);
      String ns = "raw";
      byte[] rev = b(ns + ":rev");
      byte[] data = b(ns + ":data");
      byte[] log = b(ns + ":log");
      byte[] channel = b(ns + ":changes");
      // The same keys and arguments as RedisBackend's put: a fresh request key per write.
      Writer reference =
          seq -> {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            byte[][] keys = {
              rev,
              data,
              log,
              b(ns + ":req:" + Long.toHexString(r.nextLong()) + Long.toHexString(r.nextLong()))
            };
            byte[][] args = {
              b("put"),
              b("w-" + (seq % 100)),
              b("-1"),
              b(CT),
              value(seq, VALUE_BYTES),
              b("10000"),
              channel,
              b("10000")
            };
            return async
                .<List<Object>>evalsha(sha, ScriptOutputType.MULTI, keys, args)
                .toCompletableFuture();
          };
      compareWrites(path, lockstepWriter(map), reference);
    }
  }

  private void etcdWrites(String path) throws Exception {
    try (EtcdProcess etcd = new EtcdProcess();
        Closer closer = new Closer()) {
      ReplicatedMap map =
          lockstepNodes(closer, "etcd://127.0.0.1:" + etcd.clientPort(), "hpw", 1).get(0);
      KV kv = etcdClient(closer, etcd.clientUrl()).getKVClient();
      Writer reference =
          seq ->
              kv.put(
                  ByteSequence.from("raw/w-" + (seq % 100), StandardCharsets.UTF_8),
                  ByteSequence.from(value(seq, VALUE_BYTES)));
      compareWrites(path, lockstepWriter(map), reference);
    }
  }

  private void peerWrites(String path) throws Exception {
    try (Closer closer = new Closer()) {
      PeerNodes nodes = peerNodes(closer);
      RawRaft raw = rawRaft(closer, false);
      RAFT leader = raw.leader();
      Writer reference =
          seq -> {
            byte[] v = value(seq, VALUE_BYTES);
            return leader.setAsync(v, 0, v.length);
          };
      compareWrites(path, lockstepWriter(nodes.leader()), reference);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing
  // ---------------------------------------------------------------------------------------------

  private void print(java.io.PrintStream out) {
    out.println();
    out.printf(
        Locale.ROOT,
        "Hot path, %s, %d warm-up + %d x %d measured writes per side (median of repetitions)%n",
        LocalDate.now(),
        warmup,
        reps,
        writes);
    out.println("| path | metric | Lockstep | reference | ratio |");
    out.println("| --- | --- | --- | --- | --- |");
    for (Row r : rows) {
      boolean latency = r.metric().endsWith("ms");
      out.printf(
          Locale.ROOT,
          latency ? "| %s | %s | %.3f | %.3f | %.2f |%n" : "| %s | %s | %.0f | %.0f | %.2f |%n",
          r.path(),
          r.metric(),
          r.lockstep(),
          r.reference(),
          r.lockstep() / r.reference());
    }
    out.println();
    out.flush();
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Closes what it was given, last first, best effort. */
  private static final class Closer implements AutoCloseable {
    private final List<AutoCloseable> all = new ArrayList<>();

    void add(AutoCloseable c) {
      all.add(c);
    }

    @Override
    public void close() {
      for (int i = all.size() - 1; i >= 0; i--) {
        try {
          all.get(i).close();
        } catch (Exception | Error e) {
          System.err.println("  closing: " + e);
        }
      }
      all.clear();
    }
  }
}
