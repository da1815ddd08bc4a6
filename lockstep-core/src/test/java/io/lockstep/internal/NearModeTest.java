package io.lockstep.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.BackendUnavailableException;
import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.NearOnChange;
import io.lockstep.NearStats;
import io.lockstep.ReplicaMode;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Near mode against the in-memory source: the bound, read-through, the feed on held keys, the
 * read-through race (a load held open while the key changes), relists, absence.
 */
class NearModeTest {
  private final InMemoryNodes nodes = new InMemoryNodes();

  @AfterEach
  void closeAll() throws Exception {
    nodes.close();
  }

  private ReplicatedMap near(InMemorySource s, UnaryOperator<LockstepBuilder> tune) {
    Lockstep n = nodes.node(s, b -> tune.apply(b.mode(ReplicaMode.NEAR)));
    return n.map();
  }

  private static long write(InMemorySource s, String key, String value) {
    Map<String, byte[]> m = new HashMap<>();
    m.put(key, value == null ? null : value.getBytes(UTF_8));
    return s.writeAtomically(m);
  }

  private static String value(Versioned v) {
    return v == null ? null : v.valueAsString();
  }

  @ParameterizedTest
  @EnumSource(RevisionModel.class)
  void workingSetLargerThanTheBound_holdsAtMostTheBound_andServesEveryKey(RevisionModel model) {
    InMemorySource s = nodes.source(model);
    for (int i = 0; i < 200; i++) {
      write(s, "k" + i, "v" + i);
    }
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(20));
    assertThat(m.size()).isZero(); // the listing loaded nothing
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < 200; i++) {
        assertThat(value(m.get("k" + i))).isEqualTo("v" + i);
        assertThat(m.replica().stats().near().heldKeys()).isLessThanOrEqualTo(20);
      }
    }
    NearStats n = m.replica().stats().near();
    assertThat(n.heldKeys()).isBetween(1L, 20L);
    assertThat(n.maxKeys()).isEqualTo(20);
    assertThat(n.loads()).isGreaterThanOrEqualTo(200);
    assertThat(n.evictions()).isGreaterThanOrEqualTo(180);
    assertThat(m.replica().stats().keys()).isLessThanOrEqualTo(20);
  }

  @Test
  void boundByWeight_holdsAtMostTheBytes() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    for (int i = 0; i < 50; i++) {
      write(s, "k" + i, "x".repeat(98)); // 2 + 98 bytes, 100 per key (3 for k10 and above)
    }
    ReplicatedMap m = near(s, b -> b.nearMaxBytes(1_000));
    for (int i = 0; i < 50; i++) {
      assertThat(m.get("k" + i)).isNotNull();
    }
    long bytes = 0;
    for (Versioned v : m.list("", 0)) {
      bytes += v.key().length() + v.value().length;
    }
    assertThat(bytes).isLessThanOrEqualTo(1_000);
    assertThat(m.replica().stats().near().maxBytes()).isEqualTo(1_000);
  }

  @Test
  void aHit_readsNoSource_andAMissLoadsOnce() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    write(s, "a", "1");
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(10));
    for (int i = 0; i < 5; i++) {
      assertThat(value(m.get("a"))).isEqualTo("1");
    }
    NearStats n = m.replica().stats().near();
    assertThat(n.loads()).isEqualTo(1);
    assertThat(n.misses()).isEqualTo(1);
    assertThat(n.hits()).isEqualTo(4);
  }

  @ParameterizedTest
  @EnumSource(NearOnChange.class)
  void externalChangesToAHeldKey_reachIt_andADeletedKeyIsNeverServedAgain(NearOnChange onChange) {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    write(s, "a", "1");
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(10).nearOnChange(onChange));
    assertThat(value(m.get("a"))).isEqualTo("1");
    long r2 = write(s, "a", "2");
    await().until(() -> m.replica().appliedRevision() >= r2);
    if (onChange == NearOnChange.UPDATE) {
      assertThat(value(m.replica().snapshot(List.of("a")).entries().get(0))).isEqualTo("2");
    } else {
      assertThat(m.replica().snapshot(List.of("a")).entries()).isEmpty();
    }
    assertThat(value(m.get("a"))).isEqualTo("2");
    long r3 = write(s, "a", null);
    await().until(() -> m.replica().appliedRevision() >= r3);
    for (int i = 0; i < 3; i++) {
      assertThat(m.get("a")).isNull(); // absence is not held: each read asks the source
    }
    assertThat(m.size()).isZero();
  }

  @Test
  void ownWrites_areReadBack_heldOrNot() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(10));
    m.put("a", "1".getBytes(UTF_8), "text/plain");
    assertThat(value(m.get("a"))).isEqualTo("1"); // not held: loaded
    m.put("a", "2".getBytes(UTF_8), "text/plain");
    assertThat(value(m.get("a"))).isEqualTo("2"); // held: the feed updated it before put returned
    m.delete("a");
    assertThat(m.get("a")).isNull();
  }

  /**
   * The read-through race: a load reads the key at v1, its answer is held back while the key is
   * updated and then deleted (both applied here), then the answer arrives. The old value must not
   * be installed, nor served by that read or any read after.
   */
  @ParameterizedTest
  @EnumSource(RevisionModel.class)
  void loadHeldOpen_whileTheKeyIsUpdatedThenDeleted_neverServesTheOldValue(RevisionModel model) {
    InMemorySource s = nodes.source(model);
    write(s, "k", "v1");
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(10));
    InMemorySource.ReadHold hold = s.holdReads("k");
    CompletableFuture<Versioned> slow = CompletableFuture.supplyAsync(() -> m.get("k"));
    await().until(() -> hold.reads() == 1); // the source answered v1; the answer is on its way
    long r2 = write(s, "k", "v2");
    await().until(() -> m.replica().appliedRevision() >= r2);
    long r3 = write(s, "k", null);
    await().until(() -> m.replica().appliedRevision() >= r3);
    hold.release();
    assertThat(slow.join()).isNull(); // the newest change the feed applied: the delete
    assertThat(m.replica().snapshot(List.of("k")).entries()).isEmpty();
    for (int i = 0; i < 3; i++) {
      assertThat(m.get("k")).isNull();
    }
    assertThat(m.replica().stats().near().staleLoadsDropped()).isEqualTo(1);
  }

  @Test
  void loadHeldOpen_whileTheKeyIsUpdated_servesAndHoldsTheNewerValue() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    write(s, "k", "v1");
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(10));
    InMemorySource.ReadHold hold = s.holdReads("k");
    CompletableFuture<Versioned> slow = CompletableFuture.supplyAsync(() -> m.get("k"));
    CompletableFuture<Versioned> joined = CompletableFuture.supplyAsync(() -> m.get("k"));
    await().until(() -> hold.reads() == 1);
    long r2 = write(s, "k", "v2");
    await().until(() -> m.replica().appliedRevision() >= r2);
    hold.release();
    assertThat(value(slow.join())).isEqualTo("v2");
    assertThat(value(joined.join())).isEqualTo("v2");
    assertThat(value(m.get("k"))).isEqualTo("v2");
    assertThat(m.replica().stats().near().loads()).isEqualTo(1); // single flight
  }

  /**
   * A load whose answer arrives after a relist dropped the held keys is not kept: the feed did not
   * run between the old applied revision and the listing's, so the answer may be stale.
   */
  @Test
  void loadHeldOpen_acrossARelist_isNotKept() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    write(s, "k", "v1");
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(10));
    InMemorySource.ReadHold hold = s.holdReads("k");
    CompletableFuture<Versioned> slow = CompletableFuture.supplyAsync(() -> m.get("k"));
    await().until(() -> hold.reads() == 1);
    m.replica().refresh().join();
    hold.release();
    assertThat(value(slow.join())).isEqualTo("v1"); // a read of the source, answered as such
    assertThat(m.replica().snapshot(List.of("k")).entries()).isEmpty(); // but not kept
    assertThat(m.replica().stats().near().staleLoadsDropped()).isEqualTo(1);
    assertThat(value(m.get("k"))).isEqualTo("v1");
  }

  /** After relists and reconnects, a value read is never older than one served before. */
  @Test
  void afterRelistsAndReconnects_readsNeverGoBack() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(5));
    Map<String, Long> served = new HashMap<>();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      keys.add("k" + i);
      write(s, "k" + i, "0");
    }
    for (int step = 0; step < 60; step++) {
      String k = keys.get(step % keys.size());
      write(s, keys.get((step * 3) % keys.size()), String.valueOf(step));
      if (step % 10 == 3) {
        m.replica().refresh().join();
      }
      if (step % 10 == 7) {
        s.breakFeeds();
      }
      if (step % 15 == 11) {
        s.compact();
        s.breakFeeds();
      }
      Versioned v = m.get(k);
      long rev = v == null ? 0 : v.modRevision();
      assertThat(rev)
          .as("%s at step %d", k, step)
          .isGreaterThanOrEqualTo(served.getOrDefault(k, 0L));
      served.put(k, rev);
    }
    await()
        .untilAsserted(
            () -> {
              for (Versioned held : m.list("", 0)) {
                Versioned truth =
                    s.entries().stream().filter(e -> e.key().equals(held.key())).findFirst().get();
                assertThat(held.modRevision()).isEqualTo(truth.modRevision());
              }
            });
  }

  /**
   * The source loses its history (a new epoch, or the same one with revisions starting again): the
   * near replica resets, drops what it held, and serves the new history's values.
   */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
  void sourceHistoryLost_resetsAndServesTheNewHistory(boolean newEpoch) {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    for (int i = 0; i < 5; i++) {
      write(s, "k" + i, "old" + i);
    }
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(10));
    assertThat(value(m.get("k4"))).isEqualTo("old4");
    s.loseHistory(newEpoch);
    write(s, "k4", "new");
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(m.replica().stats().resets()).isEqualTo(1);
              assertThat(value(m.get("k4"))).isEqualTo("new");
            });
    assertThat(m.get("k3")).isNull();
    if (newEpoch) {
      assertThat(m.replica().stats().epoch()).isEqualTo(s.epoch());
    }
  }

  /**
   * Four readers over 8 keys with a bound of 3 (constant eviction), while the source is written and
   * deleted from outside, the replica relists and its feed breaks: each reader's reads of a key
   * never go back, and once the writes stop every read and every key held equals the source.
   */
  @Test
  void concurrentReadersWritersRelistsAndEvictions_readsNeverGoBack_andConverge() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(3));
    int keys = 8;
    java.util.concurrent.atomic.AtomicBoolean running =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    List<String> violations = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Thread> readers = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int seed = t;
      readers.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
                    long[] newest = new long[keys];
                    while (running.get()) {
                      int k = rnd.nextInt(keys);
                      try {
                        Versioned v = m.get("k" + k);
                        if (v != null) {
                          if (v.modRevision() < newest[k]) {
                            violations.add(
                                "k" + k + ": " + v.modRevision() + " after " + newest[k]);
                          }
                          newest[k] = v.modRevision();
                        }
                      } catch (RuntimeException e) {
                        violations.add("k" + k + ": " + e);
                      }
                    }
                  }));
    }
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(99);
    for (int step = 0; step < 1500; step++) {
      String k = "k" + rnd.nextInt(keys);
      write(s, k, rnd.nextInt(4) == 0 ? null : "s" + step);
      if (step % 300 == 150) {
        m.replica().refresh().join();
      }
      if (step % 500 == 250) {
        s.breakFeeds();
      }
    }
    running.set(false);
    for (Thread r : readers) {
      r.join();
    }
    assertThat(violations).isEmpty();
    long rev = s.revision();
    await().until(() -> m.replica().appliedRevision() >= rev);
    for (int k = 0; k < keys; k++) {
      String key = "k" + k;
      Versioned truth =
          s.entries().stream().filter(e -> e.key().equals(key)).findFirst().orElse(null);
      Versioned v = m.get(key);
      assertThat(v == null ? 0 : v.modRevision())
          .as(key)
          .isEqualTo(truth == null ? 0 : truth.modRevision());
    }
    for (Versioned held : m.list("", 0)) {
      assertThat(s.entries()).contains(held);
    }
    assertThat(m.replica().stats().near().heldKeys()).isLessThanOrEqualTo(3);
  }

  @Test
  void aMissWhileTheSourceIsDown_failsAsUnavailable_aHitStillServes() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    write(s, "a", "1");
    write(s, "b", "2");
    ReplicatedMap m = near(s, b -> b.nearMaxKeys(10).operationTimeout(Duration.ofMillis(500)));
    assertThat(value(m.get("a"))).isEqualTo("1");
    s.setAvailable(false);
    assertThat(value(m.get("a"))).isEqualTo("1");
    assertThatThrownBy(() -> m.get("b")).isInstanceOf(BackendUnavailableException.class);
    assertThat(m.replica().stats().near().loadFailures()).isEqualTo(1);
  }

  @Test
  void configuration_refusesNearSettingsThatCannotHold() {
    assertThatThrownBy(
            () -> io.lockstep.Lockstep.builder().backend("peer:").nearMaxKeys(5).config())
        .hasMessageStartingWith("nearMaxKeys:");
    assertThatThrownBy(
            () ->
                io.lockstep.Lockstep.builder()
                    .backend("peer:")
                    .mode(ReplicaMode.NEAR)
                    .nearMaxKeys(5)
                    .nearMaxBytes(5)
                    .config())
        .hasMessageStartingWith("nearMaxBytes:");
    assertThatThrownBy(
            () ->
                io.lockstep.Lockstep.builder()
                    .backend("peer:")
                    .mode(ReplicaMode.NEAR)
                    .maxTotalKeys(5)
                    .config())
        .hasMessageStartingWith("maxTotalKeys:");
    assertThat(
            io.lockstep.Lockstep.builder()
                .backend("peer:")
                .mode(ReplicaMode.NEAR)
                .config()
                .nearMaxKeys())
        .isEqualTo(10_000);
  }
}
