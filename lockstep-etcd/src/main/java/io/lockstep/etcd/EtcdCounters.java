package io.lockstep.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.lockstep.spi.Backoff;
import io.lockstep.spi.CounterStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Cluster counters in etcd: counter {@code name} is the key {@code <keyPrefix>/_counters/<name>}
 * holding the value in decimal ASCII. The map's listing and feed leave these keys out.
 *
 * <p>An increment is a compare-and-swap transaction: "if the key's {@code mod_revision} is still
 * the one I read (or, for a new counter, it does not exist), put the new value, else return the
 * current one". A lost comparison is retried with the value the same transaction returned, after a
 * short random pause that grows with the attempts (so many contenders do not all retry at once);
 * nothing else is retried, since a request whose answer was lost may have committed. etcd applies
 * transactions one at a time, so exactly one contender wins each round and no increment is lost or
 * counted twice. The engine's operation timeout bounds the whole loop. Thread safe.
 */
final class EtcdCounters implements CounterStore {
  static final String PREFIX = "_counters/";
  private static final int MAX_ATTEMPTS = 10_000;

  /**
   * The pause before retrying a lost compare-and-swap: anywhere in [0, 0.5 ms doubling to 20 ms].
   */
  private static final Backoff CAS_RETRY =
      new Backoff(Duration.of(500, ChronoUnit.MICROS), Duration.ofMillis(20), 1.0);

  private final EtcdBackend backend;

  EtcdCounters(EtcdBackend backend) {
    this.backend = backend;
  }

  /** Increments of one counter waiting while this instance's previous transaction is in flight. */
  private static final class Lane {
    final String name;
    boolean busy;
    List<Pending> queue = new ArrayList<>();

    Lane(String name) {
      this.name = name;
    }
  }

  private record Pending(long delta, CompletableFuture<Long> result) {}

  private final ConcurrentHashMap<String, Lane> lanes = new ConcurrentHashMap<>();

  /**
   * Adds {@code delta}. This instance keeps at most one transaction per counter in flight: the
   * increments that arrive meanwhile go out together in the next one, and each caller gets its own
   * value from the range that transaction claimed (in arrival order). So contention in etcd is
   * between instances, not between the requests of one instance, and the total stays exact.
   */
  @Override
  public CompletableFuture<Long> incrementAndGet(String name, long delta) {
    Lane lane = lanes.computeIfAbsent(name, Lane::new);
    CompletableFuture<Long> result = new CompletableFuture<>();
    boolean start;
    synchronized (lane) {
      lane.queue.add(new Pending(delta, result));
      start = !lane.busy;
      lane.busy = true;
    }
    if (start) {
      drain(lane);
    }
    return result;
  }

  private void drain(Lane lane) {
    List<Pending> batch;
    synchronized (lane) {
      if (lane.queue.isEmpty()) {
        lane.busy = false;
        return;
      }
      batch = lane.queue;
      lane.queue = new ArrayList<>();
    }
    long sum = 0;
    for (Pending p : batch) {
      sum += p.delta();
    }
    long total = sum;
    CompletableFuture<Long> done;
    try {
      done = casIncrement(lane.name, total);
    } catch (RuntimeException e) {
      done = CompletableFuture.failedFuture(e);
    }
    done.whenComplete(
        (value, err) -> {
          if (err != null) {
            batch.forEach(p -> p.result().completeExceptionally(err));
          } else {
            long v = value - total;
            for (Pending p : batch) {
              v += p.delta();
              p.result().complete(v);
            }
          }
          drain(lane);
        });
  }

  private CompletableFuture<Long> casIncrement(String name, long delta) {
    ByteSequence key = backend.keyOf(PREFIX + name);
    String what = "increment of counter '" + name + "'";
    return backend
        .mapped(backend.kv().get(key), what, false)
        .thenCompose(r -> attempt(key, what, delta, r.getKvs(), 1));
  }

  private CompletableFuture<Long> attempt(
      ByteSequence key, String what, long delta, List<KeyValue> current, int n) {
    long modRevision = current.isEmpty() ? 0 : current.get(0).getModRevision();
    long next = (current.isEmpty() ? 0 : parse(current.get(0))) + delta;
    Cmp cmp =
        modRevision == 0
            ? new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
            : new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision));
    return backend
        .mapped(
            backend
                .kv()
                .txn()
                .If(cmp)
                .Then(
                    Op.put(
                        key,
                        ByteSequence.from(Long.toString(next), StandardCharsets.US_ASCII),
                        PutOption.DEFAULT))
                .Else(Op.get(key, GetOption.DEFAULT))
                .commit(),
            what,
            true)
        .thenCompose(
            r ->
                r.isSucceeded()
                    ? CompletableFuture.completedFuture(next)
                    : retry(key, what, delta, r, n));
  }

  private CompletableFuture<Long> retry(
      ByteSequence key, String what, long delta, TxnResponse lost, int n) {
    if (n >= MAX_ATTEMPTS) {
      return CompletableFuture.failedFuture(
          new IllegalStateException(what + ": gave up after " + n + " lost compare-and-swaps"));
    }
    List<KeyValue> current =
        lost.getGetResponses().isEmpty() ? List.of() : lost.getGetResponses().get(0).getKvs();
    long pause = CAS_RETRY.delayNanos(n, ThreadLocalRandom.current());
    return CompletableFuture.supplyAsync(
            () -> null, CompletableFuture.delayedExecutor(pause, TimeUnit.NANOSECONDS))
        .thenCompose(x -> attempt(key, what, delta, current, n + 1));
  }

  @Override
  public CompletableFuture<Long> get(String name) {
    return backend
        .mapped(
            backend.kv().get(backend.keyOf(PREFIX + name)), "read of counter '" + name + "'", false)
        .thenApply(r -> r.getKvs().isEmpty() ? 0L : parse(r.getKvs().get(0)));
  }

  private static long parse(KeyValue kv) {
    String s = kv.getValue().toString(StandardCharsets.US_ASCII).trim();
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw new IllegalStateException(
          "counter key "
              + kv.getKey().toString(StandardCharsets.UTF_8)
              + " does not hold a decimal number: '"
              + s
              + "'",
          e);
    }
  }
}
