package io.lockstep.etcd;

import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.grpc.Status;
import io.lockstep.BackendUnavailableException;
import java.net.ConnectException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Turns jetcd and gRPC failures into the exceptions the SPI promises: {@link
 * IllegalArgumentException} when etcd refused the request itself as invalid (nothing stored), and
 * {@link BackendUnavailableException} for everything else (unreachable, deadline exceeded, no
 * leader, quota exhausted, ...), carrying the endpoints and the gRPC code.
 */
final class EtcdErrors {
  private EtcdErrors() {}

  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * The exception to report for a failed operation.
   *
   * @param what the operation, e.g. {@code put of 'k'}
   * @param endpoints where it was sent, for the message
   * @param write whether the operation writes: then the result says whether it may have been
   *     committed (anything but a refused connection, which proves it never left)
   */
  static RuntimeException translate(Throwable failure, String what, String endpoints, boolean write) {
    Throwable t = unwrap(failure);
    if (t instanceof BackendUnavailableException || t instanceof IllegalArgumentException) {
      return (RuntimeException) t;
    }
    String code = code(t);
    String detail = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    if ("INVALID_ARGUMENT".equals(code)) {
      return new IllegalArgumentException("etcd refused the " + what + " as invalid: " + detail, t);
    }
    boolean mayHaveCommitted = write && !refusedConnection(t);
    return new BackendUnavailableException("etcd " + what + " failed (" + code + ") at " + endpoints
        + ": " + detail, t, mayHaveCommitted);
  }

  /** The gRPC status code name of a failure, or its class name when it carries none. */
  static String code(Throwable t) {
    if (t instanceof EtcdException e && e.getErrorCode() != null) {
      return e.getErrorCode().name();
    }
    Status s = Status.fromThrowable(t);
    if (s.getCode() != Status.Code.UNKNOWN || hasStatus(t)) {
      return s.getCode().name();
    }
    return t.getClass().getSimpleName();
  }

  static boolean isCode(Throwable t, ErrorCode code) {
    return code.name().equals(code(unwrap(t)));
  }

  private static boolean hasStatus(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof io.grpc.StatusRuntimeException || c instanceof io.grpc.StatusException) {
        return true;
      }
    }
    return false;
  }

  private static boolean refusedConnection(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ConnectException) {
        return true;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return false;
  }
}
