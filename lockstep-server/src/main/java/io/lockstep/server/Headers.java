package io.lockstep.server;

/** The HTTP headers of the Lockstep API. */
final class Headers {
  /** The committed revision of a write, or the mod revision of the key read. */
  static final String REVISION = "X-Lockstep-Revision";

  /** The revision this instance had applied when it answered. */
  static final String APPLIED = "X-Lockstep-Applied";

  /**
   * Response, on every answer of a server whose node is open: the id of the instance answering. A
   * server asking a member checks it against the id the member registered.
   */
  static final String INSTANCE = "X-Lockstep-Instance";

  static final String RETRY_AFTER = "Retry-After";

  static final String IF_MATCH = "If-Match";

  /**
   * Request: the client's key for a write or an increment it may retry (the IETF httpapi
   * idempotency-key draft); 1 to 255 printable ASCII characters, optionally in double quotes.
   */
  static final String IDEMPOTENCY_KEY = "Idempotency-Key";

  /** Response: {@code true} when the answer is the remembered first answer to that key. */
  static final String IDEMPOTENT_REPLAYED = "Idempotent-Replayed";

  static final String ETAG = "ETag";
  static final String AUTHORIZATION = "Authorization";
  static final String WWW_AUTHENTICATE = "WWW-Authenticate";

  /** On every answer, with the value {@code nosniff}: browsers take the Content-Type as sent. */
  static final String NOSNIFF = "X-Content-Type-Options";

  private Headers() {}

  /** The ETag form of a revision: the digits in double quotes. */
  static String etag(long revision) {
    return "\"" + revision + "\"";
  }
}
