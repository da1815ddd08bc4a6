package io.lockstep.peer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.Change;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.Snapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jgroups.protocols.raft.LogEntry;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.stack.ProtocolStack;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Raft's Figure 8 (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm",
 * section 5.4.2) on five voters in this JVM: a leader must not count replicas of an entry from an
 * earlier term as a commit, or two leader crashes in a row overwrite an entry that was applied as
 * committed.
 *
 * <p>jgroups-raft elects differently from the paper: the view coordinator (the oldest voter of the
 * view) asks every voter for its last log term and index and makes the one with the best log
 * leader, the oldest first among equals. The scenario is driven through that rule: by the order the
 * voters join (S1, S5, S2, S3, S4, so S5 comes before S3 and S4), by closing voters (a crash: the
 * data folder stays) and starting them again on the same folder, and by cutting the Raft log
 * traffic to a voter ({@link RaftLogCut}: it still votes, but receives no entries). Terms are
 * jgroups-raft's, not the paper's numbers; what matters is their order.
 *
 * <ol>
 *   <li>(a) S1 leads; an entry k=A (term t1) reaches S2 only (S3, S4, S5 receive no log traffic);
 *       S2 and S1 crash (S2 too, because S2's better log would otherwise win the next election; in
 *       the paper S2 merely takes no part in it).
 *   <li>(b) S5 is elected by S3, S4 and S5 (term t2 &gt; t1) and appends k=B at the same index,
 *       which reaches nobody (S3 and S4 still receive no log traffic); S5 crashes.
 *   <li>(c) S3 receives log traffic again, S4 still does not. S1 restarts and is elected (its log
 *       is the longest), term t3; S2 restarts; S1 sends k=A to S3 and S2 acknowledges it too: A is
 *       on S1, S2 and S3, a majority. Counting those replicas, jgroups-raft 1.1.0 commits A here
 *       and Lockstep applies it at the next revision and multicasts it. S2 and S1 crash (S2 so that
 *       the next election waits for S5).
 *   <li>(d) S4 receives log traffic again; S5 restarts and, with a log ending in term t2, is the
 *       best candidate for the coordinator S3, unless A was committed together with an entry of
 *       S1's own term (t3), which S3 then holds. If S5 is elected it overwrites A with B at that
 *       index.
 * </ol>
 *
 * <p>Asserted throughout: no revision is ever delivered with two different changes to any two
 * instances (every incarnation of every voter and a non-voter record what they receive); at the end
 * every instance holds the same map, the voters' logs agree on the term of every index each has
 * committed, and every write acknowledged to a client is there.
 */
