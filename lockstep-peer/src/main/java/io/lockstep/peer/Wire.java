package io.lockstep.peer;

import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend.StrongRead;
import io.lockstep.spi.Change;
import io.lockstep.spi.RequestIds;
import io.lockstep.spi.Snapshot;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The byte forms the peer backend writes: Raft commands and their results (kept in the Raft log and
 * answered by {@link MapStateMachine}), and the group messages every instance exchanges. Every form
 * starts with a one-byte tag; strings are length-prefixed UTF-8. Stateless.
 */
final class Wire {
  private Wire() {}

  // Raft commands (the log holds these).
  static final byte PUT = 1;
  static final byte DELETE = 2;
  static final byte GET = 3;
  static final byte LIST = 4;
  static final byte COUNTER_ADD = 5; // name, delta: answers the new value; no map revision
  static final byte COUNTER_GET = 6; // name: answers the value (a linearizable read)
  static final byte NOOP = 7; // a new leader's first entry (CurrentTermRaft): changes nothing
  // digest, fingerprint, command (PUT, DELETE or COUNTER_ADD): that command at most once per id
  static final byte ONCE = 8;

  // How a ONCE entry was answered: then the command's answer (none for REUSED).
  static final byte FIRST = 0;
  static final byte REPLAYED = 1;
  static final byte REUSED = 2;

  // Write outcomes.
  static final byte APPLIED = 0;
  static final byte NOT_FOUND = 1;
  static final byte CONFLICT = 2;

  /** Group messages start with this, so other traffic that reaches the receiver is told apart. */
  static final int MAGIC = 0x4C535450; // "LSTP"

  // Group message types.
  static final byte COMMIT = 1;
  static final byte PROGRESS = 2;
  static final byte PROGRESS_REQUEST = 3;
  static final byte REQUEST = 4;
  static final byte REPLY = 5;
  static final byte ANNOUNCE = 6;
  static final byte WITHDRAW = 7;
  static final byte LEADER = 8;
  static final byte WHO_ARE_YOU = 9;

  // Reply outcomes.
  static final byte OK = 0;
  static final byte NOT_LEADER = 1;
  static final byte FAILED = 2;

  /** Builds one byte form. */
  static final class Out {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    private final DataOutputStream out = new DataOutputStream(bytes);

    Out tag(byte b) {
      return run(() -> out.writeByte(b));
    }

    Out message(byte type) {
      return run(
          () -> {
            out.writeInt(MAGIC);
            out.writeByte(type);
          });
    }

    Out i64(long v) {
      return run(() -> out.writeLong(v));
    }

    Out i32(int v) {
      return run(() -> out.writeInt(v));
    }

    Out bool(boolean v) {
      return run(() -> out.writeBoolean(v));
    }

    Out str(String s) {
      return bytes(s.getBytes(StandardCharsets.UTF_8));
    }

    Out bytes(byte[] b) {
      return run(
          () -> {
            out.writeInt(b.length);
            out.write(b);
          });
    }

    /** An address, or null. */
    Out address(org.jgroups.Address a) {
      return run(() -> org.jgroups.util.Util.writeAddress(a, out));
    }

    Out entry(Versioned v) {
      return str(v.key()).str(v.contentType()).i64(v.modRevision()).bytes(v.value());
    }

    byte[] toBytes() {
      return bytes.toByteArray();
    }

    private Out run(IoAction a) {
      try {
        a.run();
      } catch (IOException e) {
        throw new UncheckedIOException(e); // a byte array never fails
      }
      return this;
    }
  }

  /** Reads one byte form. */
  static final class In {
    private final DataInput in;

    In(byte[] b, int offset, int length) {
      this.in = new DataInputStream(new ByteArrayInputStream(b, offset, length));
    }

    In(DataInput in) {
      this.in = in;
    }

    byte tag() throws IOException {
      return in.readByte();
    }

    long i64() throws IOException {
      return in.readLong();
    }

    int i32() throws IOException {
      return in.readInt();
    }

    boolean bool() throws IOException {
      return in.readBoolean();
    }

    String str() throws IOException {
      return new String(bytes(), StandardCharsets.UTF_8);
    }

    /** A string, or null at the end of the input (a field older versions did not write). */
    String optionalStr() throws IOException {
      try {
        return str();
      } catch (java.io.EOFException end) {
        return null;
      }
    }

    byte[] bytes() throws IOException {
      int n = in.readInt();
      if (n < 0) {
        throw new IOException("negative length " + n);
      }
      byte[] b = new byte[n];
      in.readFully(b);
      return b;
    }

    org.jgroups.Address address() throws IOException {
      try {
        return org.jgroups.util.Util.readAddress(in);
      } catch (ClassNotFoundException e) {
        throw new IOException(e);
      }
    }

    Versioned entry() throws IOException {
      String key = str();
      String type = str();
      long rev = i64();
      return new Versioned(key, bytes(), type, rev);
    }

    /** The rest of a {@link #COMMIT} message, after its revision. */
    Change change(long revision) throws IOException {
      byte kind = tag();
      String key = str();
      if (kind == PUT) {
        String contentType = str();
        return Change.put(new Versioned(key, bytes(), contentType, revision));
      }
      return Change.delete(key);
    }
  }

  static Out out() {
    return new Out();
  }

  /** The message type of a group message, or -1 when the bytes are not one. */
  static byte messageType(byte[] b, int offset, int length) {
    if (length < 5) {
      return -1;
    }
    int m =
        ((b[offset] & 0xff) << 24)
            | ((b[offset + 1] & 0xff) << 16)
            | ((b[offset + 2] & 0xff) << 8)
            | (b[offset + 3] & 0xff);
    return m == MAGIC ? b[offset + 4] : -1;
  }

