package io.lockstep.internal;

import io.lockstep.BackendUnavailableException;
import io.lockstep.FleetNotConvergedException;
import io.lockstep.FleetStatus;
import io.lockstep.FleetStatus.MemberRevision;
import io.lockstep.LockstepConfig;
import io.lockstep.Member;
import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * A node's {@link io.lockstep.Lockstep#fleet()} and {@link io.lockstep.Lockstep#awaitFleet}: lists
 * the members, asks each one's {@code GET /_lockstep/replica} through a {@link PeerClient} (made on
 * first use, with the node's peer secret), and polls until a revision is everywhere. Thread safe.
 */
final class Fleet implements AutoCloseable {
  static final long FIRST_POLL_MILLIS = 20;
  static final long MAX_POLL_MILLIS = 100;

  private final LockstepConfig config;
  private final Member self;
  private final Function<Duration, CompletableFuture<List<Member>>> members;
  private final LongSupplier applied;
  private @Nullable PeerClient client; // guarded by this
  private boolean closed; // guarded by this

  /**
   * @param members the member list, its listing bounded by the given duration; fails with {@link
   *     BackendUnavailableException}
   * @param applied this instance's applied revision (it answers for itself without a call)
   */
  Fleet(
      LockstepConfig config,
      Member self,
      Function<Duration, CompletableFuture<List<Member>>> members,
      LongSupplier applied) {
    this.config = config;
    this.self = self;
    this.members = members;
    this.applied = applied;
  }

  /** {@link io.lockstep.Lockstep#fleet()}. */
  CompletableFuture<FleetStatus> status() {
    return status(config.operationTimeout());
  }

  /** The status, with the listing and each member's call bounded by {@code bound}. */
  private CompletableFuture<FleetStatus> status(Duration bound) {
    return members
        .apply(bound)
        .thenCompose(
            listed -> {
              Instant askedAt = Instant.now();
              List<Member> sorted =
                  listed.stream().sorted(Comparator.comparing(Member::id)).toList();
              List<CompletableFuture<MemberRevision>> asks = new ArrayList<>();
              for (Member m : sorted) {
                asks.add(ask(m, bound));
              }
              return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
                  .thenApply(
                      v ->
                          new FleetStatus(
                              asks.stream().map(CompletableFuture::join).toList(), askedAt));
            })
        // one hop to the callback executor, never a backend's or the HTTP client's thread
        .whenCompleteAsync((s, err) -> {}, config.callbackExecutor());
  }

  /** One member's applied revision; never fails. */
  private CompletableFuture<MemberRevision> ask(Member m, Duration bound) {
    if (m.id().equals(self.id())) {
      return CompletableFuture.completedFuture(MemberRevision.answered(m, applied.getAsLong()));
    }
    if (m.url().isBlank()) {
      return CompletableFuture.completedFuture(MemberRevision.unreachable(m, "no advertised URL"));
    }
    PeerClient c = client();
    if (c == null) {
      return CompletableFuture.completedFuture(
          MemberRevision.unreachable(m, "node " + self.id() + " is closed"));
    }
    return c.replica(m.url())
        .orTimeout(bound.toMillis(), TimeUnit.MILLISECONDS)
        .handle(
            (a, err) -> {
              if (err != null) {
                return MemberRevision.unreachable(m, describe(err, bound));
              }
              if (!a.member().equals(m.id())) {
                return MemberRevision.unreachable(
                    m, m.url() + " answered as instance '" + a.member() + "'");
              }
              return MemberRevision.answered(m, a.appliedRevision());
            });
  }

  static String describe(Throwable err, Duration bound) {
    Throwable c = err;
    while ((c instanceof CompletionException || c instanceof ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof TimeoutException || c instanceof HttpTimeoutException) {
      return "no answer within " + bound.toMillis() + " ms";
    }
    if (c instanceof ConnectException) {
      return "connection refused";
    }
    String msg = c.getMessage();
    return c.getClass().getSimpleName() + (msg == null || msg.isBlank() ? "" : ": " + msg);
  }

  private synchronized @Nullable PeerClient client() {
    if (closed) {
      return null;
    }
    if (client == null) {
      client = new PeerClient(config.operationTimeout(), config.peerSecret());
    }
    return client;
  }

  private synchronized boolean isClosed() {
    return closed;
  }

  /** {@link io.lockstep.Lockstep#awaitFleet}. */
  CompletableFuture<FleetStatus> await(long revision, Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("timeout: must be positive, was " + timeout);
    }
    return new Wait(revision, timeout).start();
  }

  /** One {@link #await}: polls until converged, closed, cancelled or past the deadline. */
  private final class Wait {
    private final long revision;
    private final Duration timeout;
    private final long deadlineNanos;
    private final CompletableFuture<FleetStatus> result = new CompletableFuture<>();
    private volatile @Nullable FleetStatus last;
    private volatile @Nullable Throwable lastError;
    private volatile boolean expired; // the timeout passed while the first poll was asking
    private long pauseMillis = FIRST_POLL_MILLIS; // one poll at a time: no race

    Wait(long revision, Duration timeout) {
      this.revision = revision;
      this.timeout = timeout;
      this.deadlineNanos = System.nanoTime() + timeout.toNanos();
    }

    CompletableFuture<FleetStatus> start() {
      CompletableFuture.delayedExecutor(
              timeout.toNanos(), TimeUnit.NANOSECONDS, config.callbackExecutor())
          .execute(this::giveUp);
      poll();
      return result;
    }

    private void poll() {
      if (result.isDone()) {
        return;
      }
      if (isClosed()) {
        result.completeExceptionally(
            new IllegalStateException("node " + self.id() + " closed while awaiting the fleet"));
        return;
      }
      long remaining = deadlineNanos - System.nanoTime();
      if (remaining <= 0) {
        return; // giveUp's
      }
      Duration bound = Duration.ofNanos(Math.min(remaining, config.operationTimeout().toNanos()));
      CompletableFuture<FleetStatus> f;
      try {
        f = status(bound);
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      f.whenComplete(
          (s, err) -> {
            if (s != null) {
              last = s;
              if (s.converged(revision)) {
                result.complete(s);
                return;
              }
            } else {
              lastError = err;
            }
            if (expired) {
              giveUp();
              return;
            }
            long pause = pauseMillis;
            pauseMillis = Math.min(MAX_POLL_MILLIS, pause + Math.max(1, pause / 4));
            CompletableFuture.delayedExecutor(
                    pause, TimeUnit.MILLISECONDS, config.callbackExecutor())
                .execute(this::poll);
          });
    }

    private void giveUp() {
      if (result.isDone()) {
        return;
      }
      FleetStatus s = last;
      if (s != null) {
        result.completeExceptionally(new FleetNotConvergedException(revision, s, timeout));
        return;
      }
      Throwable err = lastError;
      if (err == null && !expired) {
        // The first poll is still asking (each call is bounded by the time that was left, so it
        // ends about now): give up with what it finds.
        expired = true;
        if (last != null || lastError != null) {
          giveUp();
        }
        return;
      }
      Throwable cause =
          err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
      result.completeExceptionally(
          cause instanceof BackendUnavailableException b
              ? b
              : new BackendUnavailableException(
                  "awaitFleet: the member list was not read within "
                      + timeout.toMillis()
                      + " ms"
                      + (cause == null ? "" : ": " + cause),
                  cause));
    }
  }

  /** Closes the HTTP client; later calls find every other member unreachable. */
  @Override
  public void close() {
    PeerClient c;
    synchronized (this) {
      closed = true;
      c = client;
      client = null;
    }
    if (c != null) {
      c.close();
    }
  }
}
