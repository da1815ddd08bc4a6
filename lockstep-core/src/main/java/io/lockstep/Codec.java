package io.lockstep;

import java.nio.charset.StandardCharsets;

/**
 * Turns a {@link TypedMap}'s values into the bytes the replicated map stores, and back. A typed map
 * encodes on every write and decodes each stored value <b>once</b>, on the replication thread, when
 * its change is applied; reads return the decoded object.
 *
 * <p>An implementation must be thread safe and deterministic, and {@link #decode} should return an
 * object that cannot change afterwards (a record of immutable fields, an unmodifiable collection, a
 * copy): every reader of the key on this instance gets that same object. {@link #decode} may throw
 * any {@link RuntimeException} for bytes it cannot read; the typed map keeps the failure for that
 * key (see {@link TypedMap#get}) and goes on with the next change.
 *
 * <p>Built in: {@link #string()}, {@link #bytes()}; Jackson JSON for records and POJOs is {@code
 * io.lockstep.jackson.JsonCodec} in the {@code lockstep-jackson} module.
 *
 * @param <V> the value type
 */
public interface Codec<V> {

  /** The bytes stored for {@code value}. Called on the writing thread. */
  byte[] encode(V value);

  /**
   * The value stored as {@code bytes}. Called once per applied change, on the replication thread;
   * it must not block. {@code bytes} is shared with the untyped map and must not be modified.
   */
  V decode(byte[] bytes);

  /** The content type written with every value, e.g. {@code application/json}. */
  String contentType();

  /** UTF-8 text, stored as {@code text/plain; charset=utf-8}. */
  static Codec<String> string() {
    return Builtin.STRING;
  }

  /**
   * Bytes as they are, stored as {@code application/octet-stream}. Neither encode nor decode
   * copies: the array returned by a read is shared with the map and every reader, and must not be
   * modified.
   */
  static Codec<byte[]> bytes() {
    return Builtin.BYTES;
  }

  /** The built-in codecs. */
  final class Builtin {
    private Builtin() {}

    static final Codec<String> STRING =
        new Codec<>() {
          @Override
          public byte[] encode(String value) {
            return value.getBytes(StandardCharsets.UTF_8);
          }

          @Override
          public String decode(byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
          }

          @Override
          public String contentType() {
            return "text/plain; charset=utf-8";
          }

          @Override
          public String toString() {
            return "Codec.string()";
          }
        };

    static final Codec<byte[]> BYTES =
        new Codec<>() {
          @Override
          public byte[] encode(byte[] value) {
            return value;
          }

          @Override
          public byte[] decode(byte[] bytes) {
            return bytes;
          }

          @Override
          public String contentType() {
            return Versioned.DEFAULT_CONTENT_TYPE;
          }

          @Override
          public String toString() {
            return "Codec.bytes()";
          }
        };
  }
}