  /** Reads a group message's body, after its magic and type. */
  static In body(byte[] b, int offset, int length) {
    return new In(b, offset + 5, length - 5);
  }

  // Commands, as the instance that submits them writes them.

  static byte[] putCommand(String key, long expectedRevision, String contentType, byte[] value) {
    return out().tag(PUT).str(key).i64(expectedRevision).str(contentType).bytes(value).toBytes();
  }

  static byte[] deleteCommand(String key, long expectedRevision) {
    return out().tag(DELETE).str(key).i64(expectedRevision).toBytes();
  }

  static byte[] getCommand(String key) {
    return out().tag(GET).str(key).toBytes();
  }

  /**
   * A listing; {@code candidateEpoch} becomes the map's history id when the log has none yet (the
   * first listing of a new group, see {@link MapStateMachine}).
   */
  static byte[] listCommand(String candidateEpoch) {
    return out().tag(LIST).str(candidateEpoch).toBytes();
  }

  static byte[] counterAddCommand(String name, long delta) {
    return out().tag(COUNTER_ADD).str(name).i64(delta).toBytes();
  }

  /**
   * {@code command} applied at most once per request id: the state machine remembers the id's
   * digest with the request's fingerprint and its answer.
   */
  static byte[] onceCommand(String requestId, String fingerprint, byte[] command) {
    return out()
        .tag(ONCE)
        .str(RequestIds.digest(requestId))
        .str(fingerprint)
        .bytes(command)
        .toBytes();
  }

  /** The answer to a {@link #ONCE} entry: how, and the command's answer (null when REUSED). */
  record Once(byte how, byte @Nullable [] answer) {}

  static Once once(byte[] b) {
    try {
      In in = new In(b, 0, b.length);
      byte how = in.tag();
      return new Once(how, how == REUSED ? null : in.bytes());
    } catch (IOException e) {
      throw new IllegalStateException("unreadable answer from the leader", e);
    }
  }

  static byte[] noopCommand() {
    return out().tag(NOOP).toBytes();
  }

  static byte[] counterGetCommand(String name) {
    return out().tag(COUNTER_GET).str(name).toBytes();
  }

  // The leader's answers to commands, as the instance that submitted them reads them.

  /** The answer to a {@link #PUT} or a {@link #DELETE}. */
  static WriteResult writeResult(byte[] b) {
    try {
      In in = new In(b, 0, b.length);
      byte status = in.tag();
      long rev = in.i64();
      return switch (status) {
        case APPLIED -> WriteResult.applied(rev);
        case NOT_FOUND -> WriteResult.notFound(rev);
        case CONFLICT -> WriteResult.conflict(rev, in.bool() ? in.entry() : null);
        default -> throw new IOException("unknown write status " + status);
      };
    } catch (IOException e) {
      throw new IllegalStateException("unreadable write answer from the leader", e);
    }
  }

  /** The answer to a {@link #LIST}. */
  static Snapshot listing(byte[] b) {
    try {
      In in = new In(b, 0, b.length);
      long rev = in.i64();
      int n = in.i32();
      List<Versioned> entries = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        entries.add(in.entry());
      }
      String epoch = in.optionalStr();
      return new Snapshot(rev, entries, epoch == null ? Snapshot.NO_EPOCH : epoch);
    } catch (IOException e) {
      throw new IllegalStateException("unreadable listing from the leader", e);
    }
  }

  /** The answer to a {@link #GET}. */
  static StrongRead strongRead(byte[] b) {
    try {
      In in = new In(b, 0, b.length);
      long rev = in.i64();
      return new StrongRead(in.bool() ? in.entry() : null, rev);
    } catch (IOException e) {
      throw new IllegalStateException("unreadable read answer from the leader", e);
    }
  }

  /** The answer to a {@link #COUNTER_ADD} or a {@link #COUNTER_GET}. */
  static long counterValue(byte[] b) {
    try {
      return new In(b, 0, b.length).i64();
    } catch (IOException e) {
      throw new IllegalStateException("unreadable counter answer from the leader", e);
    }
  }

  // Group messages.

  /** A command for the leader, from another instance. */
  static byte[] request(long reqId, byte[] command) {
    return out().message(REQUEST).i64(reqId).bytes(command).toBytes();
  }

  /** The leader's answer to a {@link #REQUEST}: the state machine's answer. */
  static byte[] replyOk(long reqId, byte[] answer) {
    return out().message(REPLY).i64(reqId).tag(OK).bytes(answer).toBytes();
  }

  /**
   * The answer to a {@link #REQUEST} that reached an instance that does not lead: who does, or
   * null.
   */
  static byte[] replyNotLeader(long reqId, org.jgroups.Address leader) {
    return out().message(REPLY).i64(reqId).tag(NOT_LEADER).address(leader).toBytes();
  }

  /** The leader's answer to a {@link #REQUEST} that failed in Raft. */
  static byte[] replyFailed(long reqId, String error, boolean mayHaveCommitted) {
    return out().message(REPLY).i64(reqId).tag(FAILED).str(error).bool(mayHaveCommitted).toBytes();
  }

  /** The leader says it leads. */
  static byte[] leader() {
    return out().message(LEADER).toBytes();
  }

  /** An instance asks the leader for a {@link #PROGRESS} mark. */
  static byte[] progressRequest() {
    return out().message(PROGRESS_REQUEST).toBytes();
  }

  /** Writes a list of entries for a snapshot or a listing. */
  static void writeEntries(DataOutput out, long revision, Iterable<Versioned> entries, int count)
      throws IOException {
    out.writeLong(revision);
    out.writeInt(count);
    Out o = new Out();
    for (Versioned v : entries) {
      o.bytes.reset();
      o.entry(v);
      out.write(o.toBytes());
    }
  }

  private interface IoAction {
    void run() throws IOException;
  }
}
