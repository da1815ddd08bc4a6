package io.lockstep.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import io.lockstep.Member;
import io.lockstep.spi.Backoff;
import io.lockstep.spi.MemberWatchers;
import io.lockstep.spi.Membership;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Membership records under {@code <keyPrefix>/_members/<id>}, each holding {@code
 * {"id","url","startedAt"}} (an ISO-8601 instant) and attached to a lease of {@code member_ttl}
 * seconds that jetcd keeps alive. When the keep-alive ends or the lease is gone (an outage longer
 * than the TTL, a revoke by an operator), the registration grants a new lease and writes the record
 * again, in the background, with capped exponential backoff, until it is closed. Closing revokes
 * the lease, which deletes the record at once; a crashed instance's record disappears when its
 * lease expires.
 *
 * <p>{@link #watch} lists the records and then watches their prefix ({@link EtcdMembersWatch}), one
 * etcd watch for every listener of this backend: a join or a clean leave (the lease revoked)
 * reaches listeners within the watch's latency, milliseconds; a crashed instance's record goes when
 * its lease expires, at most {@code member_ttl} after its last keep-alive.
 */
final class EtcdMembership implements Membership {
  private static final System.Logger LOG = System.getLogger(EtcdMembership.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Backoff RETRY = Backoff.of(Duration.ofMillis(200), Duration.ofSeconds(5));

  private final EtcdBackend backend;
  private final Set<Registration> open = ConcurrentHashMap.newKeySet();
  private final MemberWatchers watchers;

  EtcdMembership(EtcdBackend backend) {
    this.backend = backend;
    this.watchers =
        new MemberWatchers(
            "etcd " + backend.membersPrefix().toString(StandardCharsets.UTF_8),
            sink -> {
              EtcdMembersWatch w = new EtcdMembersWatch(backend, sink);
              w.start();
              return w;
            });
  }

  @Override
  public io.lockstep.Registration watch(Consumer<List<Member>> listener) {
    return watchers.watch(listener);
  }

  @Override
  public CompletableFuture<Membership.Registration> register(Member self) {
    Registration r = new Registration(self);
    open.add(r);
    return r.attempt()
        .handle(
            (ok, err) -> {
              if (err != null) {
                open.remove(r);
                throw backend.translate(
                    err, "membership registration of '" + self.id() + "'", true);
              }
              return r;
            });
  }

  @Override
  public CompletableFuture<List<Member>> members() {
    ByteSequence prefix = backend.membersPrefix();
    return backend
        .mapped(
            backend.kv().get(prefix, GetOption.builder().isPrefix(true).build()),
            "membership listing",
            false)
        .thenApply(
            resp -> {
              List<Member> members = new ArrayList<>();
              for (KeyValue kv : resp.getKvs()) {
                Member m = parse(kv.getValue().getBytes());
                if (m != null) {
                  members.add(m);
                } else {
                  LOG.log(
                      Level.DEBUG,
                      "ignoring a malformed membership record at {0}",
                      kv.getKey().toString(StandardCharsets.UTF_8));
                }
              }
              return List.copyOf(members);
            });
  }

  /** Closes every registration still open and every watch (backend shutdown). */
  void closeAll() {
    watchers.close();
    for (Registration r : List.copyOf(open)) {
      r.close();
    }
  }

  static byte[] toJson(Member m) {
    ObjectNode n = JSON.createObjectNode();
    n.put("id", m.id());
    n.put("url", m.url());
    n.put("startedAt", m.startedAt().toString());
    try {
      return JSON.writeValueAsBytes(n);
    } catch (IOException e) {
      throw new IllegalStateException("encoding member " + m.id(), e);
    }
  }

  /** A member record, or null when it is not one. */
  static Member parse(byte[] json) {
    try {
      JsonNode n = JSON.readTree(json);
      if (n == null
          || !n.isObject()
          || !n.path("id").isTextual()
          || !n.path("startedAt").isTextual()) {
        return null;
      }
      return new Member(
          n.get("id").asText(),
          n.path("url").asText(""),
          Instant.parse(n.get("startedAt").asText()));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** One instance's record and lease, kept alive until closed. */
  private final class Registration implements Membership.Registration {
    private final Member self;
    private final ByteSequence key;
    private final byte[] record;

    // Guarded by this.
    private long leaseId;
    private CloseableClient keepAlive;
    private ScheduledFuture<?> retry;
    private boolean recovering;
    private boolean closed;

    Registration(Member self) {
      this.self = self;
      this.key =
          backend.membersPrefix().concat(ByteSequence.from(self.id(), StandardCharsets.UTF_8));
      this.record = toJson(self);
    }

    /** Grants a lease, writes the record on it, and keeps the lease alive. */
    CompletableFuture<Void> attempt() {
      return backend
          .mapped(backend.lease().grant(backend.settings().memberTtlSeconds()), "lease grant", true)
          .thenCompose(
              grant -> {
                long id = grant.getID();
                PutOption onLease = PutOption.builder().withLeaseId(id).build();
                return backend
                    .mapped(
                        backend.kv().put(key, ByteSequence.from(record), onLease),
                        "member record put",
                        true)
                    .handle(
                        (put, err) -> {
                          if (err != null) {
                            revokeQuietly(id);
                            throw backend.translate(err, "member record put", true);
                          }
                          adopt(id);
                          return null;
                        });
              });
    }

    private void adopt(long id) {
      long old;
      synchronized (this) {
        if (closed) {
          old = id; // closed while we were registering: undo
        } else {
          old = leaseId;
          leaseId = id;
          recovering = false;
          keepAlive = backend.lease().keepAlive(id, new KeepAliveObserver(id));
        }
      }
      if (old != 0) {
        revokeQuietly(old); // the record now lives on the new lease; the old one only holds nothing
      }
    }

    /** The keep-alive of {@code id} ended or failed: register again, unless that is old news. */
    private void lost(long id, String why) {
      synchronized (this) {
        if (closed || id != leaseId || recovering) {
          return;
        }
        recovering = true;
        closeKeepAlive();
      }
      LOG.log(
          Level.WARNING,
          "{0}: membership lease {1} lost ({2}); registering again",
          self.id(),
          Long.toHexString(id),
          why);
      scheduleAttempt(0);
    }

    private void scheduleAttempt(int failures) {
      long delay =
          TimeUnit.NANOSECONDS.toMillis(
              RETRY.delayNanos(failures + 1, ThreadLocalRandom.current()));
      synchronized (this) {
        if (closed) {
          return;
        }
        retry =
            backend.schedule(
                () -> {
                  CompletableFuture<Void> f;
                  try {
                    f = attempt();
                  } catch (RuntimeException e) {
                    f = CompletableFuture.failedFuture(e);
                  }
                  f.whenComplete(
                      (ok, err) -> {
                        if (err != null) {
                          LOG.log(
                              Level.DEBUG,
                              "{0}: membership registration failed, retrying: {1}",
                              self.id(),
                              err);
                          scheduleAttempt(failures + 1);
                        }
                      });
                },
                delay);
      }
    }

    private void closeKeepAlive() {
      CloseableClient k = keepAlive;
      keepAlive = null;
      if (k != null) {
        k.close();
      }
    }

    @Override
    public void close() {
      long id;
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        if (retry != null) {
          retry.cancel(false);
        }
        closeKeepAlive();
        id = leaseId;
      }
      open.remove(this);
      if (id != 0) {
        try {
          backend
              .lease()
              .revoke(id)
              .get(backend.settings().requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (Exception e) {
          LOG.log(
              Level.DEBUG,
              "{0}: revoking lease {1} failed; it expires by itself: {2}",
              self.id(),
              Long.toHexString(id),
              e.toString());
        }
      }
    }

    private void revokeQuietly(long id) {
      try {
        backend.lease().revoke(id).exceptionally(e -> null);
      } catch (RuntimeException e) {
        // client closing; the lease expires by itself
      }
    }

    /** Watches one lease's keep-alive; anything but a renewal means the lease may be gone. */
    private final class KeepAliveObserver implements StreamObserver<LeaseKeepAliveResponse> {
      private final long id;

      KeepAliveObserver(long id) {
        this.id = id;
      }

      @Override
      public void onNext(LeaseKeepAliveResponse response) {
        if (response.getTTL() <= 0) {
          onLost("lease not found");
        }
      }

      @Override
      public void onError(Throwable t) {
        onLost(String.valueOf(EtcdErrors.unwrap(t)));
      }

      @Override
      public void onCompleted() {
        onLost("keep-alive ended: no renewal within the TTL");
      }

      private void onLost(String why) {
        // Off jetcd's thread: closing the keep-alive from inside its callback is not safe.
        backend.execute(() -> lost(id, why));
      }
    }
  }
}
