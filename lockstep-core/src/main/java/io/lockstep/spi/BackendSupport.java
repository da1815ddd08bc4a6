package io.lockstep.spi;

import io.lockstep.BackendUnavailableException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * What every backend adapter does the same way, written once: the argument checks the {@link
 * Backend} contract makes, turning a client library's failures into the exceptions the contract
 * promises, and the daemon threads of a backend's housekeeping. What is particular to one backend
 * (which failures prove a write never left, how a message names the server) stays in the backend,
 * as the function given to {@link #translate}. Stateless and thread safe.
 */
public final class BackendSupport {
  /** How deep {@link #anyCause} looks, so that a cycle of causes cannot hold it. */
  private static final int MAX_CAUSES = 64;

  private BackendSupport() {}

  // ---------------------------------------------------------------------------------------------
  // Arguments
  // ---------------------------------------------------------------------------------------------

  /**
   * Checks the {@code fromRevision} of {@link Backend#watch}.
   *
   * @throws IllegalArgumentException unless it is at least 1
   */
  public static void checkFromRevision(long fromRevision) {
    if (fromRevision < 1) {
      throw new IllegalArgumentException("fromRevision: must be >= 1, was " + fromRevision);
    }
  }

  /**
   * Checks the {@code expectedRevision} of {@link Backend#put} and {@link Backend#delete}.
   *
   * @throws IllegalArgumentException unless it is {@link Backend#ANY_REVISION} or at least 0
   */
  public static void checkExpectedRevision(long expectedRevision) {
    if (expectedRevision < 0 && expectedRevision != Backend.ANY_REVISION) {
      throw new IllegalArgumentException(
          "expectedRevision: must be >= 0 or ANY_REVISION, was " + expectedRevision);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Failures
  // ---------------------------------------------------------------------------------------------

  /** The failure inside any {@link CompletionException} and {@link ExecutionException} wrappers. */
  public static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** A failure's message, or its class's simple name when it has none: the tail of a message. */
  public static String detail(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  /** Whether {@code t} or one of its causes passes {@code test}. */
  public static boolean anyCause(Throwable t, Predicate<? super Throwable> test) {
    Throwable c = t;
    for (int depth = 0; c != null && depth < MAX_CAUSES; depth++, c = c.getCause()) {
      if (test.test(c)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The exception to report for a failed backend operation. The failure is {@link #unwrap
   * unwrapped}; one the contract already promises ({@link BackendUnavailableException}, {@link
   * IllegalArgumentException}) is returned as it is; anything else is what {@code translator} makes
   * of it (usually a {@link BackendUnavailableException} naming the operation and the server).
   */
  public static RuntimeException translate(
      Throwable failure, Function<? super Throwable, ? extends RuntimeException> translator) {
    Throwable t = unwrap(failure);
    if (t instanceof BackendUnavailableException || t instanceof IllegalArgumentException) {
      return (RuntimeException) t;
    }
    return translator.apply(t);
  }

  /** {@code f}, failing with what {@link #translate} makes of its failure. */
  public static <T> CompletableFuture<T> translated(
      CompletableFuture<T> f, Function<? super Throwable, ? extends RuntimeException> translator) {
    return f.handle(
        (v, err) -> {
          if (err != null) {
            throw translate(err, translator);
          }
          return v;
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Threads
  // ---------------------------------------------------------------------------------------------

  /** A factory of daemon threads named {@code name-1}, {@code name-2}, ... */
  public static ThreadFactory daemonThreads(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> daemon(r, name + "-" + n.incrementAndGet());
  }

  /**
   * A scheduler of one daemon thread named {@code threadName}, for a backend's housekeeping
   * (keep-alives, retries, closing things off the client's own threads). Cancelled tasks leave its
   * queue at once; {@link ScheduledThreadPoolExecutor#shutdownNow()} it when the backend closes.
   */
  public static ScheduledThreadPoolExecutor housekeeping(String threadName) {
    ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> daemon(r, threadName));
    ex.setRemoveOnCancelPolicy(true);
    return ex;
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
