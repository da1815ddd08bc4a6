package io.lockstep.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lockstep.BackendUnavailableException;
import io.lockstep.spi.BackendSupport;
import java.net.ConnectException;

/**
 * Turns Lettuce failures into the exceptions the SPI promises: {@link BackendUnavailableException}
 * for everything (unreachable, timed out, refused while disconnected, a server error such as OOM or
 * LOADING), carrying the address. A write says whether it may have been committed: not when the
 * command never left (not connected, connection refused), or when Redis answered with an error
 * raised before the script changed anything.
 */
final class RedisErrors {
  private RedisErrors() {}

  static RuntimeException translate(Throwable failure, String what, String address, boolean write) {
    return BackendSupport.translate(
        failure,
        t -> {
          boolean answered = t instanceof RedisCommandExecutionException;
          return new BackendUnavailableException(
              "redis " + what + " failed at " + address + ": " + BackendSupport.detail(t),
              t,
              write && !neverSent(t) && !answered);
        });
  }

  /** Redis answered that it does not know the script (EVALSHA before the script was loaded). */
  static boolean isNoScript(Throwable failure) {
    Throwable t = BackendSupport.unwrap(failure);
    return t instanceof RedisCommandExecutionException
        && t.getMessage() != null
        && t.getMessage().startsWith("NOSCRIPT");
  }

  /** The command never left: not connected, connection refused, or rejected while disconnected. */
  private static boolean neverSent(Throwable t) {
    return BackendSupport.anyCause(
        t,
        c ->
            c instanceof ConnectException
                || c instanceof RedisConnectionException
                || (c.getMessage() != null
                    && c.getMessage().contains("Commands are rejected"))); // REJECT_COMMANDS
  }
}
