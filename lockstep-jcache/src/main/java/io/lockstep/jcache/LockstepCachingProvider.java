package io.lockstep.jcache;

import io.lockstep.Lockstep;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.WeakHashMap;
import javax.cache.CacheManager;
import javax.cache.configuration.OptionalFeature;
import javax.cache.spi.CachingProvider;

/**
 * The JCache (JSR-107) provider of Lockstep: every cache is a {@link io.lockstep.TypedMap} of a
 * Lockstep node, so its entries are kept in step across every instance that uses the same backend.
 *
 * <p>A {@link CacheManager} is kept per (URI, class loader). The node a manager runs on is chosen
 * by the manager's {@link Properties} or, when they do not say, by system properties:
 *
 * <ul>
 *   <li>{@value #BACKEND} (system property {@value #SYSTEM_BACKEND}): the backend URI, e.g. {@code
 *       etcd://127.0.0.1:2379}, {@code redis://127.0.0.1:6379} or {@code peer:} (the default: the
 *       embedded peer backend as a group of one; its module must be on the class path);
 *   <li>{@value #KEY_PREFIX} (system property {@value #SYSTEM_KEY_PREFIX}): the node's key prefix,
 *       default {@code jcache};
 *   <li>{@value #INSTANCE_ID} (system property {@value #SYSTEM_INSTANCE_ID}): the node's instance
 *       id, default generated (a voter of {@code peer:} needs a stable one to find its data again).
 * </ul>
 *
 * <p>Managers with the same backend and key prefix share one node, in this process, whichever
 * provider instance (class loader) they come from; a node starts with the first manager that needs
 * it and closes when the last provider using it is {@link #close() closed}. See {@code
 * docs/jcache.md}.
 */
public final class LockstepCachingProvider implements CachingProvider {

  /** The manager property naming the backend URI. */
  public static final String BACKEND = "lockstep.backend";

  /** The manager property naming the node's key prefix. */
  public static final String KEY_PREFIX = "lockstep.keyPrefix";

  /** The system property naming the backend URI when a manager's properties do not. */
  public static final String SYSTEM_BACKEND = "lockstep.jcache.backend";

  /** The system property naming the key prefix when a manager's properties do not. */
  public static final String SYSTEM_KEY_PREFIX = "lockstep.jcache.keyPrefix";

  /** The backend used when nothing names one: the embedded peer backend, a group of one. */
  public static final String DEFAULT_BACKEND = "peer:";

  /** The key prefix used when nothing names one. */
  public static final String DEFAULT_KEY_PREFIX = "jcache";

  /** The default manager URI. */
  public static final URI DEFAULT_URI = URI.create("lockstep:jcache");

  /** The manager property naming the node's instance id (default: generated). */
  public static final String INSTANCE_ID = "lockstep.instanceId";

  /** The system property naming the node's instance id when a manager's properties do not. */
  public static final String SYSTEM_INSTANCE_ID = "lockstep.jcache.instanceId";

  /**
   * The nodes of every provider in this process, by backend and key prefix, with the providers
   * using each: providers of different class loaders share one node per backend, and a node closes
   * when the last provider using it closes. Guarded by itself.
   */
  private static final Map<String, SharedNode> NODES = new HashMap<>();

  private static final class SharedNode {
    final Lockstep node;
    final Set<LockstepCachingProvider> users = new HashSet<>();

    SharedNode(Lockstep node) {
      this.node = node;
    }
  }

  private final Map<ClassLoader, Map<URI, LockstepCacheManager>> managers = new WeakHashMap<>();
  private final Set<String> nodes = new LinkedHashSet<>();

  /** Made by {@link javax.cache.Caching} through the service loader. */
  public LockstepCachingProvider() {}

  @Override
  public synchronized CacheManager getCacheManager(
      URI uri, ClassLoader classLoader, Properties properties) {
    URI u = uri == null ? getDefaultURI() : uri;
    ClassLoader cl = classLoader == null ? getDefaultClassLoader() : classLoader;
    Properties p = properties == null ? new Properties() : properties;
    Map<URI, LockstepCacheManager> byUri = managers.computeIfAbsent(cl, k -> new HashMap<>());
    LockstepCacheManager m = byUri.get(u);
    if (m == null || m.isClosed()) {
      m = new LockstepCacheManager(this, u, cl, p);
      byUri.put(u, m);
    }
    return m;
  }

