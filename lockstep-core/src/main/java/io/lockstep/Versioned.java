package io.lockstep;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of a replicated map: a key, its value bytes with their content type, and the revision
 * that last modified it.
 *
 * <p>Instances are immutable by contract: the value array is shared with the map and with every
 * other reader, and must not be modified. Equality compares the key, the bytes, the content type
 * and the revision.
 *
 * @param key the key, never empty
 * @param value the value bytes, stored and returned byte for byte
 * @param contentType the media type the value was written with
 * @param modRevision the revision of the change that last wrote this key
 */
public record Versioned(String key, byte[] value, String contentType, long modRevision) {

  /** The content type given to values that were written without one. */
  public static final String DEFAULT_CONTENT_TYPE = "application/octet-stream";

  public Versioned {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(contentType, "contentType");
  }

  /** The value decoded as UTF-8; a convenience for text values. */
  public String valueAsString() {
    return new String(value, StandardCharsets.UTF_8);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Versioned v
        && modRevision == v.modRevision
        && key.equals(v.key)
        && contentType.equals(v.contentType)
        && Arrays.equals(value, v.value);
  }

  @Override
  public int hashCode() {
    return Objects.hash(key, contentType, modRevision, Arrays.hashCode(value));
  }

  @Override
  public String toString() {
    return "Versioned[key="
        + key
        + ", modRevision="
        + modRevision
        + ", contentType="
        + contentType
        + ", bytes="
        + value.length
        + "]";
  }
}
