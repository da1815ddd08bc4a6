package io.lockstep.jcache;

import io.lockstep.Lockstep;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.regex.Pattern;
import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Configuration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.spi.CachingProvider;

/**
 * A JCache {@link CacheManager} on a Lockstep node: each cache it creates is the typed map {@link
 * #mapName named} after the manager's URI and the cache's name, so every manager with the same URI
 * on the same backend (in this process or any other) sees the same entries. The caches a manager
 * knows are the ones created through it; their configuration is the manager's own.
 */
public final class LockstepCacheManager implements CacheManager {
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._-]+");

  private final LockstepCachingProvider provider;
  private final URI uri;
  private final ClassLoader classLoader;
  private final Properties properties;
  private final ConcurrentMap<String, LockstepCache<?, ?>> caches = new ConcurrentHashMap<>();
  private volatile boolean closed;
  private volatile Lockstep node;

  LockstepCacheManager(
      LockstepCachingProvider provider, URI uri, ClassLoader classLoader, Properties properties) {
    this.provider = provider;
    this.uri = uri;
    this.classLoader = classLoader;
    this.properties = new Properties();
    this.properties.putAll(properties);
  }

  @Override
  public CachingProvider getCachingProvider() {
    return provider;
  }

  @Override
  public URI getURI() {
    return uri;
  }

  @Override
  public ClassLoader getClassLoader() {
    return classLoader;
  }

  @Override
  public Properties getProperties() {
    return properties;
  }

  /** The node this manager's caches live on, started with the first cache. */
  Lockstep node() {
    Lockstep n = node;
    if (n == null) {
      synchronized (this) {
        n = node;
        if (n == null) {
          n = provider.node(properties);
          node = n;
        }
      }
    }
    return n;
  }

  @Override
  public <K, V, C extends Configuration<K, V>> Cache<K, V> createCache(
      String cacheName, C configuration) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    Objects.requireNonNull(configuration, "configuration");
    if (!configuration.isStoreByValue()) {
      throw new UnsupportedOperationException(
          "store-by-reference is not supported: a replicated cache stores entries by value");
    }
    MutableConfiguration<K, V> copy;
    if (configuration instanceof CompleteConfiguration<K, V> complete) {
      copy = new MutableConfiguration<>(complete);
    } else {
      copy = new MutableConfiguration<K, V>();
      copy.setTypes(configuration.getKeyType(), configuration.getValueType());
      copy.setStoreByValue(configuration.isStoreByValue());
    }
    synchronized (this) {
      if (caches.containsKey(cacheName)) {
        throw new CacheException("A cache named " + cacheName + " already exists");
      }
      LockstepCache<K, V> cache =
          new LockstepCache<>(
              this, cacheName, copy, node().map(mapName(uri, cacheName), StoredCodec.INSTANCE));
      caches.put(cacheName, cache);
      return cache;
    }
  }

  @Override
  public <K, V> Cache<K, V> getCache(String cacheName, Class<K> keyType, Class<V> valueType) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    Objects.requireNonNull(keyType, "keyType");
    Objects.requireNonNull(valueType, "valueType");
    LockstepCache<?, ?> cache = caches.get(cacheName);
    if (cache == null) {
      return null;
    }
    Configuration<?, ?> c = cache.configuration();
    if (c.getKeyType() != keyType) {
      throw new ClassCastException(
          "cache " + cacheName + " has key type " + c.getKeyType().getName() + ", not " + keyType);
    }
    if (c.getValueType() != valueType) {
      throw new ClassCastException(
          "cache "
              + cacheName
              + " has value type "
              + c.getValueType().getName()
              + ", not "
              + valueType);
    }
    @SuppressWarnings("unchecked")
    Cache<K, V> typed = (Cache<K, V>) cache;
    return typed;
  }

  @Override
  public <K, V> Cache<K, V> getCache(String cacheName) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    @SuppressWarnings("unchecked")
    Cache<K, V> cache = (Cache<K, V>) caches.get(cacheName);
    return cache;
  }

  @Override
  public Iterable<String> getCacheNames() {
    checkOpen();
    return List.copyOf(caches.keySet());
  }

  /**
   * Removes every entry of the cache from the backend (every instance sees them go) and closes it
   * here. Writers and listeners are not told.
   */
  @Override
  public void destroyCache(String cacheName) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    LockstepCache<?, ?> cache = caches.get(cacheName);
    if (cache != null) {
      cache.clearQuietly();
      cache.close();
    }
  }

  @Override
  public void enableManagement(String cacheName, boolean enabled) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    LockstepCache<?, ?> cache = caches.get(cacheName);
    if (cache != null) {
      cache.setManagementEnabled(enabled);
    }
  }

  @Override
  public void enableStatistics(String cacheName, boolean enabled) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    LockstepCache<?, ?> cache = caches.get(cacheName);
    if (cache != null) {
      cache.setStatisticsEnabled(enabled);
    }
  }

  /** Closes every cache of this manager; the node stays up until the provider closes. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    provider.released(this);
    List<LockstepCache<?, ?>> all = new ArrayList<>(caches.values());
    all.forEach(LockstepCache::close);
    caches.clear();
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
    if (clazz.isAssignableFrom(Lockstep.class)) {
      return clazz.cast(node());
    }
    throw new IllegalArgumentException("cannot unwrap a LockstepCacheManager to " + clazz);
  }

  /** Forgets a cache that closed. */
  void released(LockstepCache<?, ?> cache) {
    caches.remove(cache.getName(), cache);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the CacheManager " + uri + " is closed");
    }
  }

  /**
   * The typed map of cache {@code cacheName} of a manager with URI {@code uri}: {@code
   * jcache.<cacheName>} for the default URI, {@code jcache.<cacheName>.<12 hex digits of the
   * SHA-256 of the URI>} for another, when the cache name is letters, digits and {@code ._-} and
   * the whole fits in 128 characters; otherwise {@code jcache.h.} and 40 hex digits of the SHA-256
   * of the URI and the name.
   */
  static String mapName(URI uri, String cacheName) {
    boolean isDefault = uri.equals(LockstepCachingProvider.DEFAULT_URI);
    String plain = "jcache." + cacheName + (isDefault ? "" : "." + sha256Hex(uri.toString(), 6));
    if (plain.length() <= 128 && PLAIN.matcher(cacheName).matches()) {
      return plain;
    }
    return "jcache.h." + sha256Hex(uri + "\n" + cacheName, 20);
  }

  private static String sha256Hex(String s, int bytes) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return "LockstepCacheManager[" + uri + "]";
  }
}
