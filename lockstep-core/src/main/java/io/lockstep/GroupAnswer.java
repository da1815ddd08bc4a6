package io.lockstep;

import org.jspecify.annotations.Nullable;

/**
 * The answer of {@link LoadingGroup#serve} to a peer's request, ready to be written as HTTP: the
 * status, the value (on 200), its remaining expiry and, otherwise, the error message.
 *
 * @param status 200 with the value; 400 bad key; 502 the loader failed; 504 the load passed its
 *     deadline; 503 the group is closed
 * @param value the value's bytes on 200, else empty
 * @param expiresInMillis the value's remaining lifetime in milliseconds, or -1 for none
 * @param error the error message when the status is not 200
 */
public record GroupAnswer(int status, byte[] value, long expiresInMillis, @Nullable String error) {

  /** The request header that marks a request as forwarded by a peer. */
  public static final String FORWARDED_HEADER = "X-Lockstep-Forwarded";

  /** The response header with the value's remaining lifetime in milliseconds (absent: none). */
  public static final String EXPIRES_HEADER = "X-Lockstep-Expires-In-Ms";

  /** The response header with the (percent-encoded, UTF-8) error message of a non-200 answer. */
  public static final String ERROR_HEADER = "X-Lockstep-Error";

  /** The path prefix of the peer protocol: {@code /_lockstep/groups/{group}/{key}}. */
  public static final String PATH_PREFIX = "/_lockstep/groups/";

  static final byte[] EMPTY = new byte[0];

  public static GroupAnswer ok(byte[] value, long expiresInMillis) {
    return new GroupAnswer(200, value, expiresInMillis, null);
  }

  public static GroupAnswer error(int status, String message) {
    return new GroupAnswer(status, EMPTY, -1, message);
  }
}
