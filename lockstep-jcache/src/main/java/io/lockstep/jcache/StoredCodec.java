package io.lockstep.jcache;

import io.lockstep.Codec;
import java.nio.ByteBuffer;

/**
 * The bytes of one cache entry in the replicated map: the serialized key, the serialized value and
 * the time it expires. Decoding splits the bytes only; keys and values are deserialized by the
 * cache that reads them, with its own class loader, on every read (store-by-value).
 *
 * <p>Layout: a version byte (1), the expiry time (epoch milliseconds, {@link Long#MAX_VALUE} for
 * never), the key's length and bytes, then the value's bytes.
 */
final class StoredCodec implements Codec<StoredCodec.Stored> {
  static final StoredCodec INSTANCE = new StoredCodec();
  private static final byte VERSION = 1;

  /** One stored entry. The arrays are shared by every reader and never modified. */
  static final class Stored {
    private final byte[] key;
    private final byte[] value;
    private final long expiresAt;

    Stored(byte[] key, byte[] value, long expiresAt) {
      this.key = key;
      this.value = value;
      this.expiresAt = expiresAt;
    }

    /** The serialized key. */
    byte[] key() {
      return key;
    }

    /** The serialized value. */
    byte[] value() {
      return value;
    }

    /** When the entry expires, epoch milliseconds; {@link Long#MAX_VALUE} for never. */
    long expiresAt() {
      return expiresAt;
    }

    boolean expiredAt(long now) {
      return expiresAt <= now;
    }
  }

  private StoredCodec() {}

  @Override
  public byte[] encode(Stored s) {
    ByteBuffer b = ByteBuffer.allocate(1 + 8 + 4 + s.key().length + s.value().length);
    b.put(VERSION).putLong(s.expiresAt()).putInt(s.key().length).put(s.key()).put(s.value());
    return b.array();
  }

  @Override
  public Stored decode(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    byte version = b.get();
    if (version != VERSION) {
      throw new IllegalArgumentException("not a JCache entry of version " + VERSION);
    }
    long expiresAt = b.getLong();
    int keyLength = b.getInt();
    if (keyLength < 0 || keyLength > b.remaining()) {
      throw new IllegalArgumentException("bad key length " + keyLength);
    }
    byte[] key = new byte[keyLength];
    b.get(key);
    byte[] value = new byte[b.remaining()];
    b.get(value);
    return new Stored(key, value, expiresAt);
  }

  @Override
  public String contentType() {
    return "application/x-lockstep-jcache-entry";
  }

  @Override
  public String toString() {
    return "StoredCodec";
  }
}
