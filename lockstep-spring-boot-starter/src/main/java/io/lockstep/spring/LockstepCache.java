package io.lockstep.spring;

import io.lockstep.TypedEntry;
import io.lockstep.TypedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.cache.support.AbstractValueAdaptingCache;

/**
 * A Spring {@link org.springframework.cache.Cache} whose entries are a Lockstep typed map: every
 * instance holds every entry, a read is a lookup in memory, and a write or an evict on one instance
 * is a replicated write or delete that every instance applies. Keys are the cache keys' {@link
 * String#valueOf string form} (use keys whose string form identifies them: strings, numbers, or
 * Spring's {@code SimpleKey} of those); values go through {@link JavaSerializationCodec}; null
 * values are stored as Spring's {@code NullValue} when allowed.
 *
 * <p>Not atomic across keys: {@link #clear()} deletes the keys one by one; a value the codec cannot
 * decode (say, a class that changed incompatibly) reads as a miss. {@link #get(Object, Callable)}
 * runs the loader at most once at a time per key on one instance (other callers of that key wait
 * for its value; other keys do not wait), not once across the cluster: two instances that miss
 * together both load, and the last write wins. Thread safe.
 */
public final class LockstepCache extends AbstractValueAdaptingCache {
  private final String name;
  private final TypedMap<Object> map;
  private final ConcurrentHashMap<String, CompletableFuture<@Nullable Object>> loads =
      new ConcurrentHashMap<>();

  LockstepCache(String name, TypedMap<Object> map, boolean allowNullValues) {
    super(allowNullValues);
    this.name = name;
    this.map = map;
  }

  @Override
  public String getName() {
    return name;
  }

  /** The typed map behind this cache. */
  @Override
  public TypedMap<Object> getNativeCache() {
    return map;
  }

  static String key(Object key) {
    return String.valueOf(key);
  }

  @Override
  protected @Nullable Object lookup(Object key) {
    TypedEntry<Object> e = map.getEntry(key(key));
    return e == null || !e.isDecoded() ? null : e.value();
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> @Nullable T get(Object key, Callable<T> valueLoader) {
    String k = key(key);
    while (true) {
      ValueWrapper hit = get(key);
      if (hit != null) {
        return (T) hit.get();
      }
      // one load per key at a time on this instance; others of the same key wait for it
      CompletableFuture<@Nullable Object> mine = new CompletableFuture<>();
      CompletableFuture<@Nullable Object> running = loads.putIfAbsent(k, mine);
      if (running != null) {
        try {
          return (T) running.join();
        } catch (CompletionException | CancellationException failed) {
          continue; // its load failed: try ourselves
        }
      }
      try {
        hit = get(key); // a load that finished between our look and our claim
        T value;
        if (hit != null) {
          value = (T) hit.get();
        } else {
          try {
            value = valueLoader.call();
          } catch (Exception e) {
            throw new ValueRetrievalException(key, valueLoader, e);
          }
          put(key, value);
        }
        mine.complete(value);
        return value;
      } catch (RuntimeException e) {
        mine.completeExceptionally(e);
        throw e;
      } finally {
        loads.remove(k, mine);
      }
    }
  }

  @Override
  public @Nullable CompletableFuture<?> retrieve(Object key) {
    Object stored = lookup(key);
    if (stored == null) {
      return null;
    }
    return CompletableFuture.completedFuture(
        isAllowNullValues() ? toValueWrapper(stored) : fromStoreValue(stored));
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> CompletableFuture<T> retrieve(Object key, Supplier<CompletableFuture<T>> valueLoader) {
    Object stored = lookup(key);
    if (stored != null) {
      return CompletableFuture.completedFuture((T) fromStoreValue(stored));
    }
    return valueLoader
        .get()
        .thenCompose(v -> map.putAsync(key(key), toStoreValue(v)).thenApply(r -> v));
  }

  @Override
  public void put(Object key, @Nullable Object value) {
    map.put(key(key), toStoreValue(value));
  }

  @Override
  public @Nullable ValueWrapper putIfAbsent(Object key, @Nullable Object value) {
    String k = key(key);
    Object store = toStoreValue(value);
    while (true) {
      WriteResult r = map.compareAndSet(k, 0, store);
      if (r.status() == WriteResult.Status.APPLIED) {
        return null;
      }
      Versioned current = r.current();
      if (current != null) {
        try {
          return toValueWrapper(map.codec().decode(current.value()));
        } catch (RuntimeException undecodable) {
          map.put(k, store); // an entry no one can read is as good as absent
          return null;
        }
      }
      if (r.revision() > 0) {
        // the store named the revision only: read the entry once this instance has applied it
        map.untyped().replica().awaitRevision(r.revision(), Duration.ofSeconds(10));
        Object existing = lookup(key);
        if (existing != null) {
          return toValueWrapper(existing);
        }
      }
      // deleted meanwhile: try again
    }
  }

  @Override
  public void evict(Object key) {
    map.delete(key(key));
  }

  @Override
  public boolean evictIfPresent(Object key) {
    return map.delete(key(key)).status() == WriteResult.Status.APPLIED;
  }

  @Override
  public void clear() {
    for (String k : List.copyOf(map.keys())) {
      map.delete(k);
    }
  }

  @Override
  public boolean invalidate() {
    boolean any = !map.keys().isEmpty();
    clear();
    return any;
  }
}