  @Override
  public CacheManager getCacheManager(URI uri, ClassLoader classLoader) {
    return getCacheManager(uri, classLoader, getDefaultProperties());
  }

  @Override
  public CacheManager getCacheManager() {
    return getCacheManager(getDefaultURI(), getDefaultClassLoader(), getDefaultProperties());
  }

  @Override
  public ClassLoader getDefaultClassLoader() {
    ClassLoader cl = Thread.currentThread().getContextClassLoader();
    return cl != null ? cl : LockstepCachingProvider.class.getClassLoader();
  }

  @Override
  public URI getDefaultURI() {
    return DEFAULT_URI;
  }

  @Override
  public Properties getDefaultProperties() {
    return new Properties();
  }

  /** Closes every manager of this provider, then every node it started. */
  @Override
  public void close() {
    List<LockstepCacheManager> all = new ArrayList<>();
    List<String> used;
    synchronized (this) {
      managers.values().forEach(m -> all.addAll(m.values()));
      managers.clear();
      used = new ArrayList<>(nodes);
      nodes.clear();
    }
    all.forEach(LockstepCacheManager::close);
    for (String id : used) {
      synchronized (NODES) {
        SharedNode shared = NODES.get(id);
        if (shared != null && shared.users.remove(this) && shared.users.isEmpty()) {
          NODES.remove(id);
          shared.node.close();
        }
      }
    }
  }

  @Override
  public void close(ClassLoader classLoader) {
    ClassLoader cl = classLoader == null ? getDefaultClassLoader() : classLoader;
    List<LockstepCacheManager> all;
    synchronized (this) {
      Map<URI, LockstepCacheManager> byUri = managers.remove(cl);
      all = byUri == null ? List.of() : new ArrayList<>(byUri.values());
    }
    all.forEach(LockstepCacheManager::close);
  }

  @Override
  public void close(URI uri, ClassLoader classLoader) {
    URI u = uri == null ? getDefaultURI() : uri;
    ClassLoader cl = classLoader == null ? getDefaultClassLoader() : classLoader;
    LockstepCacheManager m;
    synchronized (this) {
      Map<URI, LockstepCacheManager> byUri = managers.get(cl);
      m = byUri == null ? null : byUri.remove(u);
      if (byUri != null && byUri.isEmpty()) {
        managers.remove(cl);
      }
    }
    if (m != null) {
      m.close();
    }
  }

  /** Store-by-reference is not supported: a replicated cache stores every entry by value. */
  @Override
  public boolean isSupported(OptionalFeature optionalFeature) {
    return false;
  }

  /** Forgets a manager that closed itself. */
  synchronized void released(LockstepCacheManager manager) {
    Map<URI, LockstepCacheManager> byUri = managers.get(manager.getClassLoader());
    if (byUri != null && byUri.get(manager.getURI()) == manager) {
      byUri.remove(manager.getURI());
      if (byUri.isEmpty()) {
        managers.remove(manager.getClassLoader());
      }
    }
  }

  /** The node for these manager properties: started on first use, shared by same settings. */
  synchronized Lockstep node(Properties properties) {
    String backend = setting(properties, BACKEND, SYSTEM_BACKEND, DEFAULT_BACKEND);
    String prefix = setting(properties, KEY_PREFIX, SYSTEM_KEY_PREFIX, DEFAULT_KEY_PREFIX);
    String id = backend + "\n" + prefix;
    synchronized (NODES) {
      SharedNode shared = NODES.get(id);
      if (shared == null) {
        String instanceId = setting(properties, INSTANCE_ID, SYSTEM_INSTANCE_ID, "");
        shared =
            new SharedNode(
                Lockstep.builder()
                    .backend(backend)
                    .keyPrefix(prefix)
                    .instanceId(instanceId == null || instanceId.isBlank() ? null : instanceId)
                    .build());
        NODES.put(id, shared);
      }
      shared.users.add(this);
      nodes.add(id);
      return shared.node;
    }
  }

  private static String setting(Properties p, String key, String systemKey, String fallback) {
    String v = p.getProperty(key);
    if (v == null || v.isBlank()) {
      v = System.getProperty(systemKey);
    }
    return v == null || v.isBlank() ? fallback : v.trim();
  }

  @Override
  public String toString() {
    return "LockstepCachingProvider[" + Objects.toString(DEFAULT_URI) + "]";
  }
}
