package io.lockstep.jcache;

import javax.cache.Cache;
import javax.cache.event.CacheEntryEvent;
import javax.cache.event.EventType;

/** A cache entry event as delivered to listeners. */
final class EntryEvent<K, V> extends CacheEntryEvent<K, V> {
  private static final long serialVersionUID = 1L;

  private final transient Cache<K, V> cache;
  private final K key;
  private final transient V value;
  private final transient V oldValue;
  private final boolean oldValueAvailable;

  EntryEvent(Cache<K, V> source, EventType type, K key, V value, V oldValue, boolean hasOld) {
    super(source, type);
    this.cache = source;
    this.key = key;
    this.value = value;
    this.oldValue = oldValue;
    this.oldValueAvailable = hasOld;
  }

  /** The same event, with or without its old value. */
  EntryEvent<K, V> withOldValue(boolean required) {
    if (required || !oldValueAvailable) {
      return this;
    }
    // without old values, a REMOVED or EXPIRED event carries no value at all
    V v = getEventType() == EventType.UPDATED ? value : null;
    return new EntryEvent<>(cache, getEventType(), key, v, null, false);
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
  public V getOldValue() {
    return oldValue;
  }

  @Override
  public boolean isOldValueAvailable() {
    return oldValueAvailable;
  }

  @Override
  public <T> T unwrap(Class<T> clazz) {
    if (clazz.isInstance(this)) {
      return clazz.cast(this);
    }
    throw new IllegalArgumentException("cannot unwrap a cache entry event to " + clazz);
  }

  @Override
  public String toString() {
    return "EntryEvent[" + getEventType() + " " + key + "]";
  }
}
