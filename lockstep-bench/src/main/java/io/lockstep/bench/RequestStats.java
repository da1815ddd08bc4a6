package io.lockstep.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Response times and failures per request type and name, as locust reports them. Times are recorded
 * in microseconds with HdrHistogram (3 significant digits). Thread safe.
 */
public final class RequestStats {

  /** One row of the table. */
  public static final class Row {
    final String type;
    final String name;
    final Histogram histogram = new ConcurrentHistogram(3);
    final LongAdder failures = new LongAdder();

    Row(String type, String name) {
      this.type = type;
      this.name = name;
    }

    public String type() {
      return type;
    }

    public String name() {
      return name;
    }

    public long requests() {
      return histogram.getTotalCount();
    }

    public long failures() {
      return failures.sum();
    }

    public Histogram histogram() {
      return histogram;
    }
  }

  private final ConcurrentHashMap<String, Row> rows = new ConcurrentHashMap<>();
  private final LongAdder total = new LongAdder();
  private final LongAdder failed = new LongAdder();

  /** Records one request; {@code failure} marks it as failed. */
  public void record(String type, String name, long micros, boolean failure) {
    Row r = rows.computeIfAbsent(type + " " + name, k -> new Row(type, name));
    r.histogram.recordValue(Math.max(1, micros));
    total.increment();
    if (failure) {
      r.failures.increment();
      failed.increment();
    }
  }

  public long totalRequests() {
    return total.sum();
  }

  public long totalFailures() {
    return failed.sum();
  }

  /** The rows sorted by name, then type. */
  public List<Row> rows() {
    List<Row> out = new ArrayList<>(rows.values());
    out.sort(Comparator.comparing(Row::name).thenComparing(Row::type));
    return out;
  }

  /** Every row's histogram added up. */
  public Histogram aggregate() {
    Histogram all = new Histogram(3);
    for (Row r : rows.values()) {
      all.add(r.histogram);
    }
    return all;
  }
}
