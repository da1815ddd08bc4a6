package io.lockstep.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.NearOnChange;
import io.lockstep.ReplicaMode;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.awaitility.core.ConditionFactory;

/**
 * Random interleavings of near-mode loads (some held open), external writes and deletes, relists,
 * broken feeds and evictions (a bound of 2 over 4 keys). After each step the replica, once its feed
 * has caught up, reads every key exactly as the source holds it; a held-open load never answers a
 * value older than one served before it began; and every key held equals the source's.
 */
class NearModePropertyTest {
  private static final int KEYS = 4;

  /** One step: what (0..7) and on which key. */
  record Op(int what, int key) {}

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Op> op =
        Arbitraries.integers()
            .between(0, 7)
            .flatMap(w -> Arbitraries.integers().between(0, KEYS - 1).map(k -> new Op(w, k)));
    return op.list().ofMinSize(5).ofMaxSize(40);
  }

  @Property(tries = 60)
  void randomInterleavings_neverServeAStaleOrDeletedValue(
      @ForAll("ops") List<Op> ops, @ForAll boolean invalidate, @ForAll boolean contiguous)
      throws Exception {
    try (InMemoryNodes nodes = new InMemoryNodes()) {
      InMemorySource s = nodes.source(contiguous ? RevisionModel.CONTIGUOUS : RevisionModel.SPARSE);
      ReplicatedMap m =
          nodes
              .node(
                  s,
                  b ->
                      b.mode(ReplicaMode.NEAR)
                          .nearMaxKeys(2)
                          .nearOnChange(invalidate ? NearOnChange.INVALIDATE : NearOnChange.UPDATE))
              .map();
      Map<String, Long> served = new HashMap<>(); // key -> newest mod revision served
      InMemorySource.ReadHold hold = null;
      CompletableFuture<Versioned> pending = null;
      String heldKey = null;
      long servedBeforePending = 0;
      int step = 0;
      for (Op op : ops) {
        step++;
        String k = "k" + op.key();
        switch (op.what()) {
          case 0, 1 -> {
            Map<String, byte[]> w = new HashMap<>();
            w.put(k, ("s" + step).getBytes(UTF_8));
            s.writeAtomically(w);
          }
          case 2 -> {
            Map<String, byte[]> w = new HashMap<>();
            w.put(k, null);
            s.writeAtomically(w);
          }
          case 3 -> { // a load held open
            if (pending == null) {
              heldKey = k;
              servedBeforePending = served.getOrDefault(k, 0L);
              hold = s.holdReads(k);
              pending = CompletableFuture.supplyAsync(() -> m.get(k));
              InMemorySource.ReadHold h = hold;
              CompletableFuture<Versioned> p = pending;
              fast().until(() -> h.reads() > 0 || p.isDone()); // joined a load, or hit
            }
          }
          case 4 -> m.replica().refresh().join();
          case 5 -> s.breakFeeds();
          default -> { // a read of a key no load is held open for
            if (!k.equals(heldKey)) {
              readCaughtUp(s, m, k, served);
            }
          }
        }
        if (pending != null && (op.what() == 7 || step == ops.size())) {
          hold.release();
          Versioned v = pending.join();
          long rev = v == null ? 0 : v.modRevision();
          if (v != null) {
            assertThat(rev)
                .as("held-open load of %s", heldKey)
                .isGreaterThanOrEqualTo(servedBeforePending);
            served.merge(heldKey, rev, Math::max);
          }
          pending = null;
          heldKey = null;
        }
      }
      for (int i = 0; i < KEYS; i++) {
        readCaughtUp(s, m, "k" + i, served);
      }
      fast()
          .untilAsserted(
              () -> {
                for (Versioned held : m.list("", 0)) {
                  Versioned truth = sourceEntry(s, held.key());
                  assertThat(truth).as("held %s", held.key()).isNotNull();
                  assertThat(held.modRevision()).isEqualTo(truth.modRevision());
                  assertThat(held.value()).isEqualTo(truth.value());
                }
              });
      assertThat(m.replica().stats().near().heldKeys()).isLessThanOrEqualTo(2);
    }
  }

  /** Waits for the feed to catch up, then reads: the answer must be the source's, exactly. */
  private static void readCaughtUp(
      InMemorySource s, ReplicatedMap m, String k, Map<String, Long> served) {
    long rev = s.revision();
    fast().until(() -> m.replica().appliedRevision() >= rev);
    Versioned truth = sourceEntry(s, k);
    Versioned v = m.get(k);
    if (truth == null) {
      assertThat(v).as("%s deleted at or before %d", k, rev).isNull();
      return;
    }
    assertThat(v).as("%s at %d", k, rev).isNotNull();
    assertThat(v.modRevision()).as("%s at %d", k, rev).isEqualTo(truth.modRevision());
    assertThat(Arrays.equals(v.value(), truth.value())).isTrue();
    assertThat(v.modRevision()).isGreaterThanOrEqualTo(served.getOrDefault(k, 0L));
    served.merge(k, v.modRevision(), Math::max);
  }

  /** Awaitility polling at once and every millisecond: the waits here are short and many. */
  private static ConditionFactory fast() {
    return await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1));
  }

  private static Versioned sourceEntry(InMemorySource s, String k) {
    return s.entries().stream().filter(e -> e.key().equals(k)).findFirst().orElse(null);
  }
}
