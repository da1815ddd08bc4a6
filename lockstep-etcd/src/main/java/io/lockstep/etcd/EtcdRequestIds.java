package io.lockstep.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.lockstep.BackendUnavailableException;
import io.lockstep.IncrementResult;
import io.lockstep.LockstepConfig;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.RequestIds;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * Writes and increments that carry a client's request id: the data key and {@code
 * <prefix>/_idem/<digest>} are written in one transaction that checks the id key is absent; a retry
 * finds the id key and answers from it. The id key's value is {@code <fingerprint>:A} (applied at
 * the id key's mod revision, the write's own), {@code <fingerprint>:N} (a delete found nothing, at
 * the id key's mod revision), {@code <fingerprint>:C:<rev>} (a conflict with the key at {@code
 * rev}) or {@code <fingerprint>:I:<value>} (an increment's new value). An outcome that changes
 * nothing (conflict, not found) is remembered by a second transaction, "only if the id key is still
 * absent". Id keys carry a lease of {@code idempotency_ttl}, shared by the ids of a tenth of that
 * time (so each is kept from 1 to 1.1 times {@code idempotency_ttl}).
 */
final class EtcdRequestIds {
  private final EtcdBackend backend;
  private final Duration ttl;
  private final Duration timeout;
  private final Object leaseLock = new Object();
  private @Nullable CompletableFuture<Long> leaseId; // guarded by leaseLock
  private long leaseGrantedNanos; // guarded by leaseLock

  EtcdRequestIds(EtcdBackend backend, Duration ttl, Duration timeout) {
    this.backend = backend;
    this.ttl = ttl;
    this.timeout = timeout;
  }

  /** A lease to attach new id keys to: at least {@code ttl} left. */
  private CompletableFuture<Long> lease() {
    long period = ttl.toNanos() / 10;
    synchronized (leaseLock) {
      long now = System.nanoTime();
      CompletableFuture<Long> current = leaseId;
      if (current == null
          || now - leaseGrantedNanos > period
          || current.isCompletedExceptionally()) {
        long seconds = Math.max(2, (ttl.toNanos() + period) / 1_000_000_000L + 1);
        current =
            backend
                .mapped(backend.lease().grant(seconds), "lease for request ids", false)
                .thenApply(r -> r.getID());
        leaseId = current;
        leaseGrantedNanos = now;
      }
      return current;
    }
  }

  private ByteSequence idKey(String requestId) {
    return backend.keyOf(LockstepConfig.IDEMPOTENCY_PREFIX + RequestIds.digest(requestId));
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private static Cmp absent(ByteSequence k) {
    return new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0));
  }

  /** A remembered write answer, or a failure when the id came with another request. */
  private static WriteResult remembered(KeyValue id, String fingerprint, String what) {
    String v = id.getValue().toString(StandardCharsets.UTF_8);
    if (!v.startsWith(fingerprint + ":")) {
      throw RequestIds.reused(what);
    }
    String rest = v.substring(fingerprint.length() + 1);
    WriteResult r;
    if (rest.equals("A")) {
      r = WriteResult.applied(id.getModRevision());
    } else if (rest.equals("N")) {
      r = WriteResult.notFound(id.getModRevision());
    } else if (rest.startsWith("C:")) {
      r = WriteResult.conflict(Long.parseLong(rest.substring(2)), null);
    } else {
      throw RequestIds.reused(what);
    }
    return r.asReplay();
  }

  private static @Nullable KeyValue first(TxnResponse r, int i) {
    List<GetResponse> gets = r.getGetResponses();
    if (gets.size() <= i || gets.get(i).getKvs().isEmpty()) {
      return null;
    }
    return gets.get(i).getKvs().get(0);
  }

  /**
   * A put ({@code value} non-null) or delete of {@code key} under a request id, with the conditions
   * of {@link Backend#put} and {@link Backend#delete}.
   */
  CompletableFuture<WriteResult> write(
      String key,
      @Nullable ByteSequence value,
      long expected,
      String requestId,
      String fingerprint) {
    boolean put = value != null;
    String what = (put ? "put" : "delete") + " of '" + key + "'";
    ByteSequence k = backend.keyOf(key);
    ByteSequence id = idKey(requestId);
    List<Cmp> ifs = new ArrayList<>();
    ifs.add(absent(id));
    if (expected == 0) {
      ifs.add(absent(k));
    } else if (expected > 0) {
      ifs.add(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(expected)));
    } else if (!put) {
      ifs.add(new Cmp(k, Cmp.Op.GREATER, CmpTarget.createRevision(0)));
    }
    // A delete "only if absent" deletes nothing: when the key is absent its answer is NOT_FOUND.
    boolean changes = put || expected != 0;
    return lease()
        .thenCompose(
            lease -> {
              List<Op> then = new ArrayList<>();
              if (put) {
                then.add(Op.put(k, value, PutOption.DEFAULT));
              } else if (changes) {
                then.add(Op.delete(k, DeleteOption.DEFAULT));
              }
              String mark = fingerprint + (changes ? ":A" : ":N");
              then.add(Op.put(id, bytes(mark), PutOption.builder().withLeaseId(lease).build()));
              return backend
                  .mapped(
                      backend
                          .kv()
                          .txn()
                          .If(ifs.toArray(Cmp[]::new))
                          .Then(then.toArray(Op[]::new))
                          .Else(Op.get(id, GetOption.DEFAULT), Op.get(k, GetOption.DEFAULT))
                          .commit(),
                      what,
                      true)
                  .thenCompose(
                      r -> {
                        if (r.isSucceeded()) {
                          long rev = r.getHeader().getRevision();
                          return CompletableFuture.completedFuture(
                              changes ? WriteResult.applied(rev) : WriteResult.notFound(rev));
                        }
                        KeyValue done = first(r, 0);
                        if (done != null) {
                          return CompletableFuture.completedFuture(
                              remembered(done, fingerprint, what));
                        }
                        // The condition on the key failed: nothing changed; remember that.
                        KeyValue cur = first(r, 1);
                        String outcome =
                            cur == null && !put && expected == Backend.ANY_REVISION
                                ? ":N"
                                : ":C:" + (cur == null ? 0 : cur.getModRevision());
                        return remember(id, fingerprint + outcome, lease, what)
                            .thenApply(
                                again -> {
                                  if (again.first() != null) {
                                    return remembered(again.first(), fingerprint, what);
                                  }
                                  return outcome.equals(":N")
                                      ? WriteResult.notFound(again.revision())
                                      : WriteResult.conflict(
                                          cur == null ? 0 : cur.getModRevision(),
                                          cur == null ? null : backend.toVersioned(key, cur));
                                });
                      });
            });
  }

  private record Stored(@Nullable KeyValue first, long revision) {}

  /** Puts the id key if it is still absent; else answers what it holds. */
  private CompletableFuture<Stored> remember(
      ByteSequence id, String mark, long lease, String what) {
    return backend
        .mapped(
            backend
                .kv()
                .txn()
                .If(absent(id))
                .Then(Op.put(id, bytes(mark), PutOption.builder().withLeaseId(lease).build()))
                .Else(Op.get(id, GetOption.DEFAULT))
                .commit(),
            what,
            true)
        .thenApply(
            r -> new Stored(r.isSucceeded() ? null : first(r, 0), r.getHeader().getRevision()));
  }

  /**
   * An increment under a request id: a compare-and-swap on the counter key together with the id
   * key, repeated while another increment wins the counter, until {@code timeout}.
   */
  CompletableFuture<IncrementResult> increment(
      ByteSequence counterKey, String name, long delta, String requestId) {
    String what = "increment of counter '" + name + "'";
    String fingerprint = RequestIds.increment(name, delta);
    ByteSequence id = idKey(requestId);
    long deadline = System.nanoTime() + timeout.toNanos();
    return lease()
        .thenCompose(
            lease ->
                backend
                    .mapped(
                        backend
                            .kv()
                            .txn()
                            .Then(
                                Op.get(id, GetOption.DEFAULT),
                                Op.get(counterKey, GetOption.DEFAULT))
                            .commit(),
                        what,
                        false)
                    .thenCompose(
                        r ->
                            attempt(
                                counterKey,
                                id,
                                lease,
                                fingerprint,
                                delta,
                                what,
                                deadline,
                                r,
                                new CompletableFuture<>())));
  }

  private CompletableFuture<IncrementResult> attempt(
      ByteSequence counterKey,
      ByteSequence id,
      long lease,
      String fingerprint,
      long delta,
      String what,
      long deadline,
      TxnResponse seen,
      CompletableFuture<IncrementResult> result) {
    KeyValue done = first(seen, 0);
    if (done != null) {
      String v = done.getValue().toString(StandardCharsets.UTF_8);
      if (!v.startsWith(fingerprint + ":I:")) {
        result.completeExceptionally(RequestIds.reused(what));
      } else {
        result.complete(
            new IncrementResult(Long.parseLong(v.substring(fingerprint.length() + 3)), true));
      }
      return result;
    }
    if (System.nanoTime() >= deadline) {
      result.completeExceptionally(
          new BackendUnavailableException(
              what + ": lost every compare-and-swap for " + timeout.toMillis() + " ms", null));
      return result;
    }
    KeyValue cur = first(seen, 1);
    long value =
        cur == null ? 0 : Long.parseLong(cur.getValue().toString(StandardCharsets.US_ASCII));
    long next = value + delta; // wraps like every other increment
    Cmp counterIs =
        cur == null
            ? absent(counterKey)
            : new Cmp(counterKey, Cmp.Op.EQUAL, CmpTarget.modRevision(cur.getModRevision()));
    backend
        .mapped(
            backend
                .kv()
                .txn()
                .If(absent(id), counterIs)
                .Then(
                    Op.put(counterKey, bytes(Long.toString(next)), PutOption.DEFAULT),
                    Op.put(
                        id,
                        bytes(fingerprint + ":I:" + next),
                        PutOption.builder().withLeaseId(lease).build()))
                .Else(Op.get(id, GetOption.DEFAULT), Op.get(counterKey, GetOption.DEFAULT))
                .commit(),
            what,
            true)
        .whenComplete(
            (r, err) -> {
              if (err != null) {
                result.completeExceptionally(err);
              } else if (r.isSucceeded()) {
                result.complete(new IncrementResult(next, false));
              } else {
                attempt(counterKey, id, lease, fingerprint, delta, what, deadline, r, result);
              }
            });
    return result;
  }
}
