package io.lockstep.etcd;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * How a map value and its content type are stored in one etcd value.
 *
 * <ul>
 *   <li>Content type exactly {@value #JSON}: the value bytes are stored <em>raw</em>, byte for
 *       byte, so programs that read and write plain JSON under the same keys (the etcd lab's {@code
 *       json.dumps(value)}, {@code etcdctl}) interoperate. The bytes must be one valid JSON text;
 *       anything else is refused ({@link IllegalArgumentException}), because it would read back as
 *       {@value #OCTET_STREAM}.
 *   <li>Any other content type: an <em>envelope</em>: the four bytes {@code 0x00 'L' 'S' '1'}, one
 *       byte holding the length of the content type, the content type in US-ASCII (1 to 255
 *       printable characters), then the value bytes.
 * </ul>
 *
 * <p>Reading: an envelope gives its content type and value. Anything else was written raw, by us or
 * by another program: it reads as {@value #JSON} when it parses as one JSON text, otherwise as
 * {@value #OCTET_STREAM}. A raw value can never be mistaken for an envelope: JSON text cannot start
 * with a zero byte. Stateless and thread safe.
 */
public final class EtcdValueCodec {

  /** The content type stored raw. */
  public static final String JSON = "application/json";

  /** The content type of raw values that are not JSON. */
  public static final String OCTET_STREAM = "application/octet-stream";

  private static final byte[] MAGIC = {0x00, 'L', 'S', '1'};
  private static final int HEADER = MAGIC.length + 1;
  private static final JsonFactory JSON_FACTORY = JsonFactory.builder().build();

  private EtcdValueCodec() {}

  /** A decoded value: its content type and bytes. */
  public record Decoded(String contentType, byte[] value) {
    public Decoded {
      Objects.requireNonNull(contentType, "contentType");
      Objects.requireNonNull(value, "value");
    }
  }

  /**
   * The bytes to store for {@code value} written with {@code contentType}.
   *
   * @throws IllegalArgumentException when the content type is not 1 to 255 printable US-ASCII
   *     characters, or is {@value #JSON} and the value is not valid JSON
   */
  public static byte[] encode(byte[] value, String contentType) {
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(contentType, "contentType");
    if (JSON.equals(contentType)) {
      if (!isJson(value)) {
        throw new IllegalArgumentException(
            "value: not valid JSON, but the content type is " + JSON);
      }
      return value;
    }
    byte[] ct = checkedContentType(contentType);
    byte[] out = new byte[HEADER + ct.length + value.length];
    System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
    out[MAGIC.length] = (byte) ct.length;
    System.arraycopy(ct, 0, out, HEADER, ct.length);
    System.arraycopy(value, 0, out, HEADER + ct.length, value.length);
    return out;
  }

  /** The content type and value held in stored bytes; see the class comment. */
  public static Decoded decode(byte[] stored) {
    Objects.requireNonNull(stored, "stored");
    if (isEnvelope(stored)) {
      int len = stored[MAGIC.length] & 0xff;
      String ct = new String(stored, HEADER, len, StandardCharsets.US_ASCII);
      return new Decoded(ct, Arrays.copyOfRange(stored, HEADER + len, stored.length));
    }
    return new Decoded(isJson(stored) ? JSON : OCTET_STREAM, stored);
  }

  /**
   * True when {@code bytes} are exactly one JSON text (RFC 8259), surrounding whitespace allowed.
   */
  public static boolean isJson(byte[] bytes) {
    if (bytes.length == 0 || bytes[0] == 0) {
      return false; // JSON never starts with a zero byte; saves a parser for envelopes
    }
    try (JsonParser p = JSON_FACTORY.createParser(bytes)) {
      if (p.nextToken() == null) {
        return false;
      }
      p.skipChildren();
      return p.nextToken() == null;
    } catch (IOException | RuntimeException e) {
      return false; // malformed, or beyond Jackson's nesting/length limits: not JSON to us
    }
  }

  private static boolean isEnvelope(byte[] b) {
    if (b.length < HEADER
        || b[0] != MAGIC[0]
        || b[1] != MAGIC[1]
        || b[2] != MAGIC[2]
        || b[3] != MAGIC[3]) {
      return false;
    }
    int len = b[MAGIC.length] & 0xff;
    if (len == 0 || b.length < HEADER + len) {
      return false;
    }
    for (int i = HEADER; i < HEADER + len; i++) {
      if (b[i] < 0x20 || b[i] > 0x7e) {
        return false;
      }
    }
    return true;
  }

  private static byte[] checkedContentType(String contentType) {
    int n = contentType.length();
    if (n == 0 || n > 255) {
      throw new IllegalArgumentException("contentType: must be 1 to 255 characters, was " + n);
    }
    for (int i = 0; i < n; i++) {
      char c = contentType.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        throw new IllegalArgumentException(
            "contentType: only printable US-ASCII is allowed, found U+"
                + String.format("%04X", (int) c)
                + " at "
                + i
                + " in '"
                + contentType
                + "'");
      }
    }
    return contentType.getBytes(StandardCharsets.US_ASCII);
  }
}
