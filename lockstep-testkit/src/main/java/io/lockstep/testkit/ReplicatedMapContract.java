package io.lockstep.testkit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.ChangeEvent;
import io.lockstep.InvalidKeyException;
import io.lockstep.Lockstep;
import io.lockstep.ReadConsistency;
import io.lockstep.ReplicatedMap;
import io.lockstep.RequestIdReusedException;
import io.lockstep.ValueTooLargeException;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every backend's replicated map must show, written once; each backend runs it by
 * subclassing ({@code EtcdReplicatedMapContractIT extends ReplicatedMapContract}). The class name
 * ends in {@code Contract}, so neither surefire nor failsafe runs it on its own.
 *
 * <p>A subclass supplies nodes with their own backend connection, a way to write into the source of
 * truth behind Lockstep's back, and the digest of a fresh listing of the source. Every test runs in
 * a namespace of its own (a random key prefix), so a subclass may share one server across tests;
 * nodes are closed after each test. "Eventually" is Awaitility with {@link #patience()}, never a
 * sleep.
 */
public abstract class ReplicatedMapContract extends NamespacedSuite {
  protected ReplicatedMapContract() {
    super("contract");
  }

  /** A started node on {@code keyPrefix}, with a backend connection of its own. */
  protected abstract Lockstep newNode(String keyPrefix);

  /**
   * Writes {@code value} under map key {@code key} straight into the source, bypassing Lockstep.
   */
  protected abstract void writeExternally(String keyPrefix, String key, byte[] value);

  /** {@link io.lockstep.Digests#of} over a fresh listing of the namespace in the source. */
  protected abstract long sourceDigest(String keyPrefix);

  /** A node on this test's namespace, ready (its first listing applied), closed after the test. */
  protected final Lockstep node() {
    Lockstep n = closeAfterTest(newNode(prefix));
    await().atMost(patience()).until(() -> n.map().replica().isReady());
    return n;
  }

  private void awaitApplied(ReplicatedMap m, long revision) {
    assertThat(m.replica().awaitRevision(revision, patience()))
        .as("applied revision %d within %s", revision, patience())
        .isTrue();
  }

  // ---------------------------------------------------------------------------------------------
  // Reads and writes
  // ---------------------------------------------------------------------------------------------

  @Test
  void putGetDelete_withVariousContentTypes_roundTripByteForByte() {
    ReplicatedMap a = node().map();
    ReplicatedMap b = node().map();
    byte[] binary = new byte[256];
    for (int i = 0; i < binary.length; i++) {
      binary[i] = (byte) i;
    }
    Object[][] cases = {
      {"text", "h\u00e9llo w\u00f6rld \u4e2d".getBytes(UTF_8), "text/plain; charset=utf-8"},
      {
        "json",
        "{\"a\": [1, 2.5, {\"b\": null}], \"s\": \"\u00e9\"}".getBytes(UTF_8),
        "application/json"
      },
      {"binary", binary, "application/octet-stream"},
      {"empty", new byte[0], "text/plain"},
      {"no-type", new byte[] {1, 2, 3}, null},
      {"nested/key with spaces/\u00e9", "x".getBytes(UTF_8), "application/x-custom+thing"},
    };
    for (Object[] c : cases) {
      String key = (String) c[0];
      byte[] value = (byte[]) c[1];
      String type = c[2] == null ? Versioned.DEFAULT_CONTENT_TYPE : (String) c[2];
      WriteResult w = a.put(key, value, (String) c[2]);
      assertThat(w.isApplied()).as(key).isTrue();
      Versioned expected = new Versioned(key, value, type, w.revision());
      assertThat(a.get(key)).as("local read of %s on the writer", key).isEqualTo(expected);
      assertThat(a.get(key, ReadConsistency.STRONG))
          .as("strong read of %s", key)
          .isEqualTo(expected);
      awaitApplied(b, w.revision());
      assertThat(b.get(key)).as("local read of %s on another node", key).isEqualTo(expected);
    }
    for (Object[] c : cases) {
      String key = (String) c[0];
      WriteResult d = a.delete(key);
      assertThat(d.isApplied()).as(key).isTrue();
      assertThat(a.get(key)).isNull();
      assertThat(a.get(key, ReadConsistency.STRONG)).isNull();
      awaitApplied(b, d.revision());
      assertThat(b.get(key)).isNull();
    }
    assertThat(a.size()).isZero();
    assertThat(sourceDigest(prefix)).isZero();
  }

  @Test
  void put_onOneNode_isVisibleOnEveryOtherAfterAwaitRevision() {
    List<ReplicatedMap> maps = List.of(node().map(), node().map(), node().map());
    for (int i = 0; i < maps.size(); i++) {
      WriteResult w = maps.get(i).put("from-" + i, ("v" + i).getBytes(UTF_8), "text/plain");
      for (ReplicatedMap m : maps) {
        awaitApplied(m, w.revision());
        assertThat(m.get("from-" + i).modRevision()).isEqualTo(w.revision());
        assertThat(m.get("from-" + i).valueAsString()).isEqualTo("v" + i);
      }
    }
  }

  @Test
  void compareAndSet_raceBetweenTwoNodes_exactlyOneWinsEveryRound() {
    ReplicatedMap a = node().map();
    ReplicatedMap b = node().map();
    long current = a.put("contended", "start".getBytes(UTF_8), "text/plain").revision();
    for (int round = 0; round < 30; round++) {
      CompletableFuture<WriteResult> fa =
          a.compareAndSetAsync("contended", current, ("a" + round).getBytes(UTF_8), "text/plain");
      CompletableFuture<WriteResult> fb =
          b.compareAndSetAsync("contended", current, ("b" + round).getBytes(UTF_8), "text/plain");
      WriteResult ra = fa.orTimeout(patience().toMillis(), TimeUnit.MILLISECONDS).join();
      WriteResult rb = fb.orTimeout(patience().toMillis(), TimeUnit.MILLISECONDS).join();
      assertThat(List.of(ra.status(), rb.status()))
          .as("round %d", round)
          .containsExactlyInAnyOrder(WriteResult.Status.APPLIED, WriteResult.Status.CONFLICT);
      WriteResult won = ra.isApplied() ? ra : rb;
      WriteResult lost = ra.isApplied() ? rb : ra;
      assertThat(lost.revision())
          .as("the loser learns the winner's revision")
          .isEqualTo(won.revision());
      current = won.revision();
      awaitApplied(a, current);
      awaitApplied(b, current);
      assertThat(a.get("contended")).isEqualTo(b.get("contended"));
      assertThat(a.get("contended").valueAsString())
          .isEqualTo((ra.isApplied() ? "a" : "b") + round);
    }
  }

  @Test
  void compareAndSet_withZeroOnExistingKey_conflictsAndChangesNothing() {
    ReplicatedMap m = node().map();
    assertThat(m.compareAndSet("k", 0, "first".getBytes(UTF_8), "text/plain").isApplied()).isTrue();
    Versioned before = m.get("k");
    WriteResult again = m.compareAndSet("k", 0, "second".getBytes(UTF_8), "text/plain");
    assertThat(again.status()).isEqualTo(WriteResult.Status.CONFLICT);
    assertThat(again.revision()).isEqualTo(before.modRevision());
    if (again.current() != null) {
      assertThat(again.current()).isEqualTo(before);
    }
    assertThat(m.get("k")).isEqualTo(before);
    assertThat(m.get("k", ReadConsistency.STRONG)).isEqualTo(before);
    assertThat(m.compareAndDelete("k", before.modRevision() + 1000).status())
        .isEqualTo(WriteResult.Status.CONFLICT);
    assertThat(m.compareAndDelete("k", before.modRevision()).isApplied()).isTrue();
    assertThat(m.get("k")).isNull();
  }

  @Test
  void delete_ofMissingKey_returnsNotFound_andChangesNothing() {
    ReplicatedMap m = node().map();
    m.put("present", new byte[] {1}, null);
    long digest = m.replica().digest();
    long source = sourceDigest(prefix);
    assertThat(m.delete("missing").status()).isEqualTo(WriteResult.Status.NOT_FOUND);
    assertThat(m.compareAndDelete("missing", 0).status()).isEqualTo(WriteResult.Status.NOT_FOUND);
    assertThat(m.compareAndDelete("missing", 7).status()).isEqualTo(WriteResult.Status.CONFLICT);
    assertThat(m.replica().digest()).isEqualTo(digest);
    assertThat(sourceDigest(prefix)).isEqualTo(source);
    assertThat(m.get("present")).isNotNull();
  }

  @Test
  void externalWrite_isVisibleOnEveryNode_andThroughStrongRead() {
    List<Lockstep> nodes = List.of(node(), node(), node());
    byte[] value = "{\"written\":\"elsewhere\"}".getBytes(UTF_8);
    writeExternally(prefix, "ext/config", value);
    for (Lockstep n : nodes) {
      await().atMost(patience()).until(() -> n.map().get("ext/config") != null);
      assertThat(n.map().get("ext/config").value()).isEqualTo(value);
    }
    Versioned strong = nodes.get(0).map().get("ext/config", ReadConsistency.STRONG);
    assertThat(strong.value()).isEqualTo(value);
    assertThat(nodes).allSatisfy(n -> assertThat(n.map().get("ext/config")).isEqualTo(strong));
    await()
        .atMost(patience())
        .until(
            () -> nodes.stream().allMatch(n -> n.map().replica().digest() == sourceDigest(prefix)));
  }

  @Test
  void list_byPrefix_isSortedByKey_andLimited() {
    ReplicatedMap m = node().map();
    for (String k : new String[] {"b/2", "a/1", "b/10", "b/1", "c", "b/3", "ba"}) {
      m.put(k, k.getBytes(UTF_8), "text/plain");
    }
    assertThat(m.list("b/", 0))
        .extracting(Versioned::key)
        .containsExactly("b/1", "b/10", "b/2", "b/3");
    assertThat(m.list("b/", 2)).extracting(Versioned::key).containsExactly("b/1", "b/10");
    assertThat(m.list("", 0))
        .extracting(Versioned::key)
        .containsExactly("a/1", "b/1", "b/10", "b/2", "b/3", "ba", "c");
    assertThat(m.list("zzz", 0)).isEmpty();
    assertThat(m.list(null, 3)).hasSize(3);
  }

  @Test
  void listener_onAnotherNode_seesEveryChangeInRevisionOrder() {
    ReplicatedMap writer = node().map();
    ReplicatedMap follower = node().map();
    List<ChangeEvent> seen = Collections.synchronizedList(new ArrayList<>());
    follower.addListener(seen::add);
    SplittableRandom r = new SplittableRandom(7);
    long last = 0;
    int writes = 0;
    for (int i = 0; i < 60; i++) {
      String key = "k" + r.nextInt(6);
      WriteResult w =
          r.nextInt(4) == 0
              ? writer.delete(key)
              : writer.put(key, ("v" + i).getBytes(UTF_8), "text/plain");
      if (w.isApplied()) {
        last = w.revision();
        writes++;
      }
    }
    awaitApplied(follower, last);
    // listeners run after their revision is published: the last one may still be on its way
    long lastWritten = last;
    await()
        .atMost(patience())
        .until(() -> !seen.isEmpty() && seen.get(seen.size() - 1).revision() >= lastWritten);
    List<ChangeEvent> events = List.copyOf(seen);
    assertThat(events).hasSize(writes).noneMatch(ChangeEvent::fromRelist);
    for (int i = 1; i < events.size(); i++) {
      assertThat(events.get(i).revision()).isGreaterThan(events.get(i - 1).revision());
    }
    assertThat(follower.replica().digest())
        .isEqualTo(writer.replica().digest())
        .isEqualTo(sourceDigest(prefix));
  }

  @Test
  void strongRead_onAnotherNode_reflectsTheLatestAcknowledgedWrite() {
    ReplicatedMap a = node().map();
    ReplicatedMap b = node().map();
    for (int i = 0; i < 20; i++) {
      WriteResult w = a.put("k", ("v" + i).getBytes(UTF_8), "text/plain");
      Versioned strong = b.get("k", ReadConsistency.STRONG);
      assertThat(strong.modRevision()).isEqualTo(w.revision());
      assertThat(strong.valueAsString()).isEqualTo("v" + i);
    }
  }

  @Test
  void manyNodes_concurrentRandomPutsAndDeletes_convergeToTheSourceDigest() {
    List<Lockstep> nodes = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      nodes.add(node());
    }
    List<CompletableFuture<Void>> writers = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      ReplicatedMap m = nodes.get(w * 2).map();
      long seed = w;
      writers.add(
          CompletableFuture.runAsync(
              () -> {
                SplittableRandom r = new SplittableRandom(seed);
                for (int i = 0; i < 75; i++) {
                  String key = "k" + r.nextInt(20);
                  if (r.nextInt(3) == 0) {
                    m.delete(key);
                  } else {
                    m.put(key, ("w" + seed + "-" + i).getBytes(UTF_8), "text/plain");
                  }
                }
              }));
    }
    CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new))
        .orTimeout(patience().toMillis(), TimeUnit.MILLISECONDS)
        .join();
    long expected = sourceDigest(prefix);
    await()
        .atMost(patience())
        .until(() -> nodes.stream().allMatch(n -> n.map().replica().digest() == expected));
    Lockstep first = nodes.get(0);
    assertThat(nodes)
        .allSatisfy(n -> assertThat(n.map().list("", 0)).isEqualTo(first.map().list("", 0)));
  }

  @Test
  void badInput_isRejected_andNothingIsStored() {
    ReplicatedMap m = node().map();
    assertThatThrownBy(() -> m.put("", new byte[] {1}, null))
        .isInstanceOf(InvalidKeyException.class);
    assertThatThrownBy(() -> m.put(null, new byte[] {1}, null))
        .isInstanceOf(InvalidKeyException.class);
    assertThatThrownBy(() -> m.put("x".repeat(1025), new byte[] {1}, null))
        .isInstanceOf(InvalidKeyException.class);
    assertThatThrownBy(() -> m.put("_members/evil", new byte[] {1}, null))
        .isInstanceOf(InvalidKeyException.class);
    assertThatThrownBy(() -> m.put("big", new byte[(1 << 20) + 1], null))
        .isInstanceOf(ValueTooLargeException.class);
    assertThatThrownBy(() -> m.put("nullvalue", null, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.compareAndSet("k", -1, new byte[] {1}, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.compareAndDelete("k", -2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.delete("")).isInstanceOf(InvalidKeyException.class);
    assertThatThrownBy(() -> m.get("_members/x", ReadConsistency.STRONG))
        .isInstanceOf(InvalidKeyException.class);
    assertThat(m.size()).isZero();
    assertThat(sourceDigest(prefix)).isZero();
  }

  @Test
  void refresh_returnsARevisionAtLeastTheApplied_andKeepsTheContent() throws Exception {
    ReplicatedMap m = node().map();
    for (int i = 0; i < 10; i++) {
      m.put("k" + i, ("v" + i).getBytes(UTF_8), "text/plain");
    }
    long applied = m.replica().appliedRevision();
    List<Versioned> before = m.list("", 0);
    long listed = m.replica().refresh().get(patience().toMillis(), TimeUnit.MILLISECONDS);
    assertThat(listed).isGreaterThanOrEqualTo(applied);
    assertThat(m.replica().appliedRevision()).isGreaterThanOrEqualTo(listed);
    assertThat(m.list("", 0)).isEqualTo(before);
    assertThat(m.replica().digest()).isEqualTo(sourceDigest(prefix));
    assertThat(m.replica().stats().relists()).isGreaterThanOrEqualTo(1);
  }

  // ---------------------------------------------------------------------------------------------
  // Request ids (Idempotency-Key)
  // ---------------------------------------------------------------------------------------------

  @Test
  void write_sameRequestIdTwice_appliesOnce_answersTheFirstAnswer_onAnyNode() {
    ReplicatedMap a = node().map();
    ReplicatedMap b = node().map();
    byte[] v1 = "v1".getBytes(UTF_8);
    byte[] v2 = "v2".getBytes(UTF_8);
    String put = prefix + "/put";
    WriteResult first = a.putAsync("k", v1, "text/plain", put).join();
    assertThat(first.isApplied()).isTrue();
    assertThat(first.replayed()).isFalse();
    long later = a.put("k", v2, "text/plain").revision();
    WriteResult again = b.putAsync("k", v1, "text/plain", put).join();
    assertThat(again.status()).isEqualTo(WriteResult.Status.APPLIED);
    assertThat(again.revision()).isEqualTo(first.revision()).isLessThan(later);
    assertThat(again.replayed()).isTrue();
    assertThat(b.get("k", ReadConsistency.STRONG).value()).isEqualTo(v2);
    assertThatThrownBy(() -> b.putAsync("k", v2, "text/plain", put).join())
        .hasRootCauseInstanceOf(RequestIdReusedException.class);
    assertThatThrownBy(() -> b.deleteAsync("k", put).join())
        .hasRootCauseInstanceOf(RequestIdReusedException.class);

    // A compare-and-set that lost answers the same conflict, even once the condition holds.
    String cas = prefix + "/cas";
    WriteResult lost = a.compareAndSetAsync("c", later, v1, "text/plain", cas).join();
    assertThat(lost.status()).isEqualTo(WriteResult.Status.CONFLICT);
    long c = a.put("c", v2, "text/plain").revision();
    WriteResult lostAgain = b.compareAndSetAsync("c", later, v1, "text/plain", cas).join();
    assertThat(lostAgain.status()).isEqualTo(WriteResult.Status.CONFLICT);
    assertThat(lostAgain.revision()).isEqualTo(lost.revision());
    assertThat(lostAgain.replayed()).isTrue();
    assertThat(b.get("c", ReadConsistency.STRONG).modRevision()).isEqualTo(c);

    // A delete sent again does not delete the value written since.
    String del = prefix + "/del";
    WriteResult deleted = a.compareAndDeleteAsync("c", c, del).join();
    assertThat(deleted.isApplied()).isTrue();
    long back = a.put("c", v1, "text/plain").revision();
    WriteResult deletedAgain = b.compareAndDeleteAsync("c", c, del).join();
    assertThat(deletedAgain.isApplied()).isTrue();
    assertThat(deletedAgain.revision()).isEqualTo(deleted.revision());
    assertThat(deletedAgain.replayed()).isTrue();
    String gone = prefix + "/gone";
    WriteResult absent = a.deleteAsync("never", gone).join();
    assertThat(absent.status()).isEqualTo(WriteResult.Status.NOT_FOUND);
    assertThat(b.deleteAsync("never", gone).join().status())
        .isEqualTo(WriteResult.Status.NOT_FOUND);
    awaitApplied(a, back);
    awaitApplied(b, back);
    assertThat(a.get("c").modRevision()).isEqualTo(back);
    assertThat(a.list("", 0)).hasSize(2).isEqualTo(b.list("", 0));
    assertThat(a.replica().digest()).isEqualTo(sourceDigest(prefix));
  }
}
