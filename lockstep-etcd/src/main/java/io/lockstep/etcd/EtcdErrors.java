package io.lockstep.etcd;

import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.lockstep.BackendUnavailableException;
import io.lockstep.spi.BackendSupport;
import java.net.ConnectException;

/**
 * Turns jetcd and gRPC failures into the exceptions the SPI promises: {@link
 * IllegalArgumentException} when etcd refused the request itself as invalid (nothing stored), and
 * {@link BackendUnavailableException} for everything else (unreachable, deadline exceeded, no
 * leader, quota exhausted, ...), carrying the endpoints and the gRPC code.
 */
final class EtcdErrors {
  private EtcdErrors() {}

  /** See {@link BackendSupport#unwrap}. */
  static Throwable unwrap(Throwable t) {
    return BackendSupport.unwrap(t);
  }

  /**
   * The exception to report for a failed operation.
   *
   * @param what the operation, e.g. {@code put of 'k'}
   * @param endpoints where it was sent, for the message
   * @param write whether the operation writes: then the result says whether it may have been
   *     committed (anything but a refused connection, which proves it never left)
   */
  static RuntimeException translate(
      Throwable failure, String what, String endpoints, boolean write) {
    return BackendSupport.translate(
        failure,
        t -> {
          String code = code(t);
          if ("INVALID_ARGUMENT".equals(code)) {
            return new IllegalArgumentException(
                "etcd refused the " + what + " as invalid: " + BackendSupport.detail(t), t);
          }
          boolean mayHaveCommitted =
              write && !BackendSupport.anyCause(t, ConnectException.class::isInstance);
          return new BackendUnavailableException(
              "etcd "
                  + what
                  + " failed ("
                  + code
                  + ") at "
                  + endpoints
                  + ": "
                  + BackendSupport.detail(t),
              t,
              mayHaveCommitted);
        });
  }

  /** The gRPC status code name of a failure, or its class name when it carries none. */
  static String code(Throwable t) {
    if (t instanceof EtcdException e && e.getErrorCode() != null) {
      return e.getErrorCode().name();
    }
    Status s = Status.fromThrowable(t);
    if (s.getCode() != Status.Code.UNKNOWN
        || BackendSupport.anyCause(
            t, c -> c instanceof StatusRuntimeException || c instanceof StatusException)) {
      return s.getCode().name();
    }
    return t.getClass().getSimpleName();
  }

  static boolean isCode(Throwable t, ErrorCode code) {
    return code.name().equals(code(unwrap(t)));
  }
}
