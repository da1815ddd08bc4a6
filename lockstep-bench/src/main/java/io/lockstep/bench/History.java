package io.lockstep.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Every read from memory that bench observed, and the checks over them. Thread safe to record.
 *
 * <p>Order between two reads on one instance is real time: read B comes after read A only when B
 * was sent after A's answer arrived. Overlapping reads are not ordered. The checks:
 *
 * <ul>
 *   <li><b>Monotonic reads per instance and key.</b> After an instance returned revision M of a
 *       key, it never returns an older one; after it answered "absent" at applied revision A, it
 *       never returns a revision at or below A; after returning revision M it never answers
 *       "absent" at an applied revision below M.
 *   <li><b>Monotonic applied revision per instance</b> ({@code X-Lockstep-Applied}).
 *   <li><b>Session reads.</b> A read with {@code min_revision=R} answers at applied revision R or
 *       later; when R is the reader's own last write of the key, a put must be seen at R or newer,
 *       a delete as absent.
 * </ul>
 */
public final class History {

  /** What a session read expects after the reader's own write at its {@code min_revision}. */
  public enum Expect {
    NOTHING,
    PRESENT,
    ABSENT
  }

  /**
   * One read from memory.
   *
   * @param instance the instance's URL
   * @param key the key
   * @param startNanos when the request was sent
   * @param endNanos when its answer arrived
   * @param modRevision the key's revision, or -1 when the answer was 404
   * @param applied the instance's applied revision as it reported it, or -1
   * @param minRevision the {@code min_revision} sent, or -1
   * @param expect what the reader's own last write at {@code minRevision} implies
   */
  public record Read(
      String instance,
      String key,
      long startNanos,
      long endNanos,
      long modRevision,
      long applied,
      long minRevision,
      Expect expect) {}

  /** A broken promise, readable. */
  public record Violation(String instance, String key, String what) {
    @Override
    public String toString() {
      return "instance " + instance + ", key " + key + ": " + what;
    }
  }

  private final ConcurrentLinkedQueue<Read> reads = new ConcurrentLinkedQueue<>();

  public void record(Read r) {
    reads.add(r);
  }

  public int size() {
    return reads.size();
  }

  /** Runs every check; an empty list means all held. */
  public List<Violation> check() {
    List<Violation> out = new ArrayList<>();
    Map<String, List<Read>> byInstance = new HashMap<>();
    Map<String, List<Read>> byInstanceKey = new HashMap<>();
    for (Read r : reads) {
      byInstance.computeIfAbsent(r.instance(), k -> new ArrayList<>()).add(r);
      byInstanceKey
          .computeIfAbsent(r.instance() + "\u0000" + r.key(), k -> new ArrayList<>())
          .add(r);
      checkSession(r, out);
    }
    for (List<Read> list : byInstance.values()) {
      checkApplied(list, out);
    }
    for (List<Read> list : byInstanceKey.values()) {
      checkKey(list, out);
    }
    return out;
  }

  private static void checkSession(Read r, List<Violation> out) {
    if (r.minRevision() < 0) {
      return;
    }
    if (r.applied() >= 0 && r.applied() < r.minRevision()) {
      out.add(
          new Violation(
              r.instance(),
              r.key(),
              "read with min_revision="
                  + r.minRevision()
                  + " answered at applied revision "
                  + r.applied()));
    }
    if (r.expect() == Expect.PRESENT && r.modRevision() < r.minRevision()) {
      out.add(
          new Violation(
              r.instance(),
              r.key(),
              "read with min_revision="
                  + r.minRevision()
                  + " after the reader's own put at that revision returned "
                  + (r.modRevision() < 0 ? "404" : "revision " + r.modRevision())));
    }
    if (r.expect() == Expect.ABSENT && r.modRevision() >= 0 && r.modRevision() < r.minRevision()) {
      out.add(
          new Violation(
              r.instance(),
              r.key(),
              "read with min_revision="
                  + r.minRevision()
                  + " after the reader's own delete at that revision returned revision "
                  + r.modRevision()));
    }
  }

  /** Sweeps reads by start time against the reads that had ended before. */
  private static void checkApplied(List<Read> list, List<Violation> out) {
    List<Read> byStart = new ArrayList<>(list);
    byStart.sort(Comparator.comparingLong(Read::startNanos));
    List<Read> byEnd = new ArrayList<>(list);
    byEnd.sort(Comparator.comparingLong(Read::endNanos));
    int e = 0;
    Read maxApplied = null;
    for (Read b : byStart) {
      while (e < byEnd.size() && byEnd.get(e).endNanos() < b.startNanos()) {
        Read a = byEnd.get(e++);
        if (maxApplied == null || a.applied() > maxApplied.applied()) {
          maxApplied = a;
        }
      }
      if (maxApplied != null && b.applied() >= 0 && b.applied() < maxApplied.applied()) {
        out.add(
            new Violation(
                b.instance(),
                b.key(),
                "applied revision went back from "
                    + maxApplied.applied()
                    + " (reading "
                    + maxApplied.key()
                    + ") to "
                    + b.applied()));
      }
    }
  }

  private static void checkKey(List<Read> list, List<Violation> out) {
    List<Read> byStart = new ArrayList<>(list);
    byStart.sort(Comparator.comparingLong(Read::startNanos));
    List<Read> byEnd = new ArrayList<>(list);
    byEnd.sort(Comparator.comparingLong(Read::endNanos));
    int e = 0;
    long maxSeen = -1; // newest revision returned before
    long maxAbsentAt = -1; // highest applied revision at which the key was reported absent
    for (Read b : byStart) {
      while (e < byEnd.size() && byEnd.get(e).endNanos() < b.startNanos()) {
        Read a = byEnd.get(e++);
        if (a.modRevision() >= 0) {
          maxSeen = Math.max(maxSeen, a.modRevision());
        } else if (a.applied() >= 0) {
          maxAbsentAt = Math.max(maxAbsentAt, a.applied());
        }
      }
      if (b.modRevision() >= 0) {
        if (b.modRevision() < maxSeen) {
          out.add(
              new Violation(
                  b.instance(),
                  b.key(),
                  "returned revision "
                      + b.modRevision()
                      + " after it had returned revision "
                      + maxSeen));
        } else if (b.modRevision() <= maxAbsentAt) {
          out.add(
              new Violation(
                  b.instance(),
                  b.key(),
                  "returned revision "
                      + b.modRevision()
                      + " after it had answered 404 at applied revision "
                      + maxAbsentAt));
        }
      } else if (b.applied() >= 0 && b.applied() < maxSeen) {
        out.add(
            new Violation(
                b.instance(),
                b.key(),
                "answered 404 at applied revision "
                    + b.applied()
                    + " after it had returned revision "
                    + maxSeen));
      }
    }
  }
}
