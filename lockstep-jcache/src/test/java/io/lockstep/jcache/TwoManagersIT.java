package io.lockstep.jcache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.process.FreePorts;
import io.lockstep.process.TempDirs;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.cache.Cache;
import javax.cache.CacheManager;
import javax.cache.configuration.MutableCacheEntryListenerConfiguration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.processor.EntryProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Three cache managers, each on a node of its own, the three nodes the voters of one real peer
 * group (Raft among them, in this JVM, on loopback): what is written through one manager's cache is
 * read through another's.
 */
class TwoManagersIT {
  private static final URI URI_ = URI.create("lockstep:orders");

  private final List<LockstepCachingProvider> providers = new ArrayList<>();
  private final List<Cache<String, String>> caches = new ArrayList<>();
  private Path root;

  @BeforeEach
  void start() {
    root = TempDirs.create("lockstep-jcache-it-");
    List<Integer> ports = FreePorts.take(3);
    String list = ports.stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
    for (int i = 0; i < 3; i++) {
      Properties p = new Properties();
      p.setProperty(
          LockstepCachingProvider.BACKEND,
          "peer://"
              + list
              + "?bind=127.0.0.1:"
              + ports.get(i)
              + "&data="
              + root.resolve("voter-" + i)
              + "&failure_timeout=3s");
      p.setProperty(LockstepCachingProvider.KEY_PREFIX, "jcache-it");
      p.setProperty(LockstepCachingProvider.INSTANCE_ID, "it-" + i);
      // a provider of its own each: one process plays three instances
      LockstepCachingProvider provider = new LockstepCachingProvider();
      providers.add(provider);
      CacheManager manager = provider.getCacheManager(URI_, getClass().getClassLoader(), p);
      caches.add(
          manager.createCache(
              "orders",
              new MutableConfiguration<String, String>().setTypes(String.class, String.class)));
    }
  }

  @AfterEach
  void stop() {
    providers.forEach(LockstepCachingProvider::close);
    TempDirs.deleteTree(root);
  }

  @Test
  void aPutThroughOneIsSeenThroughTheOtherAndSoIsARemove() {
    Cache<String, String> a = caches.get(0);
    Cache<String, String> b = caches.get(1);

    List<String> seenByB = new CopyOnWriteArrayList<>();
    CacheEntryCreatedListener<String, String> listener =
        events -> events.forEach(e -> seenByB.add(e.getKey()));
    b.registerCacheEntryListener(
        new MutableCacheEntryListenerConfiguration<String, String>(
            () -> listener, null, false, true));

    a.put("order-1", "paid");
    assertThat(a.get("order-1")).isEqualTo("paid"); // read-your-writes on the writer
    await().atMost(Duration.ofSeconds(10)).until(() -> "paid".equals(b.get("order-1")));

    // listeners hear this instance's operations only (docs/jcache.md): a's put is not an event on b
    assertThat(seenByB).isEmpty();

    String longKey = "k".repeat(2_000); // stored under its SHA-256
    b.put(longKey, "big");
    assertThat(seenByB).containsExactly(longKey);
    await().atMost(Duration.ofSeconds(10)).until(() -> "big".equals(a.get(longKey)));

    assertThat(b.remove("order-1")).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> !a.containsKey("order-1"));
    assertThat(a.get("order-1")).isNull();
    // the third manager saw both too
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                "big".equals(caches.get(2).get(longKey)) && !caches.get(2).containsKey("order-1"));
  }

  @Test
  void atomicOperationsDecideOnceAcrossInstances() {
    Cache<String, String> a = caches.get(0);
    Cache<String, String> b = caches.get(1);
    assertThat(a.putIfAbsent("lock", "a")).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> b.containsKey("lock"));
    assertThat(b.putIfAbsent("lock", "b")).isFalse();
    assertThat(b.replace("lock", "a", "b")).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> "b".equals(a.get("lock")));
    assertThat(a.replace("lock", "a", "c")).isFalse();
    assertThat(a.get("lock")).isEqualTo("b");
  }

  @Test
  void entryProcessorsOnTwoInstancesAtOnceLoseNoIncrement() throws Exception {
    Cache<String, String> a = caches.get(0);
    Cache<String, String> b = caches.get(1);
    int perInstance = 25;
    EntryProcessor<String, String, Void> increment =
        (entry, args) -> {
          int n = entry.exists() ? Integer.parseInt(entry.getValue()) : 0;
          entry.setValue(Integer.toString(n + 1));
          return null;
        };
    try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
      List<Future<?>> done = new ArrayList<>();
      for (Cache<String, String> c : List.of(a, b)) {
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < perInstance; i++) {
                    c.invoke("counter", increment);
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    }
    String expected = Integer.toString(2 * perInstance);
    assertThat(a.get("counter")).isEqualTo(expected);
    await().atMost(Duration.ofSeconds(10)).until(() -> expected.equals(b.get("counter")));
  }
}
