package io.lockstep;

import org.jspecify.annotations.Nullable;

/**
 * One entry of a {@link TypedMap}: its key within the map, its value decoded once when its change
 * was applied (or the failure to decode it), its content type and the revision that last wrote it.
 * Immutable; the same object is handed to every reader until the key changes again.
 *
 * @param <V> the value type
 */
public final class TypedEntry<V> {
  private final String key;
  private final @Nullable V value;
  private final @Nullable ValueDecodeException failure;
  private final String contentType;
  private final long modRevision;

  private TypedEntry(
      String key,
      @Nullable V value,
      @Nullable ValueDecodeException failure,
      String contentType,
      long modRevision) {
    this.key = key;
    this.value = value;
    this.failure = failure;
    this.contentType = contentType;
    this.modRevision = modRevision;
  }

  /** An entry whose bytes decoded to {@code value}. */
  public static <V> TypedEntry<V> decoded(
      String key, V value, String contentType, long modRevision) {
    return new TypedEntry<>(key, value, null, contentType, modRevision);
  }

  /** An entry whose bytes failed to decode; {@link #value()} throws {@code failure}. */
  public static <V> TypedEntry<V> failed(
      String key, ValueDecodeException failure, String contentType, long modRevision) {
    return new TypedEntry<>(key, null, failure, contentType, modRevision);
  }

  /** The key within the typed map (without the map's name). */
  public String key() {
    return key;
  }

  /**
   * The decoded value: the same object on every call. Treat it as immutable.
   *
   * @throws ValueDecodeException when the stored bytes could not be decoded
   */
  @SuppressWarnings("NullAway") // value is non-null whenever failure is null
  public V value() {
    if (failure != null) {
      throw failure;
    }
    return value;
  }

  /** True when the stored bytes decoded; false when {@link #value()} throws. */
  public boolean isDecoded() {
    return failure == null;
  }

  /** The content type the value was stored with. */
  public String contentType() {
    return contentType;
  }

  /** The revision of the change that last wrote this key. */
  public long modRevision() {
    return modRevision;
  }

  @Override
  public String toString() {
    return "TypedEntry[key="
        + key
        + ", modRevision="
        + modRevision
        + (failure == null ? ", value=" + value : ", undecodable")
        + "]";
  }
}
