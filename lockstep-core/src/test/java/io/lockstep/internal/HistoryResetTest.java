package io.lockstep.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.ChangeEvent;
import io.lockstep.Digests;
import io.lockstep.HistoryResetException;
import io.lockstep.Lockstep;
import io.lockstep.ReplicaStats;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 12, path 1: the source's history goes backwards (Redis restarted empty, every voter's
 * folder lost, an etcd restore). The replica must notice (a new epoch, or a listing below applied)
 * and reset to the source's state as it is.
 */
class HistoryResetTest {
  private final InMemoryNodes nodes = new InMemoryNodes();

  @AfterEach
  void closeAll() throws Exception {
    nodes.close();
  }

  private InMemorySource source(RevisionModel model) {
    return nodes.source(model);
  }

  private ReplicatedMap map(InMemorySource s) {
    return nodes.node(s, b -> b.applyTimeout(Duration.ofSeconds(5))).map();
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  private static void write(InMemorySource s, String key, String value) {
    s.writeAtomically(Map.of(key, b(value)));
  }

  private static void assertHoldsTheSource(ReplicatedMap m, InMemorySource s) {
    for (Versioned v : s.entries()) {
      assertThat(m.get(v.key())).as("key %s", v.key()).isNotNull();
      assertThat(m.get(v.key()).valueAsString())
          .as("key %s", v.key())
          .isEqualTo(new String(v.value(), UTF_8));
      assertThat(m.get(v.key()).modRevision()).isEqualTo(v.modRevision());
    }
    assertThat(m.size()).isEqualTo(s.entries().size());
    assertThat(m.replica().digest()).isEqualTo(Digests.of(s.entries()));
    assertThat(m.replica().appliedRevision()).isEqualTo(s.revision());
  }

  @ParameterizedTest
  @EnumSource(RevisionModel.class)
  void historyLost_newEpoch_replicaResetsToTheSourcesValues(RevisionModel model) {
    InMemorySource s = source(model);
    ReplicatedMap a = map(s);
    ReplicatedMap other = map(s);
    List<ChangeEvent> events = Collections.synchronizedList(new ArrayList<>());
    a.addListener(events::add);
    write(s, "k1", "old1");
    write(s, "k2", "old2");
    write(s, "k3", "old3");
    await()
        .until(() -> a.replica().appliedRevision() == 3 && other.replica().appliedRevision() == 3);
    CompletableFuture<Long> waiter = a.replica().awaitRevisionAsync(50); // of the old history

    s.loseHistory(true);
    write(s, "k1", "new1"); // revision 1 again, another value
    write(s, "k9", "new9"); // revision 2 again, another key

    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              assertHoldsTheSource(a, s);
              assertHoldsTheSource(other, s);
            });
    assertThat(a.get("k1").valueAsString()).isEqualTo("new1");
    assertThat(a.get("k2")).as("a key lost with the history").isNull();
    assertThat(a.replica().digest()).isEqualTo(other.replica().digest());
    ReplicaStats st = a.replica().stats();
    assertThat(st.resets()).isEqualTo(1);
    assertThat(other.replica().stats().resets()).isEqualTo(1);
    assertThat(waiter)
        .failsWithin(Duration.ofSeconds(5))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .withCauseInstanceOf(HistoryResetException.class);
    assertThat(a.replica().refresh().orTimeout(5, TimeUnit.SECONDS).join()).isEqualTo(2);
    // A write after the reset answers once applied here, and is seen everywhere.
    long rev = a.put("k4", b("after"), null).revision();
    assertThat(a.get("k4").valueAsString()).isEqualTo("after");
    assertThat(other.replica().awaitRevision(rev, Duration.ofSeconds(5))).isTrue();
    assertThat(other.get("k4").valueAsString()).isEqualTo("after");
    await()
        .untilAsserted(
            () ->
                assertThat(events)
                    .anySatisfy(
                        e -> {
                          assertThat(e.key()).isEqualTo("k2");
                          assertThat(e.type()).isEqualTo(ChangeEvent.Type.DELETE);
                          assertThat(e.fromRelist()).isTrue();
                        }));
  }

  /**
   * The stats name the history the replica follows: the source's epoch from the first listing on,
   * the new one after a reset; and they carry the backend's own figures (the in-memory source
   * counts the listings it served: the first and the reset's).
   */
  @ParameterizedTest
  @EnumSource(RevisionModel.class)
  void stats_carryTheEpochFollowed_beforeAndAfterAReset(RevisionModel model) {
    InMemorySource s = source(model);
    ReplicatedMap m = map(s);
    write(s, "k1", "old1");
    await().until(() -> m.replica().appliedRevision() == 1);
    assertThat(m.replica().stats().epoch()).isEqualTo("epoch-1").isEqualTo(s.epoch());
    assertThat(m.replica().stats().backend()).containsEntry("listings", 1L);

    s.loseHistory(true);
    write(s, "k1", "new1");

    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(() -> assertThat(m.replica().stats().resets()).isEqualTo(1));
    ReplicaStats st = m.replica().stats();
    assertThat(st.epoch()).isEqualTo("epoch-2").isEqualTo(s.epoch());
    assertThat(st.backend()).containsEntry("listings", 2L);
  }

  /**
   * etcd restored without --bump-revision keeps its cluster: no new epoch, only revisions going
   * back. A listing below applied resets, and a key rewritten at a reused revision takes the new
   * value although its mod revision is the one memory holds.
   */
  @ParameterizedTest
  @EnumSource(RevisionModel.class)
  void listingBelowApplied_sameEpoch_resetsAndComparesValues(RevisionModel model) {
    InMemorySource s = source(model);
    ReplicatedMap m = map(s);
    write(s, "k1", "old1");
    write(s, "k2", "old2");
    write(s, "k3", "old3");
    await().until(() -> m.replica().appliedRevision() == 3);
    long digestBefore = m.replica().digest();

    s.loseHistory(false);
    write(s, "k1", "new1"); // revision 1, as memory's k1 was
    write(s, "k2", "new2"); // revision 2, as memory's k2 was

    assertThat(m.replica().refresh().orTimeout(5, TimeUnit.SECONDS).join()).isEqualTo(2);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertHoldsTheSource(m, s));
    assertThat(m.get("k1").valueAsString()).isEqualTo("new1");
    assertThat(m.get("k2").valueAsString()).isEqualTo("new2");
    assertThat(m.get("k3")).isNull();
    assertThat(m.replica().digest()).isNotEqualTo(digestBefore);
    assertThat(m.replica().stats().resets()).isEqualTo(1);
  }

  /**
   * The feed is down (held down by the fake ticker) when the source loses its history, so nothing
   * tells the replica but the write itself: a put committed at revision 1 again, while memory holds
   * another write at revision 1. It must not answer "applied here" over the old value: memory
   * cannot hold that, within one history, so the replica lists (and resets) before answering.
   */
  @ParameterizedTest
  @EnumSource(RevisionModel.class)
  void put_atARevisionMemoryHoldsAnotherWriteAt_resetsBeforeAnswering(RevisionModel model) {
    InMemorySource s = source(model);
    FakeTime time = new FakeTime();
    Replicator r =
        new Replicator(
            s.backend(),
            Lockstep.builder()
                .backend(s.backend())
                .keyPrefix("t")
                .progressInterval(Duration.ofHours(1))
                .reconnectBackoff(Duration.ofHours(1), Duration.ofHours(1))
                .randomSeed(1)
                .config(),
            time,
            time);
    nodes.closeLater(r::close);
    r.start();
    write(s, "k1", "old1");
    write(s, "k2", "old2");
    await().until(() -> r.appliedRevision() == 2);
    s.breakFeeds(); // the reconnect waits for the fake ticker: no feed from here on
    await().until(() -> r.state() == io.lockstep.ReplicaState.RECONNECTING);
    s.loseHistory(false);

    io.lockstep.WriteResult w = r.put("k1", b("new1"), null);

    assertThat(w.revision()).isEqualTo(1);
    assertThat(r.get("k1").valueAsString()).isEqualTo("new1");
    assertThat(r.get("k2")).isNull();
    assertThat(r.stats().resets()).isEqualTo(1);
    assertThat(r.digest()).isEqualTo(Digests.of(s.entries()));
  }

  /** A waiter for a revision of the old history fails with the reset, not with a timeout. */
  @ParameterizedTest
  @EnumSource(RevisionModel.class)
  void awaitRevision_ofTheOldHistory_failsWithHistoryReset(RevisionModel model) {
    InMemorySource s = source(model);
    ReplicatedMap m = map(s);
    write(s, "k1", "old1");
    write(s, "k2", "old2");
    await().until(() -> m.replica().appliedRevision() == 2);
    CompletableFuture<Long> waiter = m.replica().awaitRevisionAsync(3);
    s.loseHistory(false);
    write(s, "k1", "new1");
    m.replica().refresh().orTimeout(5, TimeUnit.SECONDS).join();
    assertThat(waiter)
        .failsWithin(Duration.ofSeconds(5))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .withCauseInstanceOf(HistoryResetException.class);
    assertThat(m.replica().stats().resets()).isEqualTo(1);
  }
}
