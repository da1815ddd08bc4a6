package io.lockstep.internal;

import io.lockstep.BackendUnavailableException;
import io.lockstep.LockstepException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** How the engines call a backend: one timeout, one way of reporting failures. */
final class BackendCalls {
  private BackendCalls() {}

  /**
   * Applies {@code timeout} to {@code op} and turns every backend failure into {@link
   * BackendUnavailableException} (a write that timed out may have committed); validation errors
   * pass through as they are.
   */
  static <T> CompletableFuture<T> guard(
      CompletableFuture<T> op, Duration timeout, String what, boolean write) {
    return op.orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS)
        .handle(
            (v, err) -> {
              if (err == null) {
                return v;
              }
              Throwable cause = unwrap(err);
              if (cause instanceof BackendUnavailableException
                  || cause instanceof IllegalArgumentException) {
                throw (RuntimeException) cause;
              }
              if (cause instanceof TimeoutException) {
                throw new BackendUnavailableException(
                    what + ": the backend did not answer within " + timeout.toMillis() + " ms",
                    cause,
                    write);
              }
              throw new BackendUnavailableException(what + " failed: " + cause, cause, write);
            });
  }

  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** Waits for {@code f}, rethrowing its failure unwrapped. */
  static <T> T join(CompletableFuture<T> f) {
    try {
      return f.join();
    } catch (CompletionException e) {
      Throwable cause = unwrap(e);
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new LockstepException(cause.toString(), cause);
    }
  }
}
