package io.lockstep.testkit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.NearStats;
import io.lockstep.ReplicaMode;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Near mode ({@link ReplicaMode#NEAR}) on every backend, written once; each backend runs it by
 * subclassing ({@code EtcdNearModeContractIT extends NearModeContract}). It proves what near mode
 * needs of a backend and nothing else does: the strong single-key read's revision (a near listing
 * is one such read) and a feed that resumes from it. A full-mode node writes; the near node reads.
 */
public abstract class NearModeContract extends NamespacedSuite {
  protected NearModeContract() {
    super("near");
  }

  /** A builder for a node of this backend on {@code keyPrefix}, with a connection of its own. */
  protected abstract LockstepBuilder builder(String keyPrefix);

  /**
   * Writes {@code value} under map key {@code key} straight into the source, bypassing Lockstep.
   */
  protected abstract void writeExternally(String keyPrefix, String key, byte[] value);

  private ReplicatedMap ready(LockstepBuilder b) {
    Lockstep n = closeAfterTest(b.build());
    await().atMost(patience()).until(() -> n.map().replica().isReady());
    return n.map();
  }

  private ReplicatedMap writer() {
    return ready(builder(prefix));
  }

  private ReplicatedMap near(int maxKeys) {
    return ready(builder(prefix).mode(ReplicaMode.NEAR).nearMaxKeys(maxKeys));
  }

  private static String value(Versioned v) {
    return v == null ? null : v.valueAsString();
  }

  @Test
  void nearNode_readsEveryKey_andHoldsAtMostItsBound() {
    ReplicatedMap w = writer();
    for (int i = 0; i < 30; i++) {
      w.put("k" + i, ("v" + i).getBytes(UTF_8), "text/plain");
    }
    ReplicatedMap n = near(10);
    assertThat(n.size()).isZero();
    for (int i = 0; i < 30; i++) {
      assertThat(value(n.get("k" + i))).isEqualTo("v" + i);
    }
    NearStats s = n.replica().stats().near();
    assertThat(s.heldKeys()).isBetween(1L, 10L);
    assertThat(s.loads()).isGreaterThanOrEqualTo(30);
    assertThat(n.get("absent")).isNull();
  }

  @Test
  void heldKey_followsWritesAndDeletes_byOtherNodesAndFromOutside() {
    ReplicatedMap w = writer();
    w.put("a", "1".getBytes(UTF_8), "text/plain");
    ReplicatedMap n = near(10);
    assertThat(value(n.get("a"))).isEqualTo("1");
    WriteResult r2 = w.put("a", "2".getBytes(UTF_8), "text/plain");
    assertThat(n.replica().awaitRevision(r2.revision(), patience())).isTrue();
    assertThat(value(held(n, "a"))).isEqualTo("2"); // the feed updated it, no load
    writeExternally(prefix, "a", "3".getBytes(UTF_8));
    await().atMost(patience()).until(() -> "3".equals(value(held(n, "a"))));
    WriteResult d = w.delete("a");
    assertThat(n.replica().awaitRevision(d.revision(), patience())).isTrue();
    assertThat(held(n, "a")).isNull();
    assertThat(n.get("a")).isNull();
    assertThat(n.replica().stats().near().loads()).isEqualTo(2); // "a" once, then once absent
  }

  @Test
  void refresh_dropsHeldKeys_thenTheFeedResumesFromTheSourcesRevision() {
    ReplicatedMap w = writer();
    w.put("a", "1".getBytes(UTF_8), "text/plain");
    ReplicatedMap n = near(10);
    assertThat(value(n.get("a"))).isEqualTo("1");
    long listed = n.replica().refresh().join();
    assertThat(listed).isGreaterThanOrEqualTo(w.replica().appliedRevision());
    assertThat(n.size()).isZero();
    assertThat(value(n.get("a"))).isEqualTo("1");
    WriteResult r = w.put("a", "2".getBytes(UTF_8), "text/plain");
    assertThat(n.replica().awaitRevision(r.revision(), patience())).isTrue();
    assertThat(value(held(n, "a"))).isEqualTo("2");
  }

  /** The entry held in memory, without loading. */
  private static Versioned held(ReplicatedMap n, String key) {
    List<Versioned> e = n.replica().snapshot(List.of(key)).entries();
    return e.isEmpty() ? null : e.get(0);
  }
}
