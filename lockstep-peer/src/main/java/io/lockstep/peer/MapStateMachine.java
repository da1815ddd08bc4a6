package io.lockstep.peer;

import io.lockstep.Versioned;
import io.lockstep.spi.Backend;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jgroups.raft.StateMachine;

/**
 * The replicated map as Raft's state machine, on every voter: committed log entries are applied
 * here, in log order, identically on each voter.
 *
 * <p><b>Revisions.</b> The Raft log index is not the revision: the log also holds jgroups-raft's
 * internal entries (membership changes), reads, compare-and-sets that lost and deletes of missing
 * keys. The revision is the number of applied entries that changed the map, counted here. It is a
 * pure function of the log, so every voter computes the same revision for the same entry, it is
 * contiguous (1, 2, 3, ...), and it survives restarts and Raft snapshots (which store it).
 *
 * <p><b>Decisions at apply time.</b> A compare-and-set's expected revision and a delete's "not
 * found" are decided here, when the entry is applied, against the state every voter has at that
 * point of the log, never by the instance that sent the write.
 *
 * <p>Reads ({@link Wire#GET}, {@link Wire#LIST}) are log entries too: applied on the leader after
 * every earlier entry, they see every acknowledged write (linearizable). Only the leader's answer
 * is used, so other voters and replays skip building it.
 *
 * <p><b>Cluster counters</b> live here too, beside the map, not in it: a {@link Wire#COUNTER_ADD}
 * entry adds its delta when applied, in the Raft total order, so every voter holds the same values;
 * it changes no map entry, is not a map revision and is not published, so the map's revisions stay
 * contiguous. Counters are part of the Raft snapshot (after the map entries; a snapshot written
 * before counters existed simply has none) and are rebuilt from the log on restart like the map.
 *
 * <p><b>Request ids.</b> A {@link Wire#ONCE} entry wraps a put, delete or counter increment with a
 * request id's digest and the request's fingerprint. The first such entry applies the command and
 * remembers (digest, fingerprint, answer); a later one with the same digest applies nothing and
 * answers the remembered answer, or, with another fingerprint, answers {@link Wire#REUSED}. The
 * most recent {@value #MAX_REMEMBERED} ids are remembered (the oldest forgotten first, in log
 * order, so every voter forgets the same), and written into Raft snapshots after the counters.
 *
 * <p>A {@link Wire#NOOP} entry (a new leader's first, see {@link CurrentTermRaft}) changes nothing.
 *
 * <p>Every map change is handed to the {@link CommitPublisher}, which multicasts it when this voter
 * leads. Raft calls this class from one thread at a time; its methods are synchronized regardless.
 */
final class MapStateMachine implements StateMachine {
  private final Map<String, Versioned> map = new HashMap<>();
  private final TreeMap<String, Long> counters = new TreeMap<>();

  /** How many request ids are remembered at most. */
  static final int MAX_REMEMBERED = 100_000;

  private record Remembered(String fingerprint, byte[] answer) {}

