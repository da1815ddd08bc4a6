package io.lockstep.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Rendezvous (highest random weight) hashing: the owner of a key is the member whose weight for
 * that key is highest. Adding a member moves to it only the keys it now wins (about 1/n of them);
 * removing one moves only the keys it owned. Immutable; one instance per membership.
 *
 * <p>The weight of (member, key) is a 64-bit murmur3-style hash: each id and each key is hashed
 * once over its UTF-8 bytes (a 64-bit variant of murmur3's block mix, then its {@code fmix64}
 * finaliser), and the two hashes are combined through {@code fmix64} again. Ties (only for equal
 * weights, practically never) go to the smaller id, so every instance agrees.
 */
public final class Rendezvous {
  private final String[] ids;
  private final long[] idHashes;

  public Rendezvous(Collection<String> memberIds) {
    List<String> sorted = new ArrayList<>(memberIds.stream().distinct().sorted().toList());
    if (sorted.isEmpty()) {
      throw new IllegalArgumentException("rendezvous: no members");
    }
    this.ids = sorted.toArray(new String[0]);
    this.idHashes = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      idHashes[i] = hash(ids[i].getBytes(StandardCharsets.UTF_8), 0x9E3779B97F4A7C15L);
    }
  }

  /** The member ids, sorted. */
  public List<String> members() {
    return List.of(ids);
  }

  /** The id of the member that owns {@code key}. */
  public String owner(String key) {
    long k = hash(key.getBytes(StandardCharsets.UTF_8), 0x2545F4914F6CDD1DL);
    int best = 0;
    long bestWeight = fmix64(idHashes[0] ^ k);
    for (int i = 1; i < ids.length; i++) {
      long w = fmix64(idHashes[i] ^ k);
      // unsigned comparison; on a tie the earlier (smaller) id stays
      if (Long.compareUnsigned(w, bestWeight) > 0) {
        best = i;
        bestWeight = w;
      }
    }
    return ids[best];
  }

  /** A 64-bit murmur3-style hash of {@code data}. */
  static long hash(byte[] data, long seed) {
    final long c1 = 0x87c37b91114253d5L;
    final long c2 = 0x4cf5ad432745937fL;
    long h = seed ^ (data.length * c1);
    int i = 0;
    for (; i + 8 <= data.length; i += 8) {
      long k = 0;
      for (int b = 7; b >= 0; b--) {
        k = (k << 8) | (data[i + b] & 0xffL);
      }
      k *= c1;
      k = Long.rotateLeft(k, 31);
      k *= c2;
      h ^= k;
      h = Long.rotateLeft(h, 27) * 5 + 0x52dce729;
    }
    long k = 0;
    for (int b = data.length - 1; b >= i; b--) {
      k = (k << 8) | (data[b] & 0xffL);
    }
    if (i < data.length) {
      k *= c1;
      k = Long.rotateLeft(k, 31);
      k *= c2;
      h ^= k;
    }
    return fmix64(h ^ data.length);
  }

  /** murmur3's 64-bit finaliser: every input bit affects every output bit. */
  static long fmix64(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }
}
