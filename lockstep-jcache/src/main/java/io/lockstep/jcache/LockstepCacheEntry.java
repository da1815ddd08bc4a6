package io.lockstep.jcache;

import javax.cache.Cache;

/**
 * An entry handed out by a {@link LockstepCache} (its iterator, and the entries given to a {@link
 * javax.cache.integration.CacheWriter}): a key and a value, copies of what the cache holds.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public final class LockstepCacheEntry<K, V> implements Cache.Entry<K, V> {
  private final K key;
  private final V value;

  LockstepCacheEntry(K key, V value) {
    this.key = key;
    this.value = value;
  }

  @Override
  public K getKey() {
    return key;
  }

  @Override
  public V getValue() {
    return value;
  }

  @Override
  public <T> T unwrap(Class<T> clazz) {
    if (clazz.isInstance(this)) {
      return clazz.cast(this);
    }
    throw new IllegalArgumentException("cannot unwrap a cache entry to " + clazz);
  }

  @Override
  public String toString() {
    return "LockstepCacheEntry[" + key + "=" + value + "]";
  }
}
