package io.lockstep.spi;

import io.lockstep.Versioned;
import org.jspecify.annotations.Nullable;

/**
 * One key's change within a revision.
 *
 * @param type PUT or DELETE
 * @param key the map key (namespace prefix removed)
 * @param value the new entry for PUT, whose mod revision is the change's revision; null for DELETE
 */
public record Change(Type type, String key, @Nullable Versioned value) {

  /** The kind of change. */
  public enum Type {
    PUT,
    DELETE
  }

  public static Change put(Versioned value) {
    return new Change(Type.PUT, value.key(), value);
  }

  public static Change delete(String key) {
    return new Change(Type.DELETE, key, null);
  }
}
