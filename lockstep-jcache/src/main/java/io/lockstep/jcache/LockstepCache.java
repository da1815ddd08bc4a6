package io.lockstep.jcache;

import io.lockstep.TypedEntry;
import io.lockstep.TypedMap;
import io.lockstep.WriteResult;
import io.lockstep.jcache.StoredCodec.Stored;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.lang.management.ManagementFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;
import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.configuration.CacheEntryListenerConfiguration;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Configuration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.event.EventType;
import javax.cache.expiry.Duration;
import javax.cache.expiry.ExpiryPolicy;
import javax.cache.integration.CacheLoader;
import javax.cache.integration.CacheLoaderException;
import javax.cache.integration.CacheWriter;
import javax.cache.integration.CacheWriterException;
import javax.cache.integration.CompletionListener;
import javax.cache.management.CacheStatisticsMXBean;
import javax.cache.processor.EntryProcessor;
import javax.cache.processor.EntryProcessorException;
import javax.cache.processor.EntryProcessorResult;
import javax.cache.processor.MutableEntry;
import javax.management.InstanceNotFoundException;
import javax.management.MBeanRegistrationException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/**
 * A JCache {@link Cache} over one {@link TypedMap} of a Lockstep node. Keys and values are stored
 * by value (Java serialization); every entry is written to the backend, so every instance using the
 * same backend and cache sees it. Each atomic operation is a compare-and-set on the entry's
 * revision, retried when another writer got there first. Statistics, listeners and the
 * write-through/read-through calls are this instance's: they see the operations made through this
 * cache object. See {@code docs/jcache.md}.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public final class LockstepCache<K, V> implements Cache<K, V> {
  /** Keys whose serialized form is longer are stored under their SHA-256. */
  private static final int MAX_INLINE_KEY_BYTES = 600;

  /** How long a writer that lost a compare-and-set waits to see the winner's revision. */
  private static final java.time.Duration CONFLICT_WAIT = java.time.Duration.ofSeconds(5);

  private final LockstepCacheManager manager;
  private final String name;
  private final MutableConfiguration<K, V> configuration;
  private final TypedMap<Stored> map;
  private final ClassLoader classLoader;
  private final ExpiryPolicy expiry;
  private final CacheLoader<K, V> loader;
  private final CacheWriter<K, V> writer;
  private final CacheStatistics statistics = new CacheStatistics();
  private final CacheConfigurationBean configurationBean = new CacheConfigurationBean(this);
  private final List<ListenerRegistration<K, V>> listeners = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  @SuppressWarnings("unchecked")
  LockstepCache(
      LockstepCacheManager manager,
      String name,
      MutableConfiguration<K, V> configuration,
      TypedMap<Stored> map) {
    this.manager = manager;
    this.name = name;
    this.configuration = configuration;
    this.map = map;
    this.classLoader = manager.getClassLoader();
    this.expiry = configuration.getExpiryPolicyFactory().create();
    this.loader =
        configuration.getCacheLoaderFactory() == null
            ? null
            : configuration.getCacheLoaderFactory().create();
    this.writer =
        configuration.isWriteThrough() && configuration.getCacheWriterFactory() != null
            ? (CacheWriter<K, V>) configuration.getCacheWriterFactory().create()
            : null;
    for (CacheEntryListenerConfiguration<K, V> l :
        configuration.getCacheEntryListenerConfigurations()) {
      listeners.add(new ListenerRegistration<>(l));
    }
    statistics.setEnabled(configuration.isStatisticsEnabled());
    if (configuration.isManagementEnabled()) {
      register(configurationBean, "CacheConfiguration");
    }
    if (configuration.isStatisticsEnabled()) {
      register(statistics, "CacheStatistics");
    }
  }

  // ---------------------------------------------------------------- reads

  @Override
  public V get(K key) {
    checkOpen();
    Objects.requireNonNull(key, "key");
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    V result = getOne(key, events, true);
    statistics.getTime(start);
    dispatch(events);
    return result;
  }

  /** One key's value: a hit (touching its access expiry), or a miss that may read through. */
  private V getOne(K key, List<EntryEvent<K, V>> events, boolean readThrough) {
    String mk = mapKey(serialize(key));
    long now = System.currentTimeMillis();
    TypedEntry<Stored> e = current(mk, now, events);
    if (e != null) {
      statistics.hits(1);
      V v = value(e.value());
      touch(mk, e, now);
      return v;
    }
    statistics.misses(1);
    if (!readThrough || !configuration.isReadThrough() || loader == null) {
      return null;
    }
    V loaded = load(key);
    if (loaded != null) {
      storeLoaded(key, loaded, false, events);
    }
    return loaded;
  }

  @Override
  public Map<K, V> getAll(Set<? extends K> keys) {
    checkOpen();
    Objects.requireNonNull(keys, "keys");
    for (K k : keys) {
      Objects.requireNonNull(k, "a key");
    }
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    Map<K, V> result = new LinkedHashMap<>();
    List<K> missing = new ArrayList<>();
    for (K k : keys) {
      V v = getOne(k, events, false);
      if (v != null) {
        result.put(k, v);
      } else {
        missing.add(k);
      }
    }
    if (!missing.isEmpty() && configuration.isReadThrough() && loader != null) {
      Map<K, V> loaded;
      try {
        loaded = loader.loadAll(missing);
      } catch (CacheLoaderException ex) {
        throw ex;
      } catch (Exception ex) {
        throw new CacheLoaderException(ex);
      }
      if (loaded != null) {
        for (K k : missing) {
          V v = loaded.get(k);
          if (v != null) {
            storeLoaded(k, v, false, events);
            result.put(k, v);
          }
        }
      }
    }
    statistics.getTime(start);
    dispatch(events);
    return result;
  }

  @Override
  public boolean containsKey(K key) {
    checkOpen();
    Objects.requireNonNull(key, "key");
    List<EntryEvent<K, V>> events = new ArrayList<>();
    boolean present = current(mapKey(serialize(key)), System.currentTimeMillis(), events) != null;
    dispatch(events);
    return present;
  }

  @Override
  public void loadAll(
      Set<? extends K> keys, boolean replaceExistingValues, CompletionListener listener) {
    checkOpen();
    Objects.requireNonNull(keys, "keys");
    for (K k : keys) {
      Objects.requireNonNull(k, "a key");
    }
    if (loader == null) {
      if (listener != null) {
        listener.onCompletion();
      }
      return;
    }
    List<K> requested = new ArrayList<>(keys);
    Thread.ofVirtual()
        .name("lockstep-jcache-loadAll")
        .start(
            () -> {
              try {
                List<EntryEvent<K, V>> events = new ArrayList<>();
                List<K> toLoad = new ArrayList<>();
                long now = System.currentTimeMillis();
                for (K k : requested) {
                  if (replaceExistingValues || current(mapKey(serialize(k)), now, events) == null) {
                    toLoad.add(k);
                  }
                }
                if (!toLoad.isEmpty()) {
                  Map<K, V> loaded;
                  try {
                    loaded = loader.loadAll(toLoad);
                  } catch (CacheLoaderException ex) {
                    throw ex;
                  } catch (Exception ex) {
                    throw new CacheLoaderException(ex);
                  }
                  if (loaded != null) {
                    for (K k : toLoad) {
                      V v = loaded.get(k);
                      if (v != null) {
                        storeLoaded(k, v, replaceExistingValues, events);
                      }
                    }
                  }
                }
                dispatch(events);
                if (listener != null) {
                  listener.onCompletion();
                }
              } catch (Exception ex) {
                if (listener != null) {
                  listener.onException(ex);
                }
              }
            });
  }

  private V load(K key) {
    try {
      return loader.load(key);
    } catch (CacheLoaderException ex) {
      throw ex;
    } catch (Exception ex) {
      throw new CacheLoaderException(ex);
    }
  }

  /** Stores a loaded value: never through the writer; counted as no put. */
  private void storeLoaded(K key, V value, boolean replace, List<EntryEvent<K, V>> events) {
    checkTypes(key, value);
    byte[] kb = serialize(key);
    byte[] vb = serialize(value);
    String mk = mapKey(kb);
    while (true) {
      long now = System.currentTimeMillis();
      TypedEntry<Stored> e = current(mk, now, events);
      if (e == null) {
        long exp = creationExpiry(now);
        if (exp <= now || applied(map.compareAndSet(mk, 0, new Stored(kb, vb, exp)))) {
          if (exp > now) {
            events.add(event(EventType.CREATED, key, copy(vb), null));
          }
          return;
        }
      } else {
        if (!replace) {
          return;
        }
        long exp = updateExpiry(now, e.value().expiresAt());
        if (applied(map.compareAndSet(mk, e.modRevision(), new Stored(kb, vb, exp)))) {
          events.add(event(EventType.UPDATED, key, copy(vb), value(e.value())));
          return;
        }
      }
    }
  }

  // ---------------------------------------------------------------- writes

  @Override
  public void put(K key, V value) {
    checkOpen();
    checkTypes(key, value);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    writeThrough(key, value);
    putOne(key, value, events);
    statistics.putTime(start);
    dispatch(events);
  }

  /** Writes key and value (created or updated); returns the previous live entry's stored form. */
  private Stored putOne(K key, V value, List<EntryEvent<K, V>> events) {
    byte[] kb = serialize(key);
    byte[] vb = serialize(value);
    String mk = mapKey(kb);
    while (true) {
      long now = System.currentTimeMillis();
      TypedEntry<Stored> e = current(mk, now, events);
      if (e == null) {
        long exp = creationExpiry(now);
        if (exp <= now) {
          return null; // created expired: nothing stored, nothing told
        }
        if (applied(map.compareAndSet(mk, 0, new Stored(kb, vb, exp)))) {
          statistics.puts(1);
          events.add(event(EventType.CREATED, key, copy(vb), null));
          return null;
        }
      } else {
        long exp = updateExpiry(now, e.value().expiresAt());
        if (applied(map.compareAndSet(mk, e.modRevision(), new Stored(kb, vb, exp)))) {
          statistics.puts(1);
          events.add(event(EventType.UPDATED, key, copy(vb), value(e.value())));
          return e.value();
        }
      }
    }
  }

  @Override
  public V getAndPut(K key, V value) {
    checkOpen();
    checkTypes(key, value);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    writeThrough(key, value);
    Stored previous = putOne(key, value, events);
    V result;
    if (previous == null) {
      statistics.misses(1);
      result = null;
    } else {
      statistics.hits(1);
      result = value(previous);
    }
    statistics.getTime(start);
    statistics.putTime(start);
    dispatch(events);
    return result;
  }

  @Override
  public void putAll(Map<? extends K, ? extends V> entries) {
    checkOpen();
    Objects.requireNonNull(entries, "entries");
    for (Map.Entry<? extends K, ? extends V> en : entries.entrySet()) {
      checkTypes(en.getKey(), en.getValue());
    }
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    Map<K, V> toStore = new LinkedHashMap<>(entries);
    CacheWriterException failure = null;
    if (writer != null) {
      List<Cache.Entry<? extends K, ? extends V>> written = new ArrayList<>();
      for (Map.Entry<K, V> en : toStore.entrySet()) {
        written.add(new LockstepCacheEntry<>(en.getKey(), en.getValue()));
      }
      try {
        writer.writeAll(written);
      } catch (Exception ex) {
        failure =
            ex instanceof CacheWriterException c
                ? c
                : new CacheWriterException(ex.getMessage(), ex);
        // entries still in the collection were not written: they are not stored either
        for (Cache.Entry<? extends K, ? extends V> left : written) {
          toStore.remove(left.getKey());
        }
      }
    }
    for (Map.Entry<K, V> en : toStore.entrySet()) {
      putOne(en.getKey(), en.getValue(), events);
    }
    statistics.putTime(start);
    dispatch(events);
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public boolean putIfAbsent(K key, V value) {
    checkOpen();
    checkTypes(key, value);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    byte[] kb = serialize(key);
    byte[] vb = serialize(value);
    String mk = mapKey(kb);
    boolean written = false;
    boolean result;
    while (true) {
      long now = System.currentTimeMillis();
      TypedEntry<Stored> e = current(mk, now, events);
      if (e != null) {
        statistics.hits(1);
        result = false;
        break;
      }
      if (!written) {
        writeThrough(key, value);
        written = true;
      }
      long exp = creationExpiry(now);
      if (exp <= now) {
        statistics.misses(1);
        result = true;
        break;
      }
      if (applied(map.compareAndSet(mk, 0, new Stored(kb, vb, exp)))) {
        statistics.misses(1);
        statistics.puts(1);
        events.add(event(EventType.CREATED, key, copy(vb), null));
        result = true;
        break;
      }
    }
    statistics.putTime(start);
    dispatch(events);
    return result;
  }

  @Override
  public boolean remove(K key) {
    checkOpen();
    Objects.requireNonNull(key, "key");
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    deleteThrough(key);
    boolean removed = removeOne(key, events) != null;
    statistics.removeTime(start);
    dispatch(events);
    return removed;
  }

  /** Removes the key; returns the live entry it removed, or null. */
  private Stored removeOne(K key, List<EntryEvent<K, V>> events) {
    String mk = mapKey(serialize(key));
    while (true) {
      TypedEntry<Stored> e = current(mk, System.currentTimeMillis(), events);
      if (e == null) {
        return null;
      }
      if (applied(map.compareAndDelete(mk, e.modRevision()))) {
        statistics.removals(1);
        V old = value(e.value());
        events.add(event(EventType.REMOVED, key, old, old));
        return e.value();
      }
    }
  }

  @Override
  public boolean remove(K key, V oldValue) {
    checkOpen();
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(oldValue, "oldValue");
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    String mk = mapKey(serialize(key));
    boolean result;
    boolean deleted = false;
    while (true) {
      long now = System.currentTimeMillis();
      TypedEntry<Stored> e = current(mk, now, events);
      if (e == null) {
        statistics.misses(1);
        result = false;
        break;
      }
      V current = value(e.value());
      if (!Objects.equals(current, oldValue)) {
        statistics.hits(1);
        touch(mk, e, now);
        result = false;
        break;
      }
      if (!deleted) {
        deleteThrough(key);
        deleted = true;
      }
      if (applied(map.compareAndDelete(mk, e.modRevision()))) {
        statistics.hits(1);
        statistics.removals(1);
        events.add(event(EventType.REMOVED, key, current, current));
        result = true;
        break;
      }
    }
    statistics.removeTime(start);
    dispatch(events);
    return result;
  }

  @Override
  public V getAndRemove(K key) {
    checkOpen();
    Objects.requireNonNull(key, "key");
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    deleteThrough(key);
    Stored removed = removeOne(key, events);
    V result;
    if (removed == null) {
      statistics.misses(1);
      result = null;
    } else {
      statistics.hits(1);
      result = value(removed);
    }
    statistics.getTime(start);
    statistics.removeTime(start);
    dispatch(events);
    return result;
  }

  @Override
  public boolean replace(K key, V oldValue, V newValue) {
    checkOpen();
    checkTypes(key, newValue);
    Objects.requireNonNull(oldValue, "oldValue");
    checkTypes(key, oldValue);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    byte[] kb = serialize(key);
    byte[] vb = serialize(newValue);
    String mk = mapKey(kb);
    boolean written = false;
    boolean result;
    while (true) {
      long now = System.currentTimeMillis();
      TypedEntry<Stored> e = current(mk, now, events);
      if (e == null) {
        statistics.misses(1);
        result = false;
        break;
      }
      V current = value(e.value());
      if (!Objects.equals(current, oldValue)) {
        statistics.hits(1);
        touch(mk, e, now);
        result = false;
        break;
      }
      if (!written) {
        writeThrough(key, newValue);
        written = true;
      }
      long exp = updateExpiry(now, e.value().expiresAt());
      if (applied(map.compareAndSet(mk, e.modRevision(), new Stored(kb, vb, exp)))) {
        statistics.hits(1);
        statistics.puts(1);
        events.add(event(EventType.UPDATED, key, copy(vb), current));
        result = true;
        break;
      }
    }
    statistics.putTime(start);
    dispatch(events);
    return result;
  }

  @Override
  public boolean replace(K key, V value) {
    checkOpen();
    checkTypes(key, value);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    Stored previous = replaceOne(key, value, events);
    statistics.putTime(start);
    dispatch(events);
    return previous != null;
  }

  @Override
  public V getAndReplace(K key, V value) {
    checkOpen();
    checkTypes(key, value);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    Stored previous = replaceOne(key, value, events);
    statistics.getTime(start);
    statistics.putTime(start);
    dispatch(events);
    return previous == null ? null : value(previous);
  }

  /** Replaces a live entry's value; returns what it replaced, or null when there was none. */
  private Stored replaceOne(K key, V value, List<EntryEvent<K, V>> events) {
    byte[] kb = serialize(key);
    byte[] vb = serialize(value);
    String mk = mapKey(kb);
    boolean written = false;
    while (true) {
      long now = System.currentTimeMillis();
      TypedEntry<Stored> e = current(mk, now, events);
      if (e == null) {
        statistics.misses(1);
        return null;
      }
      if (!written) {
        writeThrough(key, value);
        written = true;
      }
      long exp = updateExpiry(now, e.value().expiresAt());
      if (applied(map.compareAndSet(mk, e.modRevision(), new Stored(kb, vb, exp)))) {
        statistics.hits(1);
        statistics.puts(1);
        events.add(event(EventType.UPDATED, key, copy(vb), value(e.value())));
        return e.value();
      }
    }
  }

  @Override
  public void removeAll(Set<? extends K> keys) {
    checkOpen();
    Objects.requireNonNull(keys, "keys");
    for (K k : keys) {
      Objects.requireNonNull(k, "a key");
    }
    removeKeys(new ArrayList<>(keys));
  }

  @Override
  public void removeAll() {
    checkOpen();
    List<K> keys = new ArrayList<>();
    for (String mk : List.copyOf(map.keys())) {
      TypedEntry<Stored> e = map.getEntry(mk);
      if (e != null && e.isDecoded()) {
        keys.add(key(e.value()));
      }
    }
    removeKeys(keys);
  }

  private void removeKeys(List<K> keys) {
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    List<K> toRemove = new ArrayList<>(keys);
    CacheWriterException failure = null;
    if (writer != null && !keys.isEmpty()) {
      List<Object> deleted = new ArrayList<>(keys);
      try {
        writer.deleteAll(deleted);
      } catch (Exception ex) {
        failure =
            ex instanceof CacheWriterException c
                ? c
                : new CacheWriterException(ex.getMessage(), ex);
        // keys still in the collection were not deleted by the writer: they stay in the cache
        toRemove.removeAll(deleted);
      }
    }
    for (K k : toRemove) {
      removeOne(k, events);
    }
    statistics.removeTime(start);
    dispatch(events);
    if (failure != null) {
      throw failure;
    }
  }

  /** Removes every entry: no writer, no listeners, no statistics. */
  @Override
  public void clear() {
    checkOpen();
    clearQuietly();
  }

  /** Removes every entry of the backend's map for this cache. */
  void clearQuietly() {
    for (String mk : List.copyOf(map.keys())) {
      TypedEntry<Stored> e = map.getEntry(mk);
      while (e != null && !applied(map.compareAndDelete(mk, e.modRevision()))) {
        e = map.getEntry(mk);
      }
    }
  }

  // ---------------------------------------------------------------- entry processors

  @Override
  public <T> T invoke(K key, EntryProcessor<K, V, T> entryProcessor, Object... arguments) {
    checkOpen();
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(entryProcessor, "entryProcessor");
    List<EntryEvent<K, V>> events = new ArrayList<>();
    T result = invokeOne(key, entryProcessor, arguments, events);
    dispatch(events);
    return result;
  }

  private <T> T invokeOne(
      K key, EntryProcessor<K, V, T> processor, Object[] arguments, List<EntryEvent<K, V>> events) {
    byte[] kb = serialize(key);
    String mk = mapKey(kb);
    boolean counted = false;
    while (true) {
      long start = System.nanoTime();
      long now = System.currentTimeMillis();
      TypedEntry<Stored> e = current(mk, now, events);
      if (!counted) {
        if (e == null) {
          statistics.misses(1);
        } else {
          statistics.hits(1);
        }
        counted = true;
      }
      Entry entry = new Entry(key, e == null ? null : value(e.value()));
      T result;
      try {
        result = processor.process(entry, arguments);
      } catch (EntryProcessorException ex) {
        throw ex;
      } catch (Exception ex) {
        throw new EntryProcessorException(ex);
      }
      switch (entry.op) {
        case NONE -> {
          return result;
        }
        case ACCESS -> {
          if (e != null) {
            touch(mk, e, now);
          }
          return result;
        }
        case LOAD -> {
          storeLoaded(key, entry.value, false, events);
          return result;
        }
        case CREATE, UPDATE -> {
          checkTypes(key, entry.value);
          byte[] vb = serialize(entry.value);
          if (e == null) {
            writeThrough(key, entry.value);
            long exp = creationExpiry(now);
            if (exp <= now) {
              return result;
            }
            if (applied(map.compareAndSet(mk, 0, new Stored(kb, vb, exp)))) {
              statistics.puts(1);
              statistics.putTime(start);
              events.add(event(EventType.CREATED, key, copy(vb), null));
              return result;
            }
          } else {
            writeThrough(key, entry.value);
            long exp = updateExpiry(now, e.value().expiresAt());
            if (applied(map.compareAndSet(mk, e.modRevision(), new Stored(kb, vb, exp)))) {
              statistics.puts(1);
              statistics.putTime(start);
              events.add(event(EventType.UPDATED, key, copy(vb), value(e.value())));
              return result;
            }
          }
        }
        case REMOVE -> {
          deleteThrough(key);
          if (e == null) {
            return result;
          }
          if (applied(map.compareAndDelete(mk, e.modRevision()))) {
            statistics.removals(1);
            statistics.removeTime(start);
            V old = value(e.value());
            events.add(event(EventType.REMOVED, key, old, old));
            return result;
          }
        }
      }
      // another writer changed the entry meanwhile: run the processor again on what it wrote
    }
  }

  @Override
  public <T> Map<K, EntryProcessorResult<T>> invokeAll(
      Set<? extends K> keys, EntryProcessor<K, V, T> entryProcessor, Object... arguments) {
    checkOpen();
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(entryProcessor, "entryProcessor");
    for (K k : keys) {
      Objects.requireNonNull(k, "a key");
    }
    Map<K, EntryProcessorResult<T>> results = new HashMap<>();
    List<EntryEvent<K, V>> events = new ArrayList<>();
    for (K k : keys) {
      try {
        T r = invokeOne(k, entryProcessor, arguments, events);
        if (r != null) {
          results.put(k, () -> r);
        }
      } catch (RuntimeException ex) {
        EntryProcessorException epe =
            ex instanceof EntryProcessorException p ? p : new EntryProcessorException(ex);
        results.put(
            k,
            () -> {
              throw epe;
            });
      }
    }
    dispatch(events);
    return results;
  }

  private enum Op {
    NONE,
    ACCESS,
    LOAD,
    CREATE,
    UPDATE,
    REMOVE
  }

  /** The entry an {@link EntryProcessor} works on; applied when the processor returns. */
  private final class Entry implements MutableEntry<K, V> {
    private final K key;
    private final boolean existed;
    private V value;
    private Op op = Op.NONE;

    Entry(K key, V value) {
      this.key = key;
      this.value = value;
      this.existed = value != null;
    }

    @Override
    public K getKey() {
      return key;
    }

    @Override
    public V getValue() {
      if (op == Op.NONE) {
        if (value == null && configuration.isReadThrough() && loader != null) {
          value = load(key);
          if (value != null) {
            op = Op.LOAD;
          }
        } else if (value != null) {
          op = Op.ACCESS;
        }
      }
      return value;
    }

    @Override
    public boolean exists() {
      return value != null;
    }

    @Override
    public void remove() {
      value = null;
      op = existed ? Op.REMOVE : (op == Op.CREATE || op == Op.LOAD ? Op.NONE : Op.REMOVE);
    }

    @Override
    public void setValue(V v) {
      Objects.requireNonNull(v, "value");
      value = v;
      op = existed ? Op.UPDATE : Op.CREATE;
    }

    @Override
    public <T> T unwrap(Class<T> clazz) {
      if (clazz.isInstance(this)) {
        return clazz.cast(this);
      }
      throw new IllegalArgumentException("cannot unwrap a mutable entry to " + clazz);
    }
  }

  // ---------------------------------------------------------------- iteration

  /**
   * The entries as of now: the keys this instance holds when called, each read when reached (an
   * entry removed meanwhile is skipped). Each entry returned counts as a hit and touches its access
   * expiry; {@link Iterator#remove()} removes through the writer, as {@link #remove(Object)}.
   */
  @Override
  public Iterator<Cache.Entry<K, V>> iterator() {
    checkOpen();
    Iterator<String> keys = List.copyOf(map.keys()).iterator();
    return new Iterator<>() {
      private Cache.Entry<K, V> next;
      private Cache.Entry<K, V> last;

      @Override
      public boolean hasNext() {
        while (next == null && keys.hasNext()) {
          String mk = keys.next();
          List<EntryEvent<K, V>> events = new ArrayList<>();
          long now = System.currentTimeMillis();
          TypedEntry<Stored> e = current(mk, now, events);
          dispatch(events);
          if (e != null) {
            statistics.hits(1);
            next = new LockstepCacheEntry<>(key(e.value()), value(e.value()));
            touch(mk, e, now);
          }
        }
        return next != null;
      }

      @Override
      public Cache.Entry<K, V> next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        last = next;
        next = null;
        return last;
      }

      @Override
      public void remove() {
        if (last == null) {
          throw new IllegalStateException("next() has not returned an entry to remove");
        }
        checkOpen();
        LockstepCache.this.remove(last.getKey());
        last = null;
      }
    };
  }

  // ---------------------------------------------------------------- listeners, configuration

  @Override
  public void registerCacheEntryListener(
      CacheEntryListenerConfiguration<K, V> listenerConfiguration) {
    checkOpen();
    Objects.requireNonNull(listenerConfiguration, "listenerConfiguration");
    synchronized (listeners) {
      for (ListenerRegistration<K, V> r : listeners) {
        if (r.configuration.equals(listenerConfiguration)) {
          throw new IllegalArgumentException("this listener configuration is registered already");
        }
      }
      configuration.addCacheEntryListenerConfiguration(listenerConfiguration);
      listeners.add(new ListenerRegistration<>(listenerConfiguration));
    }
  }

  @Override
  public void deregisterCacheEntryListener(
      CacheEntryListenerConfiguration<K, V> listenerConfiguration) {
    checkOpen();
    Objects.requireNonNull(listenerConfiguration, "listenerConfiguration");
    synchronized (listeners) {
      for (ListenerRegistration<K, V> r : listeners) {
        if (r.configuration.equals(listenerConfiguration)) {
          listeners.remove(r);
          configuration.removeCacheEntryListenerConfiguration(listenerConfiguration);
          r.close();
          return;
        }
      }
    }
  }

  @Override
  public <C extends Configuration<K, V>> C getConfiguration(Class<C> clazz) {
    if (clazz.isInstance(configuration)) {
      return clazz.cast(configuration);
    }
    throw new IllegalArgumentException("the configuration is not a " + clazz);
  }

  CompleteConfiguration<K, V> configuration() {
    return configuration;
  }

  void setStatisticsEnabled(boolean enabled) {
    configuration.setStatisticsEnabled(enabled);
    statistics.setEnabled(enabled);
    if (enabled) {
      register(statistics, "CacheStatistics");
    } else {
      unregister("CacheStatistics");
    }
  }

  void setManagementEnabled(boolean enabled) {
    configuration.setManagementEnabled(enabled);
    if (enabled) {
      register(configurationBean, "CacheConfiguration");
    } else {
      unregister("CacheConfiguration");
    }
  }

  /** This cache's statistics as they stand (also registered as an MXBean when enabled). */
  public CacheStatisticsMXBean statistics() {
    return statistics;
  }

  private ObjectName objectName(String type) {
    try {
      return new ObjectName(
          "javax.cache:type="
              + type
              + ",CacheManager="
              + mbeanSafe(manager.getURI().toString())
              + ",Cache="
              + mbeanSafe(name));
    } catch (MalformedObjectNameException e) {
      throw new CacheException(e);
    }
  }

  private static String mbeanSafe(String s) {
    return s.replaceAll(":|=|\n|,", ".");
  }

  private void register(Object bean, String type) {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName on = objectName(type);
    try {
      if (!server.isRegistered(on)) {
        server.registerMBean(bean, on);
      }
    } catch (Exception e) {
      throw new CacheException("could not register " + on, e);
    }
  }

  private void unregister(String type) {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName on = objectName(type);
    try {
      if (server.isRegistered(on)) {
        server.unregisterMBean(on);
      }
    } catch (InstanceNotFoundException e) {
      // gone already
    } catch (MBeanRegistrationException e) {
      throw new CacheException("could not unregister " + on, e);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  @Override
  public String getName() {
    return name;
  }

  @Override
  public CacheManager getCacheManager() {
    return manager;
  }

  /**
   * Closes this cache on this instance: its MXBeans go, its loader, writer, expiry policy and
   * listeners are closed when they are {@link java.io.Closeable}. The entries stay in the backend.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    manager.released(this);
    unregister("CacheConfiguration");
    unregister("CacheStatistics");
    ListenerRegistration.closeQuietly(loader);
    ListenerRegistration.closeQuietly(writer);
    ListenerRegistration.closeQuietly(expiry);
    for (ListenerRegistration<K, V> r : listeners) {
      r.close();
    }
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  @Override
  public <T> T unwrap(Class<T> clazz) {
    if (clazz.isInstance(this)) {
      return clazz.cast(this);
    }
    if (clazz.isInstance(map)) {
      return clazz.cast(map);
    }
    throw new IllegalArgumentException("cannot unwrap a LockstepCache to " + clazz);
  }

  // ---------------------------------------------------------------- helpers

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the cache " + name + " is closed");
    }
  }

  private void checkTypes(K key, V value) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    Class<K> kt = configuration.getKeyType();
    Class<V> vt = configuration.getValueType();
    if (kt != Object.class && !kt.isInstance(key)) {
      throw new ClassCastException("key " + key + " is not a " + kt.getName());
    }
    if (vt != Object.class && !vt.isInstance(value)) {
      throw new ClassCastException("value " + value + " is not a " + vt.getName());
    }
  }

  /**
   * The key's live entry, or null. An expired entry is removed on the way (an EXPIRED event), as is
   * one this cache cannot read.
   */
  private TypedEntry<Stored> current(String mk, long now, List<EntryEvent<K, V>> events) {
    while (true) {
      TypedEntry<Stored> e = map.getEntry(mk);
      if (e == null) {
        return null;
      }
      if (e.isDecoded() && !e.value().expiredAt(now)) {
        return e;
      }
      if (applied(map.compareAndDelete(mk, e.modRevision())) && e.isDecoded()) {
        V old = value(e.value());
        events.add(event(EventType.EXPIRED, key(e.value()), old, old));
      }
    }
  }

  /** Applies the access expiry to a live entry that was read. */
  private void touch(String mk, TypedEntry<Stored> e, long now) {
    Duration d;
    try {
      d = expiry.getExpiryForAccess();
    } catch (RuntimeException ex) {
      d = null;
    }
    if (d == null) {
      return;
    }
    long exp = expiresAt(d, now);
    if (exp != e.value().expiresAt()) {
      Stored s = e.value();
      map.compareAndSet(mk, e.modRevision(), new Stored(s.key(), s.value(), exp));
    }
  }

  private long creationExpiry(long now) {
    Duration d;
    try {
      d = expiry.getExpiryForCreation();
    } catch (RuntimeException ex) {
      d = Duration.ETERNAL;
    }
    return expiresAt(d == null ? Duration.ETERNAL : d, now);
  }

  private long updateExpiry(long now, long previous) {
    Duration d;
    try {
      d = expiry.getExpiryForUpdate();
    } catch (RuntimeException ex) {
      d = null;
    }
    return d == null ? previous : expiresAt(d, now);
  }

  private static long expiresAt(Duration d, long now) {
    if (d.isEternal()) {
      return Long.MAX_VALUE;
    }
    if (d.isZero()) {
      return now;
    }
    long t = d.getAdjustedTime(now);
    return t <= now ? now + 1 : t;
  }

  /**
   * True when a conditional write was applied. When it lost to another writer, waits before the
   * caller reads again and retries: until this instance has applied the revision that won (so the
   * retry sees it rather than the stale entry), or, when the key was found removed (no revision to
   * wait for), a millisecond.
   */
  private boolean applied(WriteResult r) {
    if (r.status() == WriteResult.Status.APPLIED) {
      return true;
    }
    if (r.status() == WriteResult.Status.CONFLICT && r.revision() > 0) {
      map.untyped().replica().awaitRevision(r.revision(), CONFLICT_WAIT);
    } else {
      LockSupport.parkNanos(1_000_000);
    }
    return false;
  }

  private EntryEvent<K, V> event(EventType type, K key, V value, V oldValue) {
    return new EntryEvent<>(this, type, key, value, oldValue, oldValue != null);
  }

  private void dispatch(List<EntryEvent<K, V>> events) {
    if (events.isEmpty()) {
      return;
    }
    RuntimeException failure = null;
    for (ListenerRegistration<K, V> r : listeners) {
      try {
        r.deliver(events);
      } catch (RuntimeException ex) {
        if (failure == null) {
          failure = ex;
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  private void writeThrough(K key, V value) {
    if (writer == null) {
      return;
    }
    try {
      writer.write(new LockstepCacheEntry<>(key, value));
    } catch (CacheWriterException ex) {
      throw ex;
    } catch (Exception ex) {
      throw new CacheWriterException(ex);
    }
  }

  private void deleteThrough(K key) {
    if (writer == null) {
      return;
    }
    try {
      writer.delete(key);
    } catch (CacheWriterException ex) {
      throw ex;
    } catch (Exception ex) {
      throw new CacheWriterException(ex);
    }
  }

  /** The map key of a serialized key: its base64url, or the base64url of its SHA-256 if long. */
  static String mapKey(byte[] keyBytes) {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    if (keyBytes.length <= MAX_INLINE_KEY_BYTES) {
      return "k" + b64.encodeToString(keyBytes);
    }
    try {
      return "h" + b64.encodeToString(MessageDigest.getInstance("SHA-256").digest(keyBytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] serialize(Object o) {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bos)) {
      out.writeObject(o);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "a store-by-value cache needs Serializable keys and values: " + e, e);
    }
    return bos.toByteArray();
  }

  private Object deserialize(byte[] bytes) {
    try (ObjectInputStream in = new LoaderObjectInputStream(new ByteArrayInputStream(bytes))) {
      return in.readObject();
    } catch (IOException | ClassNotFoundException e) {
      throw new CacheException("could not deserialize a stored key or value", e);
    }
  }

  @SuppressWarnings("unchecked")
  private K key(Stored s) {
    return (K) deserialize(s.key());
  }

  @SuppressWarnings("unchecked")
  private V value(Stored s) {
    return (V) deserialize(s.value());
  }

  @SuppressWarnings("unchecked")
  private V copy(byte[] valueBytes) {
    return (V) deserialize(valueBytes);
  }

  /** Resolves classes with the cache manager's class loader first. */
  private final class LoaderObjectInputStream extends ObjectInputStream {
    LoaderObjectInputStream(InputStream in) throws IOException {
      super(in);
    }

    @Override
    protected Class<?> resolveClass(ObjectStreamClass desc)
        throws IOException, ClassNotFoundException {
      try {
        return Class.forName(desc.getName(), false, classLoader);
      } catch (ClassNotFoundException e) {
        return super.resolveClass(desc);
      }
    }
  }

  @Override
  public String toString() {
    return "LockstepCache[" + name + " @ " + manager.getURI() + "]";
  }
}
