package io.lockstep;

/**
 * A request id was given again with a different request (another key, value, content type, expected
 * revision, delta or operation) while the source still remembers its first use. Nothing was
 * changed. It is an {@link IllegalArgumentException}: the caller's mistake, never retried.
 */
public final class RequestIdReusedException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public RequestIdReusedException(String message) {
    super(message);
  }
}
