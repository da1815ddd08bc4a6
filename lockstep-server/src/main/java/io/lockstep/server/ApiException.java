package io.lockstep.server;

import java.util.Map;

/**
 * An HTTP error answer, thrown by handlers and rendered by {@link ErrorMapper} as {@code {"error":
 * code, "message": message}} with {@code status} and the extra {@code headers}.
 */
final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String code;
  private final transient Map<String, String> headers;

  ApiException(int status, String code, String message, Map<String, String> headers) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
    this.headers = Map.copyOf(headers);
  }

  ApiException(int status, String code, String message) {
    this(status, code, message, Map.of());
  }

  static ApiException badRequest(String message) {
    return new ApiException(400, ErrorMapper.BAD_REQUEST, message);
  }

  static ApiException notFound(String message, Map<String, String> headers) {
    return new ApiException(404, ErrorMapper.NOT_FOUND, message, headers);
  }

  int status() {
    return status;
  }

  String code() {
    return code;
  }

  Map<String, String> headers() {
    return headers;
  }
}
