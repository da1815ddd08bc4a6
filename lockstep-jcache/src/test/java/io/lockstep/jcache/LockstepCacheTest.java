package io.lockstep.jcache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.Lockstep;
import io.lockstep.TypedMap;
import java.net.URI;
import javax.cache.Cache;
import javax.cache.CacheManager;
import javax.cache.Caching;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.spi.CachingProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the TCK does not check: the map names, the refusals of a replicated store-by-value cache,
 * and unwrapping to Lockstep's own objects. On the backend the TCK runs on (see {@link
 * JCacheTckSession}).
 */
class LockstepCacheTest {
  private final CachingProvider provider = Caching.getCachingProvider();
  private final CacheManager manager = provider.getCacheManager();

  @AfterEach
  void destroy() {
    for (String name : manager.getCacheNames()) {
      manager.destroyCache(name);
    }
  }

  @Test
  void mapNames() {
    URI other = URI.create("lockstep:eu");
    assertThat(LockstepCacheManager.mapName(LockstepCachingProvider.DEFAULT_URI, "orders"))
        .isEqualTo("jcache.orders");
    assertThat(LockstepCacheManager.mapName(other, "orders"))
        .matches("jcache\\.orders\\.[0-9a-f]{12}");
    assertThat(LockstepCacheManager.mapName(other, "orders"))
        .isNotEqualTo(LockstepCacheManager.mapName(URI.create("lockstep:us"), "orders"));
    assertThat(LockstepCacheManager.mapName(other, "orders/2026 ü"))
        .matches("jcache\\.h\\.[0-9a-f]{40}");
    assertThat(LockstepCacheManager.mapName(LockstepCachingProvider.DEFAULT_URI, "x".repeat(122)))
        .matches("jcache\\.h\\.[0-9a-f]{40}");
  }

  @Test
  void aCacheIsATypedMapOfTheManagersNode() {
    Cache<String, String> cache =
        manager.createCache("unwrapped", new MutableConfiguration<String, String>());
    cache.put("a", "1");
    TypedMap<?> map = cache.unwrap(TypedMap.class);
    assertThat(map.name()).isEqualTo("jcache.unwrapped");
    assertThat(map.size()).isEqualTo(1);
    Lockstep node = manager.unwrap(Lockstep.class);
    assertThat(node.map().get("jcache.unwrapped/" + map.keys().iterator().next())).isNotNull();
    assertThatThrownBy(() -> cache.unwrap(String.class))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aCacheWithAnAwkwardNameWorks() {
    Cache<Integer, String> cache =
        manager.createCache("orders/2026 ü", new MutableConfiguration<Integer, String>());
    cache.put(1, "one");
    assertThat(cache.get(1)).isEqualTo("one");
    assertThat(cache.unwrap(TypedMap.class).name()).startsWith("jcache.h.");
  }

  @Test
  void storeByReferenceIsRefused() {
    assertThatThrownBy(
            () ->
                manager.createCache(
                    "byRef", new MutableConfiguration<String, String>().setStoreByValue(false)))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(manager.getCache("byRef")).isNull();
  }

  @Test
  void aValueThatCannotBeSerializedIsRefusedAndNothingIsStored() {
    Cache<String, Object> cache =
        manager.createCache("values", new MutableConfiguration<String, Object>());
    assertThatThrownBy(() -> cache.put("k", new Object()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Serializable");
    assertThat(cache.containsKey("k")).isFalse();
  }

  @Test
  void destroyCacheRemovesTheEntriesFromTheBackend() {
    Cache<String, String> cache =
        manager.createCache("destroyed", new MutableConfiguration<String, String>());
    cache.put("a", "1");
    TypedMap<?> map = cache.unwrap(TypedMap.class);
    manager.destroyCache("destroyed");
    assertThat(cache.isClosed()).isTrue();
    assertThat(map.size()).isZero();
    Cache<String, String> again =
        manager.createCache("destroyed", new MutableConfiguration<String, String>());
    assertThat(again.get("a")).isNull();
  }
}
