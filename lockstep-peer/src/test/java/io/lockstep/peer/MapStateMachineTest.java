package io.lockstep.peer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockstep.spi.Backend;
import java.util.ArrayList;
import java.util.List;
import org.jgroups.util.ByteArrayDataInputStream;
import org.jgroups.util.ByteArrayDataOutputStream;
import org.junit.jupiter.api.Test;

/** Decisions at apply time and the revision count, on the state machine alone. */
class MapStateMachineTest {
  private final List<byte[]> sent = new ArrayList<>();
  private final CommitPublisher publisher =
      new CommitPublisher(
          m -> {
            synchronized (sent) {
              sent.add(m);
            }
          });
  private final MapStateMachine sm = new MapStateMachine(publisher);

  private byte[] apply(byte[] cmd) throws Exception {
    return sm.apply(cmd, 0, cmd.length, true);
  }

  private static byte[] put(String k, String v, long expected) {
    return Wire.out()
        .tag(Wire.PUT)
        .str(k)
        .i64(expected)
        .str("text/plain")
        .bytes(v.getBytes(UTF_8))
        .toBytes();
  }

  private static byte[] delete(String k, long expected) {
    return Wire.out().tag(Wire.DELETE).str(k).i64(expected).toBytes();
  }

  private static String outcome(byte[] r) throws Exception {
    Wire.In in = new Wire.In(r, 0, r.length);
    byte status = in.tag();
    long rev = in.i64();
    return switch (status) {
      case Wire.APPLIED -> "applied@" + rev;
      case Wire.NOT_FOUND -> "notfound@" + rev;
      default -> "conflict@" + rev;
    };
  }

  @Test
  void revisions_countOnlyMapChanges_andCasAndNotFoundAreDecidedAtApply() throws Exception {
    sm.startAnswering();
    long any = Backend.ANY_REVISION;
    assertThat(outcome(apply(put("a", "1", any)))).isEqualTo("applied@1");
    assertThat(outcome(apply(put("a", "2", 0)))).as("only if absent").isEqualTo("conflict@1");
    assertThat(outcome(apply(put("a", "3", 7)))).as("wrong expected").isEqualTo("conflict@1");
    assertThat(outcome(apply(put("b", "x", 5))))
        .as("expected on a missing key")
        .isEqualTo("conflict@0");
    assertThat(outcome(apply(put("a", "4", 1)))).isEqualTo("applied@2");
    assertThat(outcome(apply(delete("zz", any)))).isEqualTo("notfound@2");
    assertThat(outcome(apply(delete("zz", 0)))).isEqualTo("notfound@2");
    assertThat(outcome(apply(delete("a", 0)))).isEqualTo("conflict@2");
    assertThat(outcome(apply(delete("zz", 3)))).isEqualTo("conflict@0");
    byte[] read = apply(Wire.out().tag(Wire.GET).str("a").toBytes());
    Wire.In in = new Wire.In(read, 0, read.length);
    assertThat(in.i64()).isEqualTo(2);
    assertThat(in.bool()).isTrue();
    assertThat(in.entry().valueAsString()).isEqualTo("4");
    assertThat(outcome(apply(delete("a", 2)))).isEqualTo("applied@3");
    assertThat(sm.revision()).as("reads, conflicts and not-found took no revision").isEqualTo(3);
  }

  @Test
  void snapshot_roundTrip_keepsEntriesAndRevision() throws Exception {
    apply(put("a", "1", -1));
    apply(put("b", "2", -1));
    apply(delete("a", -1));
    ByteArrayDataOutputStream out = new ByteArrayDataOutputStream(64);
    sm.writeContentTo(out);
    MapStateMachine copy = new MapStateMachine(publisher);
    copy.readContentFrom(new ByteArrayDataInputStream(out.buffer(), 0, out.position()));
    copy.startAnswering();
    assertThat(copy.revision()).isEqualTo(3);
    byte[] list = copy.apply(Wire.out().tag(Wire.LIST).toBytes(), 0, 1, true);
    Wire.In in = new Wire.In(list, 0, list.length);
    assertThat(in.i64()).isEqualTo(3);
    assertThat(in.i32()).isEqualTo(1);
    assertThat(in.entry().modRevision()).isEqualTo(2);
    assertThat(copy.apply(put("c", "3", -1), 0, put("c", "3", -1).length, true)).isNotNull();
    assertThat(copy.revision()).isEqualTo(4);
  }

  @Test
  void publisher_sendsOnlyWhileLeading_andResendsItsRecentChangesWhenItBecomesLeader()
      throws Exception {
    apply(put("a", "1", -1));
    apply(put("b", "1", -1));
    publisher.becameLeader();
    apply(put("c", "1", -1));
    publisher.lostLeadership();
    apply(put("d", "1", -1));
    List<Long> revisions = new ArrayList<>();
    synchronized (sent) {
      for (byte[] m : sent) {
        assertThat(Wire.messageType(m, 0, m.length)).isEqualTo(Wire.COMMIT);
        revisions.add(Wire.body(m, 0, m.length).i64());
      }
    }
    assertThat(revisions).containsExactly(1L, 2L, 3L);
  }

  private static byte[] add(String name, long delta) {
    return Wire.out().tag(Wire.COUNTER_ADD).str(name).i64(delta).toBytes();
  }

  private long value(byte[] r) throws Exception {
    return new Wire.In(r, 0, r.length).i64();
  }

