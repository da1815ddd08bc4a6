package io.lockstep;

import java.nio.charset.StandardCharsets;

/**
 * The order-independent digest over (key, mod revision, value) triples that replicas keep
 * incrementally.
 *
 * <p>The digest of a set of entries is the sum, modulo 2<sup>64</sup>, of {@link #entry(String,
 * long, byte[])} over the entries. Adding or removing one entry is O(1), the result does not depend
 * on the order of changes, and any program can compute it from a listing of the source of truth to
 * compare with what replicas report. The value is part of it: within one history a revision names
 * one write, but a source that lost its history (issue 12) numbers writes again, so two replicas
 * can agree on every key's mod revision and still hold different values; their digests differ.
 */
public final class Digests {

  private Digests() {}

  /** The contribution of one entry: a 64-bit mix of the key, the mod revision and the value. */
  public static long entry(String key, long modRevision, byte[] value) {
    long h = fnv(key.getBytes(StandardCharsets.UTF_8));
    long v = fnv(value);
    return mix(h ^ mix(modRevision + 0x9e3779b97f4a7c15L) ^ mix(v + 0x632be59bd9b4e019L));
  }

  /** The contribution of one entry. */
  public static long entry(Versioned v) {
    return entry(v.key(), v.modRevision(), v.value());
  }

  /** The digest of a whole listing. */
  public static long of(Iterable<Versioned> entries) {
    long d = 0;
    for (Versioned v : entries) {
      d += entry(v);
    }
    return d;
  }

  /** The wire form: 16 lower-case hex digits. */
  public static String hex(long digest) {
    return String.format("%016x", digest);
  }

  private static long fnv(byte[] bytes) { // FNV-1a 64
    long h = 0xcbf29ce484222325L;
    for (byte b : bytes) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    return h;
  }

  private static long mix(long z) { // SplitMix64 finaliser
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