  private final LinkedHashMap<String, Remembered> remembered =
      new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Remembered> eldest) {
          return size() > MAX_REMEMBERED;
        }
      };
  private final CommitPublisher publisher;
  private long revision;
  private String epoch; // the log's history id: the first listing's candidate
  private volatile boolean answering;

  MapStateMachine(CommitPublisher publisher) {
    this.publisher = publisher;
  }

  /** Reads build their answers from now on (off while Raft replays its log at start). */
  void startAnswering() {
    answering = true;
  }

  synchronized long revision() {
    return revision;
  }

  /** Counter {@code name} as applied here (0 when never incremented). */
  synchronized long counter(String name) {
    return counters.getOrDefault(name, 0L);
  }

  @Override
  public synchronized byte[] apply(byte[] data, int offset, int length, boolean serializeResponse)
      throws Exception {
    Wire.In in = new Wire.In(data, offset, length);
    byte op = in.tag();
    switch (op) {
      case Wire.PUT:
        {
          String key = in.str();
          long expected = in.i64();
          String type = in.str();
          byte[] value = in.bytes();
          Versioned cur = map.get(key);
          if (expected != Backend.ANY_REVISION
              && (expected == 0 ? cur != null : cur == null || cur.modRevision() != expected)) {
            return conflict(cur);
          }
          Versioned v = new Versioned(key, value, type, ++revision);
          map.put(key, v);
          publisher.applied(
              revision,
              Wire.out()
                  .message(Wire.COMMIT)
                  .i64(revision)
                  .tag(Wire.PUT)
                  .str(key)
                  .str(type)
                  .bytes(value)
                  .toBytes());
          return Wire.out().tag(Wire.APPLIED).i64(revision).toBytes();
        }
      case Wire.DELETE:
        {
          String key = in.str();
          long expected = in.i64();
          Versioned cur = map.get(key);
          if (expected == Backend.ANY_REVISION || expected == 0) {
            if (cur == null) {
              return Wire.out().tag(Wire.NOT_FOUND).i64(revision).toBytes();
            }
            if (expected == 0) {
              return conflict(cur);
            }
          } else if (cur == null || cur.modRevision() != expected) {
            return conflict(cur);
          }
          map.remove(key);
          ++revision;
          publisher.applied(
              revision,
              Wire.out().message(Wire.COMMIT).i64(revision).tag(Wire.DELETE).str(key).toBytes());
          return Wire.out().tag(Wire.APPLIED).i64(revision).toBytes();
        }
      case Wire.GET:
        {
          String key = in.str();
          if (!serializeResponse || !answering) {
            return null;
          }
          Versioned cur = map.get(key);
          Wire.Out out = Wire.out().i64(revision).bool(cur != null);
          return cur == null ? out.toBytes() : out.entry(cur).toBytes();
        }
      case Wire.LIST:
        {
          // Every voter applies the same log, so every voter adopts the same first candidate; it
          // is kept in Raft snapshots, and lost only with every voter's log (a new history).
          String candidate = in.optionalStr();
          if (epoch == null && candidate != null && !candidate.isEmpty()) {
            epoch = candidate;
          }
          if (!serializeResponse || !answering) {
            return null;
          }
          Wire.Out out = Wire.out().i64(revision).i32(map.size());
          for (Versioned v : map.values()) {
            out.entry(v);
          }
          return out.str(epoch == null ? "" : epoch).toBytes();
        }
      case Wire.COUNTER_ADD:
        {
          String name = in.str();
          long delta = in.i64();
          long value =
              counters.getOrDefault(name, 0L)
                  + delta; // wraps past Long.MAX_VALUE, identically everywhere
          counters.put(name, value);
          return serializeResponse ? Wire.out().i64(value).toBytes() : null;
        }
      case Wire.COUNTER_GET:
        {
          String name = in.str();
          if (!serializeResponse || !answering) {
            return null;
          }
          return Wire.out().i64(counters.getOrDefault(name, 0L)).toBytes();
        }
      case Wire.ONCE:
        {
          String digest = in.str();
          String fingerprint = in.str();
          byte[] command = in.bytes();
          Remembered r = remembered.get(digest);
          if (r != null) {
            return r.fingerprint().equals(fingerprint)
                ? Wire.out().tag(Wire.REPLAYED).bytes(r.answer()).toBytes()
                : Wire.out().tag(Wire.REUSED).toBytes();
          }
          byte inner = command.length == 0 ? -1 : command[0];
          if (inner != Wire.PUT && inner != Wire.DELETE && inner != Wire.COUNTER_ADD) {
            throw new IOException("command " + inner + " cannot be sent once");
          }
          byte[] answer = apply(command, 0, command.length, true);
          remembered.put(digest, new Remembered(fingerprint, answer));
          return Wire.out().tag(Wire.FIRST).bytes(answer).toBytes();
        }
      case Wire.NOOP:
        return null; // a new leader's entry of its own term: no map change, no revision
      default:
        throw new IOException("unknown command " + op);
    }
  }

  private static byte[] conflict(Versioned cur) {
    Wire.Out out =
        Wire.out().tag(Wire.CONFLICT).i64(cur == null ? 0 : cur.modRevision()).bool(cur != null);
    return cur == null ? out.toBytes() : out.entry(cur).toBytes();
  }

  /**
   * Raft snapshot (log truncation, or a follower far behind): the revision, then every entry, then
   * the counters (count, then name and value each).
   */
  @Override
  public synchronized void writeContentTo(DataOutput out) throws Exception {
    Wire.writeEntries(out, revision, map.values(), map.size());
    out.writeInt(counters.size());
    for (Map.Entry<String, Long> c : counters.entrySet()) {
      out.writeUTF(c.getKey());
      out.writeLong(c.getValue());
    }
    out.writeInt(remembered.size());
    for (Map.Entry<String, Remembered> e : remembered.entrySet()) {
      out.writeUTF(e.getKey());
      out.writeUTF(e.getValue().fingerprint());
      out.writeInt(e.getValue().answer().length);
      out.write(e.getValue().answer());
    }
    out.writeUTF(epoch == null ? "" : epoch);
  }

  @Override
  public synchronized void readContentFrom(DataInput in) throws Exception {
    Wire.In r = new Wire.In(in);
    long rev = r.i64();
    int n = r.i32();
    List<Versioned> entries = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      entries.add(r.entry());
    }
    TreeMap<String, Long> restored = new TreeMap<>();
    int c;
    try {
      c = in.readInt();
    } catch (EOFException before) {
      c = 0; // a snapshot written before counters existed
    }
    for (int i = 0; i < c; i++) {
      restored.put(in.readUTF(), in.readLong());
    }
    LinkedHashMap<String, Remembered> ids = new LinkedHashMap<>();
    int k;
    try {
      k = in.readInt();
    } catch (EOFException before) {
      k = 0; // a snapshot written before request ids existed
    }
    for (int i = 0; i < k; i++) {
      String digest = in.readUTF();
      String fingerprint = in.readUTF();
      byte[] answer = new byte[in.readInt()];
      in.readFully(answer);
      ids.put(digest, new Remembered(fingerprint, answer));
    }
    String restoredEpoch;
    try {
      restoredEpoch = in.readUTF();
    } catch (EOFException before) {
      restoredEpoch = ""; // a snapshot written before epochs existed: the next listing sets it
    }
    map.clear();
    for (Versioned v : entries) {
      map.put(v.key(), v);
    }
    counters.clear();
    counters.putAll(restored);
    remembered.clear();
    remembered.putAll(ids);
    epoch = restoredEpoch.isEmpty() ? null : restoredEpoch;
    revision = rev;
    publisher.reset(rev);
  }
}
