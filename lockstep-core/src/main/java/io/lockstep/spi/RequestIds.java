package io.lockstep.spi;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What backends remember about a request id, computed the same way by every backend.
 *
 * <p>A request id is the caller's (for example an HTTP {@code Idempotency-Key}), of any length and
 * characters; backends store it as {@link #digest(String)}, 32 hex digits. With it they remember a
 * {@link #put fingerprint} of the request, so the same id with a different request is refused with
 * {@link io.lockstep.RequestIdReusedException} instead of answering another request's result.
 */
public final class RequestIds {
  private RequestIds() {}

  /**
   * 128 bits of SHA-256 of the id, as 32 lowercase hex digits: the name backends store it under.
   */
  public static String digest(String requestId) {
    return hash(requestId.getBytes(StandardCharsets.UTF_8));
  }

  /** The fingerprint of a put (or compare-and-set). */
  public static String put(String key, byte[] value, String contentType, long expectedRevision) {
    return fingerprint("put", key, contentType, Long.toString(expectedRevision), value);
  }

  /** The fingerprint of a delete (or compare-and-delete). */
  public static String delete(String key, long expectedRevision) {
    return fingerprint("del", key, "", Long.toString(expectedRevision), new byte[0]);
  }

  /** The fingerprint of a counter increment. */
  public static String increment(String name, long delta) {
    return fingerprint("inc", name, "", Long.toString(delta), new byte[0]);
  }

  /** The message a backend fails with when an id comes back with another request. */
  public static io.lockstep.RequestIdReusedException reused(String what) {
    return new io.lockstep.RequestIdReusedException(
        what
            + ": its request id was already used for a different request (other key, value,"
            + " content type, condition, delta or operation); nothing was changed");
  }

  private static String fingerprint(String op, String key, String type, String cond, byte[] v) {
    byte[][] parts = {
      op.getBytes(StandardCharsets.UTF_8),
      key.getBytes(StandardCharsets.UTF_8),
      type.getBytes(StandardCharsets.UTF_8),
      cond.getBytes(StandardCharsets.UTF_8),
      v
    };
    int n = 0;
    for (byte[] p : parts) {
      n += 4 + p.length;
    }
    ByteBuffer b = ByteBuffer.allocate(n);
    for (byte[] p : parts) {
      b.putInt(p.length).put(p);
    }
    return hash(b.array());
  }

  private static String hash(byte[] bytes) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(bytes);
      return HexFormat.of().formatHex(d, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }
}
