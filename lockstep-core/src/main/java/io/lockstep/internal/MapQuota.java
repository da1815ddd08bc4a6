package io.lockstep.internal;

import io.lockstep.MapFullException;
import io.lockstep.Versioned;
import java.util.function.Function;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The map's totals ({@code maxTotalKeys}, {@code maxTotalBytes}) as the instance taking a put
 * checks them: what it has applied plus what its own puts in flight may add. A put reserves its
 * growth before it is sent and gives it back once it is settled (applied here, or failed), so
 * concurrent puts through this instance can never together take the map past a total, however they
 * interleave. Thread safe; every check and reservation happens under one lock, off the read path.
 */
final class MapQuota {
  private final int maxKeys;
  private final long maxBytes;
  private long reservedKeys; // guarded by this
  private long reservedBytes; // guarded by this

  MapQuota(int maxKeys, long maxBytes) {
    this.maxKeys = maxKeys;
    this.maxBytes = maxBytes;
  }

  /** What one put reserved; {@link #release()} gives it back, once. */
  final class Reservation {
    private final int keys;
    private final long bytes;
    private boolean released; // guarded by MapQuota.this

    private Reservation(int keys, long bytes) {
      this.keys = keys;
      this.bytes = bytes;
    }

    void release() {
      synchronized (MapQuota.this) {
        if (released) {
          return;
        }
        released = true;
        reservedKeys -= keys;
        reservedBytes -= bytes;
      }
    }
  }

  /**
   * Reserves room for a put of {@code valueBytes} under {@code key}, or throws {@link
   * MapFullException}. The applied map is read under the lock, after every reservation given back
   * so far was counted in it: a put gives its reservation back only once it is applied, so a read
   * made before taking the lock could miss a key whose reservation is already gone.
   *
   * @param applied the applied entry of a key, or null
   * @param appliedKeys keys in the applied map now
   * @param appliedBytes bytes of values in the applied map now
   */
  synchronized Reservation reserve(
      String key,
      int valueBytes,
      Function<String, @Nullable Versioned> applied,
      IntSupplier appliedKeys,
      LongSupplier appliedBytes) {
    Versioned current = applied.apply(key);
    int keys = current == null ? 1 : 0;
    long bytes = Math.max(0, valueBytes - (current == null ? 0 : current.value().length));
    return reserve(key, keys, bytes, appliedKeys.getAsInt(), appliedBytes.getAsLong());
  }

  private Reservation reserve(
      String key, int keys, long bytes, int appliedKeys, long appliedBytes) {
    if (keys > 0 && appliedKeys + reservedKeys + keys > maxKeys) {
      throw new MapFullException(
          "put of '"
              + key
              + "' refused: the map holds "
              + appliedKeys
              + " keys"
              + (reservedKeys > 0 ? " (and " + reservedKeys + " more being written)" : "")
              + ", and its limit is "
              + maxKeys
              + " keys; nothing was stored (delete keys to make room)");
    }
    if (bytes > 0 && appliedBytes + reservedBytes + bytes > maxBytes) {
      throw new MapFullException(
          "put of '"
              + key
              + "' refused: the map holds "
              + appliedBytes
              + " bytes of values"
              + (reservedBytes > 0 ? " (and " + reservedBytes + " more being written)" : "")
              + "; this put adds "
              + bytes
              + " and the limit is "
              + maxBytes
              + " bytes; nothing was stored (delete keys to make room)");
    }
    reservedKeys += keys;
    reservedBytes += bytes;
    return new Reservation(keys, bytes);
  }
}