  @Test
  void counters_addInLogOrder_leaveMapRevisionsContiguous_andSurviveASnapshot() throws Exception {
    sm.startAnswering();
    long any = Backend.ANY_REVISION;
    assertThat(outcome(apply(put("a", "1", any)))).isEqualTo("applied@1");
    assertThat(value(apply(add("hits", 1)))).isEqualTo(1);
    assertThat(value(apply(add("hits", 41)))).isEqualTo(42);
    assertThat(value(apply(add("other", -3)))).isEqualTo(-3);
    assertThat(sm.revision()).isEqualTo(1);
    assertThat(outcome(apply(put("b", "2", any))))
        .as("the next map change is revision 2")
        .isEqualTo("applied@2");
    assertThat(value(apply(Wire.out().tag(Wire.COUNTER_GET).str("hits").toBytes()))).isEqualTo(42);
    assertThat(value(apply(Wire.out().tag(Wire.COUNTER_GET).str("never").toBytes()))).isZero();
    byte[] replayed = add("hits", 1);
    assertThat(sm.apply(replayed, 0, replayed.length, false))
        .as("applied, no answer built when none is wanted")
        .isNull();
    assertThat(sm.counter("hits")).isEqualTo(43);

    ByteArrayDataOutputStream out = new ByteArrayDataOutputStream();
    sm.writeContentTo(out);
    MapStateMachine copy = new MapStateMachine(publisher);
    copy.readContentFrom(new ByteArrayDataInputStream(out.buffer(), 0, out.position()));
    assertThat(copy.revision()).isEqualTo(2);
    assertThat(copy.counter("hits")).isEqualTo(43);
    assertThat(copy.counter("other")).isEqualTo(-3);
  }

  @Test
  void snapshotWithoutCounters_stillReads() throws Exception {
    sm.startAnswering();
    apply(put("a", "1", Backend.ANY_REVISION));
    ByteArrayDataOutputStream out = new ByteArrayDataOutputStream();
    Wire.writeEntries(
        out, 1, List.of(new io.lockstep.Versioned("a", "1".getBytes(UTF_8), "text/plain", 1)), 1);
    MapStateMachine copy = new MapStateMachine(publisher);
    copy.readContentFrom(new ByteArrayDataInputStream(out.buffer(), 0, out.position()));
    assertThat(copy.revision()).isEqualTo(1);
    assertThat(copy.counter("hits")).isZero();
  }

  @Test
  void noop_changesNothing_noRevision_nothingPublished() throws Exception {
    assertThat(outcome(apply(put("a", "1", Backend.ANY_REVISION)))).isEqualTo("applied@1");
    assertThat(apply(Wire.noopCommand())).isNull();
    assertThat(sm.revision()).isEqualTo(1);
    assertThat(outcome(apply(put("b", "2", Backend.ANY_REVISION)))).isEqualTo("applied@2");
  }

  private static byte[] answer(Wire.Once o) {
    return java.util.Objects.requireNonNull(o.answer());
  }

  private static byte[] once(String id, String fingerprint, byte[] cmd) {
    return Wire.onceCommand(id, fingerprint, cmd);
  }

  @Test
  void once_appliesTheFirst_replaysTheSame_refusesAnother_andSurvivesASnapshot() throws Exception {
    sm.startAnswering();
    long any = Backend.ANY_REVISION;
    Wire.Once first = Wire.once(apply(once("r1", "f1", put("a", "1", any))));
    assertThat(first.how()).isEqualTo(Wire.FIRST);
    assertThat(outcome(answer(first))).isEqualTo("applied@1");
    assertThat(outcome(apply(put("a", "2", any)))).isEqualTo("applied@2");
    byte[] again = once("r1", "f1", put("a", "1", any));
    assertThat(sm.apply(again, 0, again.length, false))
        .as("a follower applies it too, and changes nothing")
        .isNotNull();
    Wire.Once replay = Wire.once(apply(once("r1", "f1", put("a", "1", any))));
    assertThat(replay.how()).isEqualTo(Wire.REPLAYED);
    assertThat(outcome(answer(replay))).isEqualTo("applied@1");
    assertThat(Wire.once(apply(once("r1", "other", put("a", "9", any)))).how())
        .isEqualTo(Wire.REUSED);
    Wire.Once lost = Wire.once(apply(once("r2", "f2", put("a", "3", 7))));
    assertThat(outcome(answer(lost))).isEqualTo("conflict@2");
    Wire.Once counted = Wire.once(apply(once("r3", "f3", add("hits", 5))));
    assertThat(value(answer(counted))).isEqualTo(5);
    assertThat(sm.revision()).isEqualTo(2);

    ByteArrayDataOutputStream out = new ByteArrayDataOutputStream();
    sm.writeContentTo(out);
    MapStateMachine copy = new MapStateMachine(publisher);
    copy.readContentFrom(new ByteArrayDataInputStream(out.buffer(), 0, out.position()));
    byte[] afterSnapshot = once("r3", "f3", add("hits", 5));
    Wire.Once r = Wire.once(copy.apply(afterSnapshot, 0, afterSnapshot.length, true));
    assertThat(r.how()).isEqualTo(Wire.REPLAYED);
    assertThat(value(answer(r))).isEqualTo(5);
    assertThat(copy.counter("hits")).isEqualTo(5);
    byte[] conflictAgain = once("r2", "f2", put("a", "3", 7));
    assertThat(outcome(answer(Wire.once(copy.apply(conflictAgain, 0, conflictAgain.length, true)))))
        .isEqualTo("conflict@2");
    assertThat(copy.revision()).isEqualTo(2);
  }
}
