package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.DriftReport;
import io.lockstep.DriftTarget;
import io.lockstep.KeyRange;
import io.lockstep.Lockstep;
import io.lockstep.Versioned;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The node's drift check: drift made by installing wrong entries straight into the engine (the test
 * reaches the package-private repair hook), found by {@link Lockstep#reconcile}, repaired through
 * the engine; keys changed after the check's revision are left out; a key is never moved back.
 */
class ReconcilerTest {
  private final InMemoryNodes nodes = new InMemoryNodes();

  @AfterEach
  void close() throws Exception {
    nodes.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Installs {@code entry} (null: removes the key) on the replica, as if a change was missed. */
  private static void corrupt(Lockstep node, String key, Versioned entry) {
    Replicator r = (Replicator) node.map();
    assertThat(r.repairKey(key, entry, r.appliedRevision(), (k, rev) -> false).join()).isTrue();
  }

  @Test
  void staleMissingAndExtraKeys_foundByName_repaired_thenNone() {
    for (RevisionModel model : RevisionModel.values()) {
      InMemorySource s = nodes.source(model);
      Lockstep node = nodes.node(s, b -> b);
      for (int i = 0; i < 500; i++) {
        node.map().put("k" + i, b("v" + i), "text/plain");
      }
      Versioned k7 = node.map().get("k7");
      corrupt(node, "k7", new Versioned("k7", b("stale"), "text/plain", k7.modRevision()));
      corrupt(node, "k8", null);
      corrupt(node, "ghost", new Versioned("ghost", b("x"), "text/plain", 3));
      long digestDrifted = node.map().replica().digest();

      DriftReport first = node.reconcile(true);

      assertThat(first.drifted()).as("%s", model).containsExactly("ghost", "k7", "k8");
      assertThat(first.repaired()).containsExactly("ghost", "k7", "k8");
      assertThat(first.keysChecked()).isEqualTo(501);
      assertThat(first.revision()).isEqualTo(s.revision());
      assertThat(node.map().get("k7").valueAsString()).isEqualTo("v7");
      assertThat(node.map().get("k8").valueAsString()).isEqualTo("v8");
      assertThat(node.map().get("ghost")).isNull();
      assertThat(node.map().replica().digest())
          .isNotEqualTo(digestDrifted)
          .isEqualTo(io.lockstep.Digests.of(s.entries()));
      assertThat(node.reconcile(true).drifted()).isEmpty();
      // Without repair: found, named unrepaired, left as it is.
      corrupt(node, "k9", null);
      DriftReport noRepair = node.reconcile(false);
      assertThat(noRepair.drifted()).containsExactly("k9");
      assertThat(noRepair.unrepaired()).containsExactly("k9");
      assertThat(node.map().get("k9")).isNull();
    }
  }

  /**
   * Near mode: only the keys held are compared (a key the source has and the replica never read is
   * no drift), a wrong held value and a held key the source no longer has are found and repaired.
   */
  @Test
  void nearMode_comparesOnlyTheKeysHeld() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    Lockstep writer = nodes.node(s, b -> b);
    for (int i = 0; i < 500; i++) {
      writer.map().put("k" + i, b("v" + i), "text/plain");
    }
    Lockstep near = nodes.node(s, b -> b.mode(io.lockstep.ReplicaMode.NEAR).nearMaxKeys(100));
    for (int i = 0; i < 30; i++) {
      assertThat(near.map().get("k" + i).valueAsString()).isEqualTo("v" + i);
    }
    assertThat(near.reconcile(true).drifted()).isEmpty();

    Versioned k3 = near.map().get("k3");
    corrupt(near, "k3", new Versioned("k3", b("stale"), "text/plain", k3.modRevision()));
    corrupt(near, "ghost", new Versioned("ghost", b("x"), "text/plain", 3));
    DriftReport r = near.reconcile(true);

    assertThat(r.drifted()).containsExactly("ghost", "k3");
    assertThat(r.repaired()).containsExactly("ghost", "k3");
    assertThat(r.keysChecked()).as("the held keys, not the source's 500").isEqualTo(31);
    assertThat(near.map().get("k3").valueAsString()).isEqualTo("v3");
    assertThat(near.map().get("ghost")).isNull();
    DriftReport again = near.reconcile(true);
    assertThat(again.drifted()).isEmpty();
    assertThat(again.keysChecked()).isBetween(30L, 31L); // k3 held again; ghost gone
    assertThat(near.map().replica().stats().near().heldKeys()).isLessThanOrEqualTo(100);
  }

  @Test
  void keysChangedAfterTheAskedRevision_leftOutAndNamed() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep node = nodes.node(s, b -> b);
    node.map().put("a", b("1"), "text/plain");
    node.map().put("b", b("1"), "text/plain");
    long r = node.map().put("c", b("1"), "text/plain").revision();
    node.map().put("b", b("2"), "text/plain");
    node.map().delete("c");

    DriftTarget.Ranges at = node.driftTarget().ranges(r, List.of(KeyRange.ALL), List.of());

    assertThat(at.excluded()).containsExactlyInAnyOrder("b", "c");
    assertThat(at.appliedRevision()).isEqualTo(r + 2);
    assertThat(at.digests().get(0).count()).isEqualTo(1); // a only
  }

  @Test
  void repair_neverMovesAKeyBack() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep node = nodes.node(s, b -> b);
    long r1 = node.map().put("k", b("old"), "text/plain").revision();
    node.map().put("k", b("new"), "text/plain");
    Replicator map = (Replicator) node.map();

    boolean installed =
        map.repairKey("k", new Versioned("k", b("old"), "text/plain", r1), r1, (k, r) -> false)
            .join();

    assertThat(installed).isFalse();
    assertThat(node.map().get("k").valueAsString()).isEqualTo("new");
    // A delete after the source read is not undone either (the change log tells).
    node.map().delete("k");
    DriftTarget.Repaired none = node.driftTarget().repair(List.of("k"));
    assertThat(none.repaired()).containsExactly("k"); // absent here and in the source: right
    assertThat(node.map().get("k")).isNull();
  }

  @Test
  void reconcile_takesLessThanASecond_forTenThousandKeys() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep node = nodes.node(s, b -> b);
    for (int i = 0; i < 10_000; i++) {
      node.map().putAsync("k" + i, b("v" + i), "text/plain");
    }
    node.map().put("last", b("x"), "text/plain");
    DriftReport r = node.reconcile(true);
    assertThat(r.drifted()).isEmpty();
    assertThat(r.took()).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void aLargeRelist_movesTheLogsFloor_olderRevisionsRefused_aNewCheckSucceeds() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep node = nodes.node(s, b -> b);
    java.util.Map<String, byte[]> many = new java.util.HashMap<>();
    for (int i = 0; i < 1500; i++) {
      many.put("k" + i, b("v"));
    }
    long before = s.writeAtomically(many);
    node.map().replica().awaitRevision(before, Duration.ofSeconds(5));
    // A feed revision of 1,500 keys is logged key by key: a check before it leaves them out.
    assertThat(node.driftTarget().ranges(before - 1, List.of(KeyRange.ALL), List.of()).excluded())
        .hasSize(1500);
    for (int i = 0; i < 1200; i++) {
      corrupt(node, "k" + i, null);
    }
    long listed = node.map().replica().refresh().join(); // changes 1,200 keys back
    assertThat(listed).isEqualTo(before); // nothing was written meanwhile

    // The log no longer tells what changed after before - 1: refused, the check lists again.
    assertThatThrownBy(
            () -> node.driftTarget().ranges(before - 1, List.of(KeyRange.ALL), List.of()))
        .isInstanceOf(io.lockstep.LockstepException.class)
        .hasMessageContaining("older than the changes this replica remembers");
    assertThat(node.driftTarget().ranges(listed, List.of(KeyRange.ALL), List.of()).excluded())
        .isEmpty();
    DriftReport r = node.reconcile(true);
    assertThat(r.drifted()).isEmpty();
    assertThat(r.keysChecked()).isEqualTo(1500);
  }

  @Test
  void manyDriftedKeys_repairedInBoundedChunks_allOfThem() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    Lockstep node = nodes.node(s, b -> b);
    for (int i = 0; i < 300; i++) {
      node.map().put("k" + i, b("v" + i), "text/plain");
    }
    for (int i = 0; i < 200; i++) { // more than one chunk of strong reads, fewer than a relist
      corrupt(node, "k" + i, null);
    }
    DriftReport r = node.reconcile(true);
    assertThat(r.drifted()).hasSize(200);
    assertThat(r.repaired()).hasSize(200);
    assertThat(node.map().size()).isEqualTo(300);
    assertThat(node.map().replica().stats().relists()).isZero(); // repaired key by key
  }
}
