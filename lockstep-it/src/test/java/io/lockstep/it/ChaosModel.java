package io.lockstep.it;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the chaos clients were told, and what that allows the source to hold afterwards. Each key is
 * written by one client only, so its operations are in the order that client sent them.
 *
 * <p>An answer is one of three outcomes: {@link Outcome#CERTAIN} (200, 204, a 404 on a delete
 * (nothing to delete: absent), a 504 {@code timeout} on a write, which says it is committed),
 * {@link Outcome#MAYBE} (a 503 saying "may or may not have been committed", no answer at all, or
 * any other surprise), and {@link Outcome#NONE} (a 412, a 503 that says nothing was made). The
 * source may then hold, per key, the outcome of the last certain operation, or that of any
 * ambiguous one (an ambiguous write may land after later certain ones, for example when a frozen
 * connection to the backend delivers it late). Counters: at least the acknowledged increments, at
 * most those plus the ambiguous ones.
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
  record Write(String op, String value, int status, Outcome outcome, long revision) {
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

  private final Map<String, List<Write>> writes = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> acked = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> ambiguous = new ConcurrentHashMap<>();

  void key(String key) {
    writes.computeIfAbsent(key, k -> new ArrayList<>());
  }

  void write(String key, Write w) {
    List<Write> list = writes.computeIfAbsent(key, k -> new ArrayList<>());
    synchronized (list) {
      list.add(w);
    }
  }

  void increment(String counter, Outcome outcome) {
    Map<String, AtomicLong> m = outcome == Outcome.CERTAIN ? acked : ambiguous;
    if (outcome != Outcome.NONE) {
      m.computeIfAbsent(counter, c -> new AtomicLong()).incrementAndGet();
    }
    acked.computeIfAbsent(counter, c -> new AtomicLong());
  }

  Set<String> keys() {
    return writes.keySet();
  }

  Set<String> counters() {
    return acked.keySet();
  }

  long acked(String counter) {
    return acked.getOrDefault(counter, new AtomicLong()).get();
  }

  long ambiguous(String counter) {
    return ambiguous.getOrDefault(counter, new AtomicLong()).get();
  }

  /** The values (null: absent) the source may hold for {@code key}. */
  Set<String> allowed(String key) {
    List<Write> list = writes.getOrDefault(key, List.of());
    Set<String> out = new HashSet<>();
    String lastCertain = null; // every key starts absent
    synchronized (list) {
      for (Write w : list) {
        if (w.outcome() == Outcome.CERTAIN) {
          lastCertain = w.value();
        } else if (w.outcome() == Outcome.MAYBE) {
          out.add(w.value());
        }
      }
    }
    out.add(lastCertain);
    return out;
  }

  /**
   * The revision the source must hold {@code key} at when it holds {@code value}, the value of the
   * last certain write: the revision that write answered (-1: not known, or another value).
   */
  long revisionOf(String key, String value) {
    List<Write> list = writes.getOrDefault(key, List.of());
    synchronized (list) {
      for (int i = list.size() - 1; i >= 0; i--) {
        Write w = list.get(i);
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