class PeerFigure8IT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private static final String KEY = "figure-8";

  /** "base" is the first map change, so A, when applied, is the second. */
  private static final long REVISION_OF_A = 2;

  private final PeerGroup group = new PeerGroup("figure8-" + System.nanoTime(), 5);

  /** revision → the changes delivered at it, "instance: change", from every instance. */
  private final Map<Long, Map<String, String>> delivered = new ConcurrentHashMap<>();

  private final PeerBackend[] voters = new PeerBackend[5];
  private final RaftLogCut[] cuts = new RaftLogCut[5];
  private final int[] incarnation = new int[5];
  private final String[] names = new String[5];

  @AfterEach
  void close() {
    group.close();
  }

  /** Starts voter S(i+1) on its data folder, with a log cut (off) and a recording feed. */
  private PeerBackend start(int i) throws Exception {
    String name = "S" + (i + 1) + "#" + (++incarnation[i]);
    PeerBackend b = group.backend(group.voterUri(i), name);
    RaftLogCut cut = new RaftLogCut();
    b.channel()
        .getProtocolStack()
        .insertProtocol(cut, ProtocolStack.Position.ABOVE, VoterViewFilter.class);
    cuts[i] = cut;
    voters[i] = b;
    names[i] = name;
    record(b, name);
    return b;
  }

  private void crash(int i) {
    voters[i].close();
    voters[i] = null;
  }

  private void record(PeerBackend b, String name) {
    b.watch(
        1,
        new FeedListener() {
          @Override
          public void onChanges(long revision, List<Change> changes, long headRevision) {
            for (Change c : changes) {
              String what =
                  c.type()
                      + " "
                      + c.key()
                      + (c.value() == null ? "" : "=" + c.value().valueAsString());
              delivered.computeIfAbsent(revision, r -> new ConcurrentHashMap<>()).put(name, what);
            }
          }

          @Override
          public void onProgress(long revision) {}

          @Override
          public void onCompacted(long compactRevision) {}

          @Override
          public void onError(Throwable error) {}
        });
  }

  private static RAFT raft(PeerBackend b) {
    return b.channel().getProtocolStack().findProtocol(RAFT.class);
  }

  private static long term(PeerBackend b, long index) {
    LogEntry e = raft(b).log().get(index);
    return e == null ? -1 : e.term();
  }

  private static String value(PeerBackend b, String key) {
    Snapshot s = b.snapshot().orTimeout(10, TimeUnit.SECONDS).join();
    return s.entries().stream()
        .filter(v -> v.key().equals(key))
        .map(v -> v.valueAsString())
        .findFirst()
        .orElse(null);
  }

  @Test
  void figure8_twoLeaderCrashes_neverReplaceAnAppliedEntry() throws Exception {
    // Join order S1, S5, S2, S3, S4: the first election runs when S2 makes three (S1 is the oldest
    // and wins among equal logs); S5 is older than S3 and S4 for step (b).
    PeerBackend s1 = start(0);
    start(4);
    start(1);
    start(2);
    start(3);
    PeerBackend other = group.backend(group.nonVoterUri(), "N");
    record(other, "N");
    await().atMost(PATIENCE).until(s1::isLeader);
    await()
        .atMost(PATIENCE)
        .ignoreExceptions()
        .until(() -> other.put("base", "0".getBytes(UTF_8), "text/plain", 0).join().isApplied());
    long base = raft(s1).lastAppended();
    await()
        .atMost(PATIENCE)
        .until(
            () -> {
              for (PeerBackend v : voters) {
                if (raft(v).commitIndex() < base) {
                  return false;
                }
              }
              return true;
            });

    // (a) S1 (term t1) appends A; only S2 receives it.
    for (int i : new int[] {2, 3, 4}) {
      cuts[i].on();
    }
    CompletableFuture<WriteResult> writeA =
        s1.put(KEY, "A".getBytes(UTF_8), "text/plain", Backend.ANY_REVISION);
    long indexA = base + 1;
    await().atMost(PATIENCE).until(() -> raft(voters[1]).lastAppended() >= indexA);
    long termA = term(s1, indexA);
    assertThat(term(voters[1], indexA)).isEqualTo(termA);
    for (int i : new int[] {2, 3, 4}) {
      assertThat(raft(voters[i]).lastAppended()).as("S%d", i + 1).isLessThan(indexA);
    }
    crash(1);
    crash(0);
    assertThat(writeA).isCompletedExceptionally(); // never acknowledged

    // (b) S5 is elected by S3, S4, S5 and appends B at the same index; nobody receives it.
    PeerBackend s5 = voters[4];
    await().atMost(PATIENCE).until(s5::isLeader);
    CompletableFuture<WriteResult> writeB =
        s5.put(KEY, "B".getBytes(UTF_8), "text/plain", Backend.ANY_REVISION);
    await()
        .atMost(PATIENCE)
        .until(
            () ->
                raft(s5).lastAppended() >= indexA
                    && term(s5, raft(s5).lastAppended()) == raft(s5).currentTerm());
    long termB = term(s5, indexA);
    assertThat(termB).as("S5's entry at the index of A").isGreaterThan(termA);
    crash(4);
    assertThat(writeB).isCompletedExceptionally(); // never acknowledged
    assertThat(raft(voters[2]).lastAppended()).isLessThan(indexA);
    assertThat(raft(voters[3]).lastAppended()).isLessThan(indexA);

    // (c) S3 receives log traffic again, S4 not yet. S1 restarts and is elected (longest log);
    // S2 restarts; A reaches S3 and is on S1, S2, S3.
    cuts[2].off();
    PeerBackend s1again = start(0);
    await().atMost(PATIENCE).until(s1again::isLeader);
    assertThat(raft(s1again).currentTerm()).isGreaterThan(termB);
    start(1);
    await().atMost(PATIENCE).until(() -> raft(s1again).commitIndex() >= indexA);
    // Raft's rule: the leader's commit index moves only to an entry of its own term.
    assertThat(term(s1again, raft(s1again).commitIndex()))
        .as("term of the entry S1 committed up to")
        .isEqualTo(raft(s1again).currentTerm());
    await()
        .atMost(PATIENCE)
        .alias("N received A from S1")
        .until(() -> "PUT figure-8=A".equals(at(REVISION_OF_A, "N")));
    crash(1);
    crash(0);

    // (d) S4 receives log traffic again; S5 restarts; a leader is elected among S3, S4, S5 and
    // commits past the index of A.
    cuts[3].off();
    start(4);
    await()
        .atMost(PATIENCE)
        .until(() -> voters[2].isLeader() || voters[3].isLeader() || voters[4].isLeader());
    int leader = voters[2].isLeader() ? 2 : voters[3].isLeader() ? 3 : 4;
    await().atMost(PATIENCE).until(() -> raft(voters[leader]).commitIndex() >= indexA);
    await().atMost(PATIENCE).until(() -> at(REVISION_OF_A, names[leader]) != null);
    assertNoRevisionDeliveredTwice();
    assertCommittedLogsAgree();

    start(0);
    start(1);
    WriteResult after =
        await()
            .atMost(PATIENCE)
            .ignoreExceptions()
            .until(
                () ->
                    other
                        .put("after", "1".getBytes(UTF_8), "text/plain", 0)
                        .orTimeout(5, TimeUnit.SECONDS)
                        .join(),
                WriteResult::isApplied);
    long last = after.revision();
    await()
        .atMost(PATIENCE)
        .until(
            () ->
                delivered.containsKey(last)
                    && delivered.get(last).keySet().containsAll(List.of("N", "S4#1", "S3#1")));
    assertNoRevisionDeliveredTwice();
    assertCommittedLogsAgree();

    // Every instance holds the same value for the key; the voters agree on every committed index.
    List<String> values = new ArrayList<>();
    for (PeerBackend v : voters) {
      values.add(value(v, KEY));
    }
    values.add(value(other, KEY));
    assertThat(values).as("the value of %s on S1..S5 and N", KEY).containsOnly(values.get(0));
    assertThat(values.get(0)).as("A was applied at revision %d", REVISION_OF_A).isEqualTo("A");
    assertThat(value(other, "base")).isEqualTo("0");
    assertThat(value(other, "after")).isEqualTo("1");
  }

  /** No revision was ever delivered with two different changes. */
  private void assertNoRevisionDeliveredTwice() {
    Map<Long, Map<String, String>> conflicts = new TreeMap<>();
    delivered.forEach(
        (rev, byInstance) -> {
          if (byInstance.values().stream().distinct().count() > 1) {
            conflicts.put(rev, new TreeMap<>(byInstance));
          }
        });
    assertThat(conflicts).as("revisions delivered with different changes").isEmpty();
  }

  /** The running voters agree on the term of every index that two or more of them committed. */
  private void assertCommittedLogsAgree() {
    long committed = 0;
    for (PeerBackend v : voters) {
      if (v != null) {
        committed = Math.max(committed, raft(v).commitIndex());
      }
    }
    for (long i = 1; i <= committed; i++) {
      Map<String, Long> terms = new TreeMap<>();
      for (int k = 0; k < voters.length; k++) {
        PeerBackend v = voters[k];
        if (v != null && raft(v).commitIndex() >= i && raft(v).log().get(i) != null) {
          terms.put(names[k], term(v, i));
        }
      }
      assertThat(terms.values().stream().distinct().toList())
          .as("term of committed index %d on each voter: %s", i, terms)
          .hasSizeLessThanOrEqualTo(1);
    }
  }

  private String at(long revision, String instance) {
    Map<String, String> m = delivered.get(revision);
    return m == null ? null : m.get(instance);
  }
}
