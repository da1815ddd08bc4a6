package io.lockstep;

import java.nio.charset.StandardCharsets;

/**
 * The order-independent digest over (key, mod revision) pairs that replicas keep incrementally.
 *
 * <p>The digest of a set of entries is the sum, modulo 2<sup>64</sup>, of {@link #entry(String,
 * long)} over the entries. Adding or removing one entry is O(1), the result does not depend on the
 * order of changes, and any program can compute it from a listing of the source of truth to compare
 * with what replicas report. Values are not part of the digest: two replicas that agree on every
 * key's mod revision hold the same values, because a revision names one write.
 */
public final class Digests {

  private Digests() {}

  /** The contribution of one entry: a 64-bit mix of the key's UTF-8 bytes and the revision. */
  public static long entry(String key, long modRevision) {
    long h = 0xcbf29ce484222325L; // FNV-1a 64 over the UTF-8 bytes
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    for (byte b : bytes) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    return mix(h ^ mix(modRevision + 0x9e3779b97f4a7c15L));
  }

  /** The digest of a whole listing. */
  public static long of(Iterable<Versioned> entries) {
    long d = 0;
    for (Versioned v : entries) {
      d += entry(v.key(), v.modRevision());
    }
    return d;
  }

  /** The wire form: 16 lower-case hex digits. */
  public static String hex(long digest) {
    return String.format("%016x", digest);
  }

  private static long mix(long z) { // SplitMix64 finaliser
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
