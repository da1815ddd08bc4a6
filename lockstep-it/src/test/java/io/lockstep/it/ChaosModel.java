package io.lockstep.it;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the chaos clients were told, and what that allows the source to hold afterwards. Each key is
 * written by one client only, so its operations are in the order that client sent them.
 *
 * <p>An answer is one of three outcomes: {@link Outcome#CERTAIN} (200, 204, a 404 on a delete
 * (nothing to delete: absent), a 504 {@code timeout} on a write, which says it is committed),
 * {@link Outcome#MAYBE} (a 500 {@code outcome_unknown}, no answer at all, or any other surprise),
 * and {@link Outcome#NONE} (a 412, a 503 that says nothing was made). The source may then hold, per
 * key, the outcome of the last certain operation, or that of any ambiguous one (an ambiguous write
 * may land after later certain ones, for example when a frozen connection to the backend delivers
 * it late). Counters: at least the acknowledged increments, at most those plus the ambiguous ones.
 *
 * <p>A fault that resets the source's history (Redis restarted without its data, etcd restored from
 * an older snapshot) is recorded with {@link #reset(long)}: every operation sent before it may have
 * been lost, so the source may then hold any value the key ever had, or none, until a later certain
 * write; a counter may have lost every increment sent before it. Operations carry the {@link
 * System#nanoTime()} they were sent at, so one in flight across a reset counts as before it.
 *
 * <p>Thread safe: one client appends to a key's list, the checks run after every client stopped.
 */
final class ChaosModel {
  enum Outcome {
    CERTAIN,
    MAYBE,
    NONE
  }

  /**
   * One write, as sent and as answered; {@code value} null for a delete, {@code revision} the
   * committed one it answered, or -1.
   */
  record Write(String op, String value, int status, Outcome outcome, long revision, long sent) {
    @Override
    public String toString() {
      return op
          + (value == null ? "" : " " + value)
          + " -> "
          + status
          + " "
          + outcome
          + (revision < 0 ? "" : " at " + revision);
    }
  }

  /** One counter increment: when it was sent, and how it was answered. */
  record Increment(long sent, Outcome outcome) {}

  private final Map<String, List<Write>> writes = new ConcurrentHashMap<>();
  private final Map<String, List<Increment>> increments = new ConcurrentHashMap<>();
  private final List<Long> resets = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** The source's history was reset at {@code at} ({@link System#nanoTime()}, fault healed). */
  void reset(long at) {
    resets.add(at);
  }

  boolean hadResets() {
    return !resets.isEmpty();
  }

  private long lastReset() {
    return resets.stream().mapToLong(Long::longValue).max().orElse(Long.MIN_VALUE);
  }

  void key(String key) {
    writes.computeIfAbsent(key, k -> new ArrayList<>());
  }

  void write(String key, Write w) {
    List<Write> list = writes.computeIfAbsent(key, k -> new ArrayList<>());
    synchronized (list) {
      list.add(w);
    }
  }

  void increment(String counter, long sent, Outcome outcome) {
    increments
        .computeIfAbsent(counter, c -> java.util.Collections.synchronizedList(new ArrayList<>()))
        .add(new Increment(sent, outcome));
  }

  Set<String> keys() {
    return writes.keySet();
  }

  Set<String> counters() {
    return increments.keySet();
  }

  /** The least the counter may hold: certain increments sent after the last reset. */
  long atLeast(String counter) {
    long after = lastReset();
    return count(counter, i -> i.outcome() == Outcome.CERTAIN && i.sent() > after);
  }

  /** The most the counter may hold: every certain or ambiguous increment. */
  long atMost(String counter) {
    return count(counter, i -> i.outcome() != Outcome.NONE);
  }

  private long count(String counter, java.util.function.Predicate<Increment> which) {
    List<Increment> list = increments.getOrDefault(counter, List.of());
    synchronized (list) {
      return list.stream().filter(which).count();
    }
  }

  /** The values (null: absent) the source may hold for {@code key}. */
  Set<String> allowed(String key) {
    List<Write> list = writes.getOrDefault(key, List.of());
    Set<String> out = new HashSet<>(); // ambiguous writes, which may land at any time
    Set<String> ever = new HashSet<>(); // every value sent so far, and absent
    ever.add(null);
    Set<String> last = new HashSet<>(); // the last certain outcome, or what a reset left
    last.add(null); // every key starts absent
    List<Long> pending = new ArrayList<>(resets);
    pending.sort(null);
    synchronized (list) {
      for (Write w : list) {
        while (!pending.isEmpty() && pending.get(0) < w.sent()) {
          pending.remove(0);
          last.addAll(ever); // a reset may have taken the key back to any earlier state
        }
        ever.add(w.value());
        if (w.outcome() == Outcome.CERTAIN) {
          last = new HashSet<>();
          last.add(w.value());
        } else if (w.outcome() == Outcome.MAYBE) {
          out.add(w.value());
        }
      }
    }
    if (!pending.isEmpty()) {
      last.addAll(ever);
    }
    out.addAll(last);
    return out;
  }

  /**
   * The revision the source must hold {@code key} at when it holds {@code value}, the value of the
   * last certain write: the revision that write answered (-1: not known, or another value).
   */
  long revisionOf(String key, String value) {
    List<Write> list = writes.getOrDefault(key, List.of());
    long after = lastReset();
    synchronized (list) {
      for (int i = list.size() - 1; i >= 0; i--) {
        Write w = list.get(i);
        if (w.sent() < after) {
          return -1; // a reset came after it: the source may have rewritten the key at any revision
        }
        if (w.outcome() == Outcome.CERTAIN) {
          return w.value() != null && w.value().equals(value) ? w.revision() : -1;
        }
      }
    }
    return -1;
  }

  /** The key's operations in order, for failure messages. */
  String history(String key) {
    List<Write> list = writes.getOrDefault(key, List.of());
    synchronized (list) {
      return String.join("\n    ", list.stream().map(Write::toString).toList());
    }
  }

  /** How many answers of each outcome and status (-1: none), for the run's summary line. */
  Map<String, Integer> tally() {
    Map<String, Integer> t = new java.util.TreeMap<>();
    for (List<Write> list : writes.values()) {
      synchronized (list) {
        for (Write w : list) {
          t.merge(w.outcome() + "/" + w.status(), 1, Integer::sum);
        }
      }
    }
    return t;
  }
}
