package io.lockstep.redis;

import io.lockstep.Versioned;
import io.lockstep.spi.Change;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The byte formats the write script produces, decoded (and, for tests and outside tools, encoded)
 * in Java. Both are length-prefixed, so keys, content types and values may hold any bytes.
 *
 * <ul>
 *   <li><b>Envelope</b>, the value of a map key's field in {@code <ns>:data}: {@code
 *       <modRevision>:<typeLength>:<contentType><value bytes>}, decimal numbers, the length in
 *       bytes of the UTF-8 content type.
 *   <li><b>Change message</b>, published on {@code <ns>:changes} and stored as field {@code c} of
 *       stream entry {@code <rev>-0}: {@code <rev>:P:<keyLength>:<key><envelope>} for a put, {@code
 *       <rev>:D:<keyLength>:<key>} for a delete.
 * </ul>
 *
 * <p>Stateless; every method is thread safe. Malformed input fails with {@link
 * IllegalArgumentException} naming what is wrong.
 */
final class RedisValueCodec {
  private static final byte[] DEFAULT_TYPE =
      Versioned.DEFAULT_CONTENT_TYPE.getBytes(StandardCharsets.UTF_8);

  private RedisValueCodec() {}

  /** A decoded change message. */
  record Message(long revision, Change change) {}

  /** The envelope of a value written at {@code modRevision}. */
  static byte[] envelope(long modRevision, String contentType, byte[] value) {
    byte[] type = contentType.getBytes(StandardCharsets.UTF_8);
    byte[] head = (modRevision + ":" + type.length + ":").getBytes(StandardCharsets.US_ASCII);
    byte[] out = Arrays.copyOf(head, head.length + type.length + value.length);
    System.arraycopy(type, 0, out, head.length, type.length);
    System.arraycopy(value, 0, out, head.length + type.length, value.length);
    return out;
  }

  /** Decodes an envelope into the entry of {@code key}. */
  static Versioned decodeEnvelope(String key, byte[] env) {
    return decodeEnvelope(key, env, 0);
  }

  private static Versioned decodeEnvelope(String key, byte[] b, int from) {
    Cursor c = new Cursor(b, from);
    long rev = c.number("mod revision");
    int typeLen = (int) c.number("content type length");
    String type = c.contentType(typeLen);
    byte[] value = Arrays.copyOfRange(b, c.pos, b.length);
    return new Versioned(key, value, type, rev);
  }

  /** A change message as the script writes it. */
  static byte[] message(long revision, Change change) {
    byte[] key = change.key().getBytes(StandardCharsets.UTF_8);
    boolean put = change.type() == Change.Type.PUT;
    byte[] head =
        (revision + (put ? ":P:" : ":D:") + key.length + ":").getBytes(StandardCharsets.US_ASCII);
    byte[] env =
        put
            ? envelope(
                change.value().modRevision(), change.value().contentType(), change.value().value())
            : new byte[0];
    byte[] out = Arrays.copyOf(head, head.length + key.length + env.length);
    System.arraycopy(key, 0, out, head.length, key.length);
    System.arraycopy(env, 0, out, head.length + key.length, env.length);
    return out;
  }

  /** Decodes a change message. */
  static Message decodeMessage(byte[] b) {
    Cursor c = new Cursor(b, 0);
    long rev = c.number("revision");
    if (c.pos + 2 > b.length || b[c.pos + 1] != ':' || (b[c.pos] != 'P' && b[c.pos] != 'D')) {
      throw new IllegalArgumentException(
          "change message at revision " + rev + ": no P: or D: at byte " + c.pos);
    }
    boolean put = b[c.pos] == 'P';
    c.pos += 2;
    int keyLen = (int) c.number("key length");
    String key = c.utf8(keyLen, "key");
    if (!put) {
      if (c.pos != b.length) {
        throw new IllegalArgumentException(
            "change message at revision " + rev + ": bytes after a delete");
      }
      return new Message(rev, Change.delete(key));
    }
    Versioned v = decodeEnvelope(key, b, c.pos);
    if (v.modRevision() != rev) {
      throw new IllegalArgumentException(
          "change message at revision " + rev + " carries mod revision " + v.modRevision());
    }
    return new Message(rev, Change.put(v));
  }

  private static final class Cursor {
    final byte[] b;
    int pos;

    Cursor(byte[] b, int pos) {
      this.b = b;
      this.pos = pos;
    }

    long number(String what) {
      long n = 0;
      int start = pos;
      while (pos < b.length && b[pos] != ':') {
        byte d = b[pos];
        if (d < '0' || d > '9' || pos - start >= 18) {
          throw new IllegalArgumentException("malformed " + what + " at byte " + pos);
        }
        n = n * 10 + (d - '0');
        pos++;
      }
      if (pos == start || pos >= b.length) {
        throw new IllegalArgumentException(
            "malformed " + what + " at byte " + start + ": no digits or no ':'");
      }
      pos++; // the ':'
      return n;
    }

    private static boolean isAscii(byte[] b, int from, int len) {
      for (int i = from, end = from + len; i < end; i++) {
        if (b[i] < 0) {
          return false;
        }
      }
      return true;
    }

    /** The content type: the default one (almost every value's) without a new string. */
    String contentType(int len) {
      if (len == DEFAULT_TYPE.length
          && len <= b.length - pos
          && Arrays.equals(b, pos, pos + len, DEFAULT_TYPE, 0, len)) {
        pos += len;
        return Versioned.DEFAULT_CONTENT_TYPE;
      }
      return utf8(len, "content type");
    }

    String utf8(int len, String what) {
      if (len > b.length - pos) {
        throw new IllegalArgumentException(
            what + " of " + len + " bytes runs past the end (" + (b.length - pos) + " left)");
      }
      if (isAscii(b, pos, len)) { // the common case: no decoder, no checks to report
        String s = new String(b, pos, len, StandardCharsets.ISO_8859_1);
        pos += len;
        return s;
      }
      try {
        String s =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(b, pos, len))
                .toString();
        pos += len;
        return s;
      } catch (CharacterCodingException e) {
        throw new IllegalArgumentException(what + " is not valid UTF-8", e);
      }
    }
  }
}
