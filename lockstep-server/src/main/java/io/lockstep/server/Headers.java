package io.lockstep.server;

/** The HTTP headers of the Lockstep API. */
final class Headers {
  /** The committed revision of a write, or the mod revision of the key read. */
  static final String REVISION = "X-Lockstep-Revision";

  /** The revision this instance had applied when it answered. */
  static final String APPLIED = "X-Lockstep-Applied";

  static final String IF_MATCH = "If-Match";
  static final String ETAG = "ETag";
  static final String AUTHORIZATION = "Authorization";
  static final String WWW_AUTHENTICATE = "WWW-Authenticate";

  private Headers() {}

  /** The ETag form of a revision: the digits in double quotes. */
  static String etag(long revision) {
    return "\"" + revision + "\"";
  }
}
