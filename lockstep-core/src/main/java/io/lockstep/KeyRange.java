package io.lockstep;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A range of the key space for drift checks: the keys whose 64-bit {@linkplain #hash(String) key
 * hash} starts with {@code depth} given bits. Keys are ordered by that hash (as Cassandra's repair
 * orders them by token), so ranges split evenly whatever the key names are. The whole key space is
 * {@link #ALL}; each range splits into {@value #FANOUT} children of 4 more bits, down to 64 bits.
 *
 * <p>Wire form: {@code depth:prefix} with the prefix in lower-case hex, e.g. {@code 0:0} for every
 * key and {@code 8:a3} for the keys whose hash starts with the byte {@code 0xa3}.
 *
 * @param depth the number of leading hash bits fixed, 0 to 64, a multiple of 4
 * @param prefix those bits, right-aligned
 */
public record KeyRange(int depth, long prefix) {

  /** Children of one range. */
  public static final int FANOUT = 16;

  /** Every key. */
  public static final KeyRange ALL = new KeyRange(0, 0);

  public KeyRange {
    if (depth < 0 || depth > 64 || depth % 4 != 0) {
      throw new IllegalArgumentException(
          "depth: " + depth + " (expected 0 to 64, a multiple of 4)");
    }
    if (depth < 64 && (prefix >>> depth) != 0) {
      throw new IllegalArgumentException(
          "prefix: " + Long.toHexString(prefix) + " has more than " + depth + " bits");
    }
  }

  /** The key hash ranges are made of: a 64-bit mix of the key's UTF-8 bytes. */
  public static long hash(String key) {
    long h = 0xcbf29ce484222325L; // FNV-1a 64, then the SplitMix64 finaliser
    for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
    h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
    return h ^ (h >>> 31);
  }

  /** Whether a key of this {@linkplain #hash(String) hash} lies in this range. */
  public boolean containsHash(long hash) {
    return depth == 0 || (hash >>> (64 - depth)) == prefix;
  }

  /** Whether {@code key} lies in this range. */
  public boolean contains(String key) {
    return containsHash(hash(key));
  }

  /** The lowest hash in the range, as an unsigned number. */
  public long lowestHash() {
    return depth == 0 ? 0 : prefix << (64 - depth);
  }

  /** The highest hash in the range, as an unsigned number. */
  public long highestHash() {
    return depth == 0 ? -1L : lowestHash() | (-1L >>> depth);
  }

  /** True for a range of one hash, which cannot split. */
  public boolean isLeaf() {
    return depth == 64;
  }

  /** The {@value #FANOUT} ranges this one splits into. */
  public List<KeyRange> children() {
    if (isLeaf()) {
      throw new IllegalStateException("a 64-bit range does not split");
    }
    List<KeyRange> out = new ArrayList<>(FANOUT);
    for (int i = 0; i < FANOUT; i++) {
      out.add(new KeyRange(depth + 4, (prefix << 4) | i));
    }
    return out;
  }

  /** The wire form, {@code depth:hexprefix}. */
  @Override
  public String toString() {
    return depth + ":" + Long.toHexString(prefix);
  }

  /**
   * Parses the {@linkplain #toString() wire form}.
   *
   * @throws IllegalArgumentException naming the text when it is not one
   */
  public static KeyRange parse(String text) {
    int colon = text == null ? -1 : text.indexOf(':');
    if (colon <= 0 || colon == text.length() - 1 || text.length() > 20) {
      throw new IllegalArgumentException(
          "range: '" + text + "' is not depth:hexprefix (e.g. 0:0 or 8:a3)");
    }
    try {
      int depth = Integer.parseInt(text.substring(0, colon));
      long prefix = Long.parseUnsignedLong(text.substring(colon + 1), 16);
      return new KeyRange(depth, prefix);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "range: '" + text + "' is not depth:hexprefix (e.g. 0:0 or 8:a3)", e);
    }
  }
}
