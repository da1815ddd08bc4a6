package io.lockstep.peer;

import io.lockstep.Versioned;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

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
      return run(() -> {
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
      return run(() -> {
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
  }

  static Out out() {
    return new Out();
  }

  /** The message type of a group message, or -1 when the bytes are not one. */
  static byte messageType(byte[] b, int offset, int length) {
    if (length < 5) {
      return -1;
    }
    int m = ((b[offset] & 0xff) << 24) | ((b[offset + 1] & 0xff) << 16) | ((b[offset + 2] & 0xff) << 8) | (b[offset + 3] & 0xff);
    return m == MAGIC ? b[offset + 4] : -1;
  }

  /** Reads a group message's body, after its magic and type. */
  static In body(byte[] b, int offset, int length) {
    return new In(b, offset + 5, length - 5);
  }

  /** Writes a list of entries for a snapshot or a listing. */
  static void writeEntries(DataOutput out, long revision, Iterable<Versioned> entries, int count) throws IOException {
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
