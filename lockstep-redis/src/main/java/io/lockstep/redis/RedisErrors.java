package io.lockstep.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lockstep.BackendUnavailableException;
import java.net.ConnectException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Turns Lettuce failures into the exceptions the SPI promises: {@link BackendUnavailableException}
 * for everything (unreachable, timed out, refused while disconnected, a server error such as OOM or
 * LOADING), carrying the address. A write says whether it may have been committed: not when the
 * command never left (not connected, connection refused), or when Redis answered with an error
 * raised before the script changed anything.
 */
final class RedisErrors {
  private RedisErrors() {}

  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  static RuntimeException translate(Throwable failure, String what, String address, boolean write) {
    Throwable t = unwrap(failure);
    if (t instanceof BackendUnavailableException || t instanceof IllegalArgumentException) {
      return (RuntimeException) t;
    }
    String detail = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    boolean neverSent = neverSent(t);
    boolean answered = t instanceof RedisCommandExecutionException;
    return new BackendUnavailableException("redis " + what + " failed at " + address + ": " + detail, t,
        write && !neverSent && !answered);
  }

  /** Redis answered that it does not know the script (EVALSHA before the script was loaded). */
  static boolean isNoScript(Throwable failure) {
    Throwable t = unwrap(failure);
    return t instanceof RedisCommandExecutionException && t.getMessage() != null && t.getMessage().startsWith("NOSCRIPT");
  }

  private static boolean neverSent(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ConnectException || c instanceof RedisConnectionException) {
        return true;
      }
      String m = c.getMessage();
      if (m != null && m.contains("Commands are rejected")) {
        return true; // DisconnectedBehavior.REJECT_COMMANDS
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return false;
  }
}
