package io.lockstep.spring;

import io.lockstep.Codec;
import io.lockstep.Lockstep;
import io.lockstep.TypedMap;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.jspecify.annotations.Nullable;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;

/**
 * A Spring {@link CacheManager} whose caches ({@link LockstepCache}) are typed maps of one Lockstep
 * node: the cache {@code users} is the map {@code <mapPrefix>users}, replicated to every instance
 * (full mode only). With fixed names, only those caches exist; without, a cache is made on its
 * first use. Thread safe.
 */
public final class LockstepCacheManager implements CacheManager {
  private final Lockstep node;
  private final String mapPrefix;
  private final boolean allowNullValues;
  private final boolean dynamic;
  private final Codec<Object> codec;
  private final ConcurrentMap<String, LockstepCache> caches = new ConcurrentHashMap<>();

  /**
   * @param node the node whose typed maps hold the caches
   * @param names the caches, made now; empty: each cache is made on its first use
   * @param mapPrefix the prefix of each cache's map name (e.g. {@code cache.})
   * @param allowNullValues whether null values are cached
   * @param classLoader the class loader that deserializes values (the application's)
   */
  public LockstepCacheManager(
      Lockstep node,
      Collection<String> names,
      String mapPrefix,
      boolean allowNullValues,
      @Nullable ClassLoader classLoader) {
    this.node = node;
    this.mapPrefix = mapPrefix;
    this.allowNullValues = allowNullValues;
    this.dynamic = names.isEmpty();
    this.codec = new JavaSerializationCodec(classLoader);
    for (String n : names) {
      caches.put(n, create(n));
    }
  }

  private LockstepCache create(String name) {
    TypedMap<Object> map = node.map(mapPrefix + name, codec);
    return new LockstepCache(name, map, allowNullValues);
  }

  @Override
  public @Nullable Cache getCache(String name) {
    LockstepCache c = caches.get(name);
    if (c == null && dynamic) {
      c = caches.computeIfAbsent(name, this::create);
    }
    return c;
  }

  @Override
  public Collection<String> getCacheNames() {
    return Collections.unmodifiableSet(new LinkedHashSet<>(caches.keySet()));
  }
}
