package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.GroupLoadException;
import io.lockstep.GroupOptions;
import io.lockstep.InvalidKeyException;
import io.lockstep.Loaded;
import io.lockstep.Loader;
import io.lockstep.LoadingGroup;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** One instance alone (it owns every key): single-flight, errors, expiry, removal, caches. */
class GroupEngineTest {

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String str(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static GroupOptions.Builder alone() {
    return GroupOptions.builder().staticPeers("http://127.0.0.1:9", List.of());
  }

  @Test
  void concurrentGetsOfOneKey_loadOnce() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Loader slow =
        key -> {
          calls.incrementAndGet();
          Thread.sleep(150);
          return Loaded.of(bytes("v-" + key));
        };
    try (LoadingGroup g = LoadingGroup.open("g", slow, alone().build())) {
      List<CompletableFuture<byte[]>> fs = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        fs.add(g.get("k"));
      }
      for (CompletableFuture<byte[]> f : fs) {
        assertThat(str(f.get(5, TimeUnit.SECONDS))).isEqualTo("v-k");
      }
      assertThat(calls).hasValue(1);
      assertThat(str(g.getBlocking("k"))).isEqualTo("v-k");
      assertThat(calls).hasValue(1);
      var s = g.stats();
      assertThat(s.gets()).isEqualTo(51);
      assertThat(s.loads()).isEqualTo(50);
      assertThat(s.loadsDeduped()).isEqualTo(1);
      assertThat(s.localLoads()).isEqualTo(1);
      assertThat(s.cacheHits()).isEqualTo(1);
      assertThat(s.main().items()).isEqualTo(1);
      assertThat(s.main().bytes()).isEqualTo(3 + 1 + GroupOptions.ENTRY_OVERHEAD);
    }
  }

  @Test
  void errorsAreNotCached_andCarryTheLoadersMessage() {
    AtomicInteger calls = new AtomicInteger();
    Loader flaky =
        key -> {
          if (calls.incrementAndGet() == 1) {
            throw new IllegalStateException("database down");
          }
          return Loaded.of(bytes("v"));
        };
    try (LoadingGroup g = LoadingGroup.open("g", flaky, alone().build())) {
      assertThatThrownBy(() -> g.getBlocking("k"))
          .isInstanceOf(GroupLoadException.class)
          .hasMessageContaining("database down");
      assertThat(str(g.getBlocking("k"))).isEqualTo("v");
      assertThat(calls).hasValue(2);
      assertThat(g.stats().localLoadErrors()).isEqualTo(1);
    }
  }

  /**
   * The caller a failed load wakes and that asks again at once starts a new load: it never joins
   * the failed one (which used to be retired only after its waiters were told, so a quick second
   * get could see the same error: an error cached for a moment).
   */
  @Test
  void aGetRightAfterAFailedLoad_startsANewLoad_everyTime() {
    java.util.Map<String, AtomicInteger> calls = new java.util.concurrent.ConcurrentHashMap<>();
    Loader failsFirst =
        key -> {
          if (calls.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet() == 1) {
            throw new IllegalStateException("first call of " + key + " fails");
          }
          return Loaded.of(bytes("v-" + key));
        };
    try (LoadingGroup g = LoadingGroup.open("g", failsFirst, alone().build())) {
      for (int i = 0; i < 2_000; i++) {
        String key = "k" + i;
        assertThatThrownBy(() -> g.getBlocking(key))
            .isInstanceOf(GroupLoadException.class)
            .hasMessageContaining("first call of " + key);
        assertThat(str(g.getBlocking(key))).as(key).isEqualTo("v-" + key);
      }
      assertThat(g.stats().localLoadErrors()).isEqualTo(2_000);
      assertThat(g.stats().localLoads()).isEqualTo(2_000);
    }
  }

  @Test
  void aHungLoaderIsAbandonedAtTheDeadline_andDoesNotWedgeTheKey() {
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch interrupted = new CountDownLatch(1);
    Loader hangsOnce =
        key -> {
          if (calls.incrementAndGet() == 1) {
            try {
              Thread.sleep(60_000);
            } catch (InterruptedException e) {
              interrupted.countDown();
              throw e;
            }
          }
          return Loaded.of(bytes("v"));
        };
    try (LoadingGroup g =
        LoadingGroup.open("g", hangsOnce, alone().loadDeadline(Duration.ofMillis(200)).build())) {
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> g.getBlocking("k"))
          .isInstanceOf(GroupLoadException.class)
          .hasMessageContaining("deadline");
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(150L, 2000L);
      assertThat(str(g.getBlocking("k"))).isEqualTo("v");
      assertThat(interrupted.getCount()).isZero();
      assertThat(g.serve("other", false).join().status()).isEqualTo(200);
    }
  }

  @Test
  void expiryFromTheLoaderAndTheDefaultIsHonoured() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Loader loader =
        key ->
            key.equals("short")
                ? Loaded.of(bytes("s" + calls.incrementAndGet()), Duration.ofMillis(300))
                : Loaded.of(bytes("d" + calls.incrementAndGet()));
    try (LoadingGroup g =
        LoadingGroup.open("g", loader, alone().defaultTtl(Duration.ofMillis(800)).build())) {
      assertThat(str(g.getBlocking("short"))).isEqualTo("s1");
      assertThat(str(g.getBlocking("long"))).isEqualTo("d2");
      assertThat(str(g.getBlocking("short"))).isEqualTo("s1");
      long left = g.serve("short", true).join().expiresInMillis();
      assertThat(left).isBetween(1L, 300L);
      Thread.sleep(400);
      assertThat(str(g.getBlocking("short"))).isEqualTo("s3");
      assertThat(str(g.getBlocking("long"))).isEqualTo("d2");
      Thread.sleep(500);
      assertThat(str(g.getBlocking("long"))).isEqualTo("d4");
    }
  }

  @Test
  void aLoadStartedBeforeARemoval_doesNotInstallTheOldValue() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    Loader loader =
        key -> {
          int n = calls.incrementAndGet();
          if (n == 1) {
            release.await();
            return Loaded.of(bytes("old"));
          }
          return Loaded.of(bytes("new"));
        };
    try (LoadingGroup g = LoadingGroup.open("g", loader, alone().build())) {
      CompletableFuture<byte[]> racing = g.get("k");
      while (calls.get() == 0) {
        Thread.onSpinWait();
      }
      assertThat(g.remove("k").get(5, TimeUnit.SECONDS).complete()).isTrue();
      // a get after the removal does not join the old load
      CompletableFuture<byte[]> after = g.get("k");
      release.countDown();
      assertThat(str(racing.get(5, TimeUnit.SECONDS))).isEqualTo("old");
      assertThat(str(after.get(5, TimeUnit.SECONDS))).isEqualTo("new");
      assertThat(str(g.getBlocking("k"))).isEqualTo("new");
      assertThat(calls).hasValue(2);
    }
  }

  @Test
  void removeThenGet_callsTheLoaderAgain() {
    AtomicInteger calls = new AtomicInteger();
    try (LoadingGroup g =
        LoadingGroup.open(
            "g", key -> Loaded.of(bytes("v" + calls.incrementAndGet())), alone().build())) {
      assertThat(str(g.getBlocking("k"))).isEqualTo("v1");
      assertThat(str(g.getBlocking("k"))).isEqualTo("v1");
      g.remove("k").join();
      assertThat(str(g.getBlocking("k"))).isEqualTo("v2");
    }
  }

  @Test
  void badKeys_areRefused_andServedAs400() {
    try (LoadingGroup g =
        LoadingGroup.open("g", key -> Loaded.of(bytes("v")), alone().maxKeyBytes(8).build())) {
      assertThatThrownBy(() -> g.getBlocking("")).isInstanceOf(InvalidKeyException.class);
      assertThatThrownBy(() -> g.getBlocking("ééééé")).isInstanceOf(InvalidKeyException.class);
      assertThat(g.serve("123456789", true).join().status()).isEqualTo(400);
      assertThat(g.getBlocking("12345678")).isNotEmpty();
    }
  }

  @Test
  void loaderErrorsAndDeadlines_becomeTheirStatuses() {
    Loader loader =
        key -> {
          if (key.equals("slow")) {
            Thread.sleep(10_000);
          }
          throw new IllegalArgumentException("no row " + key);
        };
    try (LoadingGroup g =
        LoadingGroup.open("g", loader, alone().loadDeadline(Duration.ofMillis(100)).build())) {
      var bad = g.serve("x", true).join();
      assertThat(bad.status()).isEqualTo(502);
      assertThat(bad.error()).isEqualTo("no row x");
      assertThat(g.serve("slow", true).join().status()).isEqualTo(504);
      assertThat(g.stats().serverRequests()).isEqualTo(2);
    }
  }

  @Test
  void theMainCacheIsBoundedByBytes() {
    try (LoadingGroup g =
        LoadingGroup.open(
            "g", key -> Loaded.of(new byte[1000]), alone().mainCacheBytes(20_000).build())) {
      for (int i = 0; i < 200; i++) {
        g.getBlocking("k" + i);
      }
      var main = g.stats().main();
      assertThat(main.bytes()).isLessThanOrEqualTo(20_000);
      assertThat(main.evictions()).isGreaterThan(100);
    }
  }

  @Test
  void closedGroupFailsGets() {
    LoadingGroup g = LoadingGroup.open("g", key -> Loaded.of(bytes("v")), alone().build());
    g.close();
    assertThatThrownBy(() -> g.getBlocking("k")).isInstanceOf(GroupLoadException.class);
    g.close();
  }

  @Test
  void aBadNameIsRefused() {
    assertThatThrownBy(
            () -> LoadingGroup.open("a/b", key -> Loaded.of(bytes("v")), alone().build()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> LoadingGroup.open("g", key -> Loaded.of(bytes("v")), GroupOptions.defaults()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("staticPeers");
  }
}
