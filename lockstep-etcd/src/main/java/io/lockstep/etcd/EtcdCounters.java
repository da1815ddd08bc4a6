package io.lockstep.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.lockstep.BackendUnavailableException;
import io.lockstep.IncrementResult;
import io.lockstep.spi.Backoff;
import io.lockstep.spi.CounterStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

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
 * counted twice.
 *
 * <p><b>Deadlines.</b> Each increment has its caller's deadline, the operation timeout from its
 * arrival, and this class answers it by then itself (the engine waits a little longer for that
 * answer): an increment not part of a transaction in flight at its deadline (queued behind this
 * instance's previous transaction, waiting for the read that starts its own, or pausing after a
 * lost comparison) is withdrawn and fails with {@code mayHaveCommitted() == false}, and it is never
 * sent; one carried by a transaction in flight fails with {@code mayHaveCommitted() == true}, and
 * is left out of any retry after a lost comparison. The same holds when the caller's future was
 * completed by anyone else (the engine's own deadline): no increment is sent, or sent again, after
 * its caller was answered. Thread safe.
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
  private final Duration deadline;

  /**
   * @param deadline how long a caller waits for an increment (the node's operation timeout)
   */
  EtcdCounters(EtcdBackend backend, Duration deadline) {
    this.backend = backend;
    this.deadline = deadline;
  }

  /**
   * One counter's increments on this instance: those waiting while its previous transaction is in
   * flight, and the state of every increment not yet answered. The lane's monitor guards its fields
   * and the {@code sent} and {@code answered} flags of its increments.
   */
  private static final class Lane {
    final String name;
    boolean busy;
    List<Pending> queue = new ArrayList<>();

    Lane(String name) {
      this.name = name;
    }
  }

  /** One caller's increment. */
  private static final class Pending {
    final long delta;
    final CompletableFuture<Long> result;
    boolean sent; // part of a transaction in flight (guarded by the lane)
    boolean answered; // its result was completed or is being completed (guarded by the lane)
    volatile ScheduledFuture<?> timer; // null until scheduled, or when the backend is closed

    Pending(long delta, CompletableFuture<Long> result) {
      this.delta = delta;
      this.result = result;
    }
  }

  private final ConcurrentHashMap<String, Lane> lanes = new ConcurrentHashMap<>();

  /**
   * Adds {@code delta}. This instance keeps at most one transaction per counter in flight: the
   * increments that arrive meanwhile go out together in the next one, and each caller gets its own
   * value from the range that transaction claimed (in arrival order). So contention in etcd is
   * between instances, not between the requests of one instance, and the total stays exact.
   */
  /**
   * With a request id: one compare-and-swap transaction that also writes the id key (see {@link
   * EtcdRequestIds}), outside this counter's lane, repeated while other increments win.
   */
  @Override
  public CompletableFuture<IncrementResult> incrementAndGet(
      String name, long delta, @Nullable String requestId) {
    if (requestId == null) {
      return incrementAndGet(name, delta).thenApply(v -> new IncrementResult(v, false));
    }
    return backend.requestIds().increment(backend.keyOf(PREFIX + name), name, delta, requestId);
  }

  @Override
  public CompletableFuture<Long> incrementAndGet(String name, long delta) {
    Lane lane = lanes.computeIfAbsent(name, Lane::new);
    CompletableFuture<Long> result = new CompletableFuture<>();
    Pending p = new Pending(delta, result);
    boolean start;
    synchronized (lane) {
      lane.queue.add(p);
      start = !lane.busy;
      lane.busy = true;
    }
    ScheduledFuture<?> timer = backend.schedule(() -> expire(lane, p), deadline.toMillis());
    p.timer = timer;
    result.whenComplete(
        (v, e) -> {
          ScheduledFuture<?> t = p.timer;
          if (t != null) {
            t.cancel(false);
          }
        });
    if (start) {
      drain(lane);
    }
    return result;
  }

  /** {@code p}'s deadline passed: answers it, withdrawing it unless a transaction carries it. */
  private void expire(Lane lane, Pending p) {
    boolean sent;
    synchronized (lane) {
      if (p.answered || p.result.isDone()) {
        return;
      }
      p.answered = true; // if queued, it stays there, and every batch leaves the answered out
      sent = p.sent;
    }
    String what = "etcd increment of counter '" + lane.name + "' by " + p.delta;
    p.result.completeExceptionally(
        sent
            ? new BackendUnavailableException(
                what
                    + ": no answer within "
                    + deadline.toMillis()
                    + " ms while the transaction carrying it was in flight; it may have been"
                    + " committed, and it will not be sent again",
                null,
                true)
            : new BackendUnavailableException(
                what
                    + ": withdrawn unsent after "
                    + deadline.toMillis()
                    + " ms (this instance's earlier request for this counter had not been answered);"
                    + " nothing was counted",
                null,
                false));
  }

  /** Sends the increments waiting in {@code lane}, or marks it idle when there are none. */
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
    CompletableFuture<Void> done;
    try {
      done = casIncrement(lane, batch);
    } catch (RuntimeException e) {
      settle(lane, batch, p -> p.result.completeExceptionally(e));
      done = CompletableFuture.completedFuture(null);
    }
    done.whenComplete((x, err) -> drain(lane));
  }

  /** Answers every increment of {@code batch} not answered yet with {@code answer}. */
  private static void settle(Lane lane, List<Pending> batch, Consumer<Pending> answer) {
    List<Pending> open = new ArrayList<>(batch.size());
    synchronized (lane) {
      for (Pending p : batch) {
        if (!p.answered && !p.result.isDone()) {
          p.answered = true;
          p.sent = false;
          open.add(p);
        }
      }
    }
    open.forEach(answer);
  }

  private CompletableFuture<Void> casIncrement(Lane lane, List<Pending> batch) {
    synchronized (lane) {
      if (batch.stream().allMatch(p -> p.answered || p.result.isDone())) {
        return CompletableFuture.completedFuture(null); // every caller was answered meanwhile
      }
    }
    ByteSequence key = backend.keyOf(PREFIX + lane.name);
    String what = "increment of counter '" + lane.name + "'";
    return backend
        .mapped(backend.kv().get(key), what, false)
        .handle(
            (r, err) -> {
              if (err != null) { // a read: nothing was written
                Throwable cause = EtcdErrors.unwrap(err);
                settle(lane, batch, p -> p.result.completeExceptionally(cause));
                return CompletableFuture.<Void>completedFuture(null);
              }
              return attemptOrSettle(lane, batch, key, what, r.getKvs(), 1);
            })
        .thenCompose(f -> f);
  }

  /** {@link #attempt}, answering the batch with the failure when it cannot even start. */
  private CompletableFuture<Void> attemptOrSettle(
      Lane lane,
      List<Pending> batch,
      ByteSequence key,
      String what,
      List<KeyValue> current,
      int n) {
    try {
      return attempt(lane, batch, key, what, current, n);
    } catch (RuntimeException e) { // e.g. the key holds no number: nothing was sent
      settle(lane, batch, p -> p.result.completeExceptionally(e));
      return CompletableFuture.completedFuture(null);
    }
  }

  /**
   * One compare-and-swap carrying the increments of {@code batch} whose callers still wait; none
   * when every caller was answered meanwhile.
   */
  private CompletableFuture<Void> attempt(
      Lane lane,
      List<Pending> batch,
      ByteSequence key,
      String what,
      List<KeyValue> current,
      int n) {
    long modRevision = current.isEmpty() ? 0 : current.get(0).getModRevision();
    long base = current.isEmpty() ? 0 : parse(current.get(0));
    List<Pending> live = new ArrayList<>(batch.size());
    long sum = 0;
    synchronized (lane) {
      for (Pending p : batch) {
        if (!p.answered && !p.result.isDone()) {
          p.sent = true;
          live.add(p);
          sum += p.delta;
        }
      }
    }
    if (live.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    long total = sum;
    long next = base + total;
    Cmp cmp =
        modRevision == 0
            ? new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
            : new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision));
    CompletableFuture<TxnResponse> txn;
    try {
      txn =
          backend.mapped(
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
              true);
    } catch (RuntimeException e) {
      txn = CompletableFuture.failedFuture(e);
    }
    return txn.handle(
            (r, err) -> {
              if (err != null) { // the answer was lost: may have committed, never sent again
                Throwable cause = EtcdErrors.unwrap(err);
                settle(lane, live, p -> p.result.completeExceptionally(cause));
                return CompletableFuture.<Void>completedFuture(null);
              }
              if (r.isSucceeded()) {
                // Number every increment the transaction carried, answered meanwhile or not.
                long[] values = new long[live.size()];
                long v = next - total;
                for (int i = 0; i < values.length; i++) {
                  v += live.get(i).delta;
                  values[i] = v;
                }
                for (int i = 0; i < values.length; i++) {
                  long value = values[i];
                  settle(lane, List.of(live.get(i)), p -> p.result.complete(value));
                }
                return CompletableFuture.<Void>completedFuture(null);
              }
              synchronized (lane) { // the comparison lost: nothing was written
                for (Pending p : live) {
                  p.sent = false;
                }
              }
              return retry(lane, batch, key, what, r, n);
            })
        .thenCompose(f -> f);
  }

  private CompletableFuture<Void> retry(
      Lane lane, List<Pending> batch, ByteSequence key, String what, TxnResponse lost, int n) {
    if (n >= MAX_ATTEMPTS) {
      BackendUnavailableException e =
          new BackendUnavailableException(
              "etcd " + what + ": gave up after " + n + " lost compare-and-swaps; nothing counted",
              null,
              false);
      settle(lane, batch, p -> p.result.completeExceptionally(e));
      return CompletableFuture.completedFuture(null);
    }
    List<KeyValue> current =
        lost.getGetResponses().isEmpty() ? List.of() : lost.getGetResponses().get(0).getKvs();
    long pause = CAS_RETRY.delayNanos(n, ThreadLocalRandom.current());
    return CompletableFuture.supplyAsync(
            () -> null, CompletableFuture.delayedExecutor(pause, TimeUnit.NANOSECONDS))
        .thenCompose(x -> attemptOrSettle(lane, batch, key, what, current, n + 1));
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
