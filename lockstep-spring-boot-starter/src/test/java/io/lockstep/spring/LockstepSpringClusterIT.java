package io.lockstep.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Codec;
import io.lockstep.FleetStatus;
import io.lockstep.Lockstep;
import io.lockstep.TypedMap;
import io.lockstep.WriteResult;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Three application contexts in this JVM, each a voter of one peer-backend group: live config
 * converges on every instance by rebinding the same bean instances, a cache eviction on one
 * instance is seen by all, and bad or unrelated keys change nothing they should not.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LockstepSpringClusterIT {
  private final SpringCluster cluster = new SpringCluster(3);
  private List<ConfigurableApplicationContext> apps = List.of();

  @BeforeAll
  void start() throws Exception {
    try {
      apps = cluster.start();
    } catch (Exception | Error e) {
      cluster.close();
      throw e;
    }
  }

  @AfterAll
  void stop() {
    cluster.close();
  }

  private static TypedMap<String> config(ConfigurableApplicationContext ctx) {
    return ctx.getBean(Lockstep.class).map("config", Codec.string());
  }

  private static Map<String, Object> singletons(ConfigurableApplicationContext ctx) {
    Map<String, Object> out = new HashMap<>();
    for (String name : ctx.getBeanFactory().getSingletonNames()) {
      out.put(name, ctx.getBeanFactory().getSingleton(name));
    }
    return out;
  }

  private static void assertSameSingletons(
      ConfigurableApplicationContext ctx, Map<String, Object> before) {
    for (Map.Entry<String, Object> e : before.entrySet()) {
      assertThat(ctx.getBeanFactory().getSingleton(e.getKey()))
          .as("bean %s", e.getKey())
          .isSameAs(e.getValue());
    }
  }

  private static Optional<LockstepConfigChangedEvent> event(
      ConfigurableApplicationContext ctx, long revision) {
    return ctx.getBean(TestApp.Events.class).seen.stream()
        .filter(e -> e.revision() == revision)
        .findFirst();
  }

  @Test
  void configPut_rebindsTheSameBeanOnEveryInstance_withinOneSecond() throws Exception {
    List<TestApp.Greeting> beans =
        apps.stream().map(c -> c.getBean(TestApp.Greeting.class)).toList();
    List<Map<String, Object>> before = apps.stream().map(c -> singletons(c)).toList();
    assertThat(beans).allSatisfy(b -> assertThat(b.getText()).isEqualTo("hello"));

    WriteResult w = config(apps.get(0)).put("app.greeting.text", "hola");

    await()
        .atMost(Duration.ofSeconds(1))
        .pollInterval(Duration.ofMillis(10))
        .untilAsserted(
            () -> assertThat(beans).allSatisfy(b -> assertThat(b.getText()).isEqualTo("hola")));
    for (int i = 0; i < apps.size(); i++) {
      ConfigurableApplicationContext ctx = apps.get(i);
      assertThat(ctx.getBean(TestApp.Greeting.class)).isSameAs(beans.get(i));
      assertSameSingletons(ctx, before.get(i));
      assertThat(ctx.getEnvironment().getProperty("app.greeting.text")).isEqualTo("hola");
      await()
          .atMost(Duration.ofSeconds(1))
          .untilAsserted(() -> assertThat(event(ctx, w.revision())).isPresent());
      LockstepConfigChangedEvent e = event(ctx, w.revision()).orElseThrow();
      assertThat(e.keys()).containsExactly("app.greeting.text");
      assertThat(e.reboundBeans()).hasSize(1);
      assertThat(ctx.getBean(e.reboundBeans().iterator().next())).isSameAs(beans.get(i));
      assertThat(e.failedBeans()).isEmpty();
    }
    // every member says so too, over the nodes' own listeners
    FleetStatus fleet =
        apps.get(1)
            .getBean(Lockstep.class)
            .awaitFleet(w.revision(), Duration.ofSeconds(5))
            .get(6, TimeUnit.SECONDS);
    assertThat(fleet.converged(w.revision())).isTrue();
    assertThat(fleet.members()).extracting(m -> m.member().id()).contains("n0", "n1", "n2");
    assertThat(fleet.members())
        .allSatisfy(m -> assertThat(m.appliedRevision()).isGreaterThanOrEqualTo(w.revision()));
  }

  /**
   * Rebinding never runs on the replication thread: with every instance's rebinding stuck in a
   * setter, changes still apply on every instance (and the environment shows them); once the setter
   * returns, the bean takes the value.
   */
  @Test
  void stuckRebinding_neverHoldsUpReplication() {
    TestApp.Stuck.threads.clear();
    TestApp.Stuck.blocked.set(0);
    TestApp.Stuck.gate = new CountDownLatch(1);
    try {
      config(apps.get(0)).put("app.stuck.mode", "block");
      await().atMost(Duration.ofSeconds(2)).until(() -> TestApp.Stuck.blocked.get() >= 3);

      WriteResult last = null;
      for (int i = 0; i < 20; i++) {
        last = apps.get(1).getBean(Lockstep.class).map().put("other/k" + i, new byte[] {1}, null);
      }
      for (ConfigurableApplicationContext ctx : apps) {
        assertThat(
                ctx.getBean(Lockstep.class)
                    .map()
                    .replica()
                    .awaitRevision(last.revision(), Duration.ofSeconds(2)))
            .as("replication goes on while the rebinding is stuck")
            .isTrue();
        assertThat(ctx.getEnvironment().getProperty("app.stuck.mode")).isEqualTo("block");
        assertThat(ctx.getBean(TestApp.Stuck.class).getMode()).isEmpty();
      }
    } finally {
      TestApp.Stuck.gate.countDown();
    }
    await()
        .atMost(Duration.ofSeconds(2))
        .untilAsserted(
            () ->
                assertThat(apps)
                    .allSatisfy(
                        c ->
                            assertThat(c.getBean(TestApp.Stuck.class).getMode())
                                .isEqualTo("block")));
    assertThat(TestApp.Stuck.threads).containsOnly("lockstep-config");
  }

  @Test
  void keyOutsideEveryPrefix_rebindsNothing() {
    TestApp.Greeting greeting = apps.get(1).getBean(TestApp.Greeting.class);
    String text = greeting.getText();
    Map<String, Object> before = singletons(apps.get(1));

    WriteResult w = config(apps.get(0)).put("unrelated.flag", "on");

    await()
        .atMost(Duration.ofSeconds(2))
        .untilAsserted(() -> assertThat(event(apps.get(1), w.revision())).isPresent());
    LockstepConfigChangedEvent e = event(apps.get(1), w.revision()).orElseThrow();
    assertThat(e.keys()).containsExactly("unrelated.flag");
    assertThat(e.reboundBeans()).isEmpty();
    assertThat(e.failedBeans()).isEmpty();
    assertThat(greeting.getText()).isEqualTo(text);
    assertSameSingletons(apps.get(1), before);
    assertThat(apps.get(1).getEnvironment().getProperty("unrelated.flag")).isEqualTo("on");
  }

  @Test
  void valueThatFailsToBind_keepsTheOldValue_andReplicationGoesOn() {
    TestApp.Limits limits = apps.get(2).getBean(TestApp.Limits.class);
    assertThat(limits.getMax()).isEqualTo(10);
    TypedMap<String> config = config(apps.get(0));

    WriteResult bad = config.put("app.limits.max", "abc");

    await()
        .atMost(Duration.ofSeconds(2))
        .untilAsserted(() -> assertThat(event(apps.get(2), bad.revision())).isPresent());
    LockstepConfigChangedEvent e = event(apps.get(2), bad.revision()).orElseThrow();
    assertThat(e.reboundBeans()).isEmpty();
    assertThat(e.failedBeans()).hasSize(1);
    assertThat(e.failedBeans().values().iterator().next()).contains("app.limits.max");
    assertThat(limits.getMax()).isEqualTo(10);

    // the replication thread and the rebinding go on: a good value binds
    WriteResult good = config.put("app.limits.max", "42");
    await().atMost(Duration.ofSeconds(1)).until(() -> limits.getMax() == 42);
    assertThat(apps.get(2).getBean(TestApp.Limits.class)).isSameAs(limits);
    assertThat(event(apps.get(2), good.revision()).orElseThrow().reboundBeans()).hasSize(1);
    for (ConfigurableApplicationContext ctx : apps) {
      assertThat(ctx.getBean(Lockstep.class).map().replica().stats().listenerFailures()).isZero();
    }
  }

  @Test
  void constructorBoundRecord_isNotRebound_andTheEventSaysSo() {
    TestApp.Frozen frozen = apps.get(0).getBean(TestApp.Frozen.class);

    WriteResult w = config(apps.get(1)).put("app.frozen.text", "thawed");

    await()
        .atMost(Duration.ofSeconds(2))
        .untilAsserted(() -> assertThat(event(apps.get(0), w.revision())).isPresent());
    LockstepConfigChangedEvent e = event(apps.get(0), w.revision()).orElseThrow();
    assertThat(e.failedBeans().values())
        .containsExactly("constructor-bound (immutable): not rebound");
    assertThat(apps.get(0).getBean(TestApp.Frozen.class)).isSameAs(frozen);
    assertThat(frozen.text()).isNull();
    assertThat(apps.get(0).getEnvironment().getProperty("app.frozen.text")).isEqualTo("thawed");
  }

  @Test
  void cacheEvictOnOneInstance_removesTheEntryOnEveryInstance() {
    List<TestApp.SlowService> services =
        apps.stream().map(c -> c.getBean(TestApp.SlowService.class)).toList();
    List<Cache> caches =
        apps.stream().map(c -> c.getBean(CacheManager.class).getCache("greetings")).toList();
    assertThat(apps.get(0).getBean(CacheManager.class)).isInstanceOf(LockstepCacheManager.class);
    int[] calls = services.stream().mapToInt(s -> s.calls()).toArray();

    assertThat(services.get(0).greet("ann")).isEqualTo("hi ann");
    assertThat(services.get(0).greet("ann")).isEqualTo("hi ann");
    assertThat(services.get(0).calls() - calls[0]).isEqualTo(1);
    await()
        .atMost(Duration.ofSeconds(2))
        .until(() -> caches.get(1).get("ann") != null && caches.get(2).get("ann") != null);
    assertThat(services.get(1).greet("ann")).isEqualTo("hi ann");
    assertThat(services.get(2).greet("ann")).isEqualTo("hi ann");
    assertThat(services.get(1).calls() - calls[1]).isEqualTo(0); // a hit: the value A cached
    assertThat(services.get(2).calls() - calls[2]).isEqualTo(0);

    services.get(0).forget("ann");

    await()
        .atMost(Duration.ofSeconds(2))
        .until(() -> caches.get(1).get("ann") == null && caches.get(2).get("ann") == null);
    assertThat(services.get(1).greet("ann")).isEqualTo("hi ann");
    assertThat(services.get(1).calls() - calls[1]).isEqualTo(1); // a miss: the slow method ran
    // B's miss filled the replicated cache again, for C too; evict once more and let C miss
    await().atMost(Duration.ofSeconds(2)).until(() -> caches.get(2).get("ann") != null);
    services.get(0).forget("ann");
    await()
        .atMost(Duration.ofSeconds(2))
        .until(() -> caches.get(1).get("ann") == null && caches.get(2).get("ann") == null);
    assertThat(services.get(2).greet("ann")).isEqualTo("hi ann");
    assertThat(services.get(2).calls() - calls[2]).isEqualTo(1);
  }

  @Test
  void cache_nullValues_putIfAbsent_clear_retrieve() throws Exception {
    TestApp.SlowService svc = apps.get(1).getBean(TestApp.SlowService.class);
    int calls = svc.calls();
    assertThat(svc.nothing("nobody")).isNull();
    assertThat(svc.nothing("nobody")).isNull();
    assertThat(svc.calls() - calls).isEqualTo(1); // the null was cached

    Cache a = apps.get(0).getBean(CacheManager.class).getCache("scratch");
    Cache b = apps.get(2).getBean(CacheManager.class).getCache("scratch");
    assertThat(a.putIfAbsent("k", "v1")).isNull();
    Cache.ValueWrapper existing = b.putIfAbsent("k", "v2");
    assertThat(existing).isNotNull();
    assertThat(existing.get()).isEqualTo("v1");
    assertThat(a.get("k", String.class)).isEqualTo("v1");
    assertThat(a.retrieve("k").get()).isInstanceOf(Cache.ValueWrapper.class);
    assertThat(a.retrieve("absent")).isNull();
    assertThat(
            a.retrieve("loaded", () -> java.util.concurrent.CompletableFuture.completedFuture("x"))
                .get())
        .isEqualTo("x");
    await().atMost(Duration.ofSeconds(2)).until(() -> b.get("loaded") != null);

    a.clear();
    await()
        .atMost(Duration.ofSeconds(2))
        .until(() -> b.get("k") == null && b.get("loaded") == null);
  }

  @Test
  void lateInstance_valueAndPropertiesSeeTheMapAtCreation() {
    config(apps.get(0)).put("app.initial", "from-map");
    WriteResult w = config(apps.get(0)).put("app.greeting.times", "7");

    ConfigurableApplicationContext late = cluster.nonVoter("late");
    try {
      assertThat(late.getBean(Lockstep.class).map().replica().appliedRevision())
          .isGreaterThanOrEqualTo(w.revision());
      assertThat(late.getBean(TestApp.Initial.class).value).isEqualTo("from-map");
      assertThat(late.getBean(TestApp.Greeting.class).getTimes()).isEqualTo(7);
    } finally {
      late.close();
    }
  }

  @Test
  void meterBinder_registersTheServersReplicaMeters() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try {
      apps.get(0).getBean(LockstepMeterBinder.class).bindTo(registry);
      Set<String> scraped = new TreeSet<>();
      for (String line : registry.scrape().split("\n")) {
        if (line.startsWith("lockstep_replica_")) {
          scraped.add(line.split("[ {]")[0]);
        }
      }
      // every replica meter docs/operations.md lists for lockstep serve (near mode's aside)
      Set<String> documented = new TreeSet<>();
      for (String line : Files.readAllLines(Path.of("..", "docs", "operations.md"))) {
        Matcher m = Pattern.compile("^\\| `(lockstep_replica_[a-z_]+)`").matcher(line);
        if (m.find() && !m.group(1).startsWith("lockstep_replica_near_")) {
          documented.add(m.group(1));
        }
      }
      assertThat(documented).hasSize(16);
      assertThat(scraped).isEqualTo(documented);
      assertThat(registry.scrape()).contains("lockstep_replica_ready 1.0");
    } finally {
      registry.close();
    }
  }

  @Test
  void cacheGetWithLoader_loadsOncePerKeyAtATime_otherKeysDoNotWait() throws Exception {
    Cache cache = apps.get(0).getBean(CacheManager.class).getCache("loads");
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      Future<String> first =
          pool.submit(
              () ->
                  cache.get(
                      "k",
                      () -> {
                        calls.incrementAndGet();
                        release.await();
                        return "v";
                      }));
      await().atMost(Duration.ofSeconds(5)).until(() -> calls.get() == 1);
      Future<String> second =
          pool.submit(
              () ->
                  cache.get(
                      "k",
                      () -> {
                        calls.incrementAndGet();
                        return "other";
                      }));
      assertThat(pool.submit(() -> cache.get("j", () -> "w")).get(5, TimeUnit.SECONDS))
          .isEqualTo("w");
      release.countDown();
      assertThat(first.get(5, TimeUnit.SECONDS)).isEqualTo("v");
      assertThat(second.get(5, TimeUnit.SECONDS)).isEqualTo("v");
      assertThat(calls).hasValue(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void configDisabled_noPropertySource_noRebinding() {
    WriteResult w = config(apps.get(0)).put("app.initial", "from-map");

    ConfigurableApplicationContext plain =
        cluster.nonVoter("plain", "lockstep.config.enabled=false");
    try {
      assertThat(plain.getBean(Lockstep.class).map().replica().appliedRevision())
          .isGreaterThanOrEqualTo(w.revision());
      assertThat(plain.getEnvironment().getPropertySources().contains(LockstepPropertySource.NAME))
          .isFalse();
      assertThat(plain.getBeanProvider(LockstepLiveConfig.class).getIfAvailable()).isNull();
      assertThat(plain.getBean(TestApp.Initial.class).value).isEqualTo("none");
      assertThat(plain.getEnvironment().getProperty("app.initial")).isNull();
    } finally {
      plain.close();
    }
  }
}
