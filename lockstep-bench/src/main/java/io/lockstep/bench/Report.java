package io.lockstep.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/** The locust-style table, and the same figures as CSV and JSON. */
public final class Report {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  static final List<String> COLUMNS =
      List.of(
          "Type",
          "Name",
          "# requests",
          "# failures",
          "Median (ms)",
          "Average (ms)",
          "Min (ms)",
          "Max (ms)",
          "p95 (ms)",
          "p99 (ms)",
          "req/s");

  private Report() {}

  /** One line of figures. */
  public record Line(
      String type,
      String name,
      long requests,
      long failures,
      double median,
      double average,
      double min,
      double max,
      double p95,
      double p99,
      double rps) {}

  /** Every row, then the aggregated row last. */
  public static List<Line> lines(RequestStats stats, double seconds) {
    List<Line> out = new ArrayList<>();
    for (RequestStats.Row r : stats.rows()) {
      out.add(line(r.type(), r.name(), r.histogram(), r.failures(), seconds));
    }
    out.add(line("", "Aggregated", stats.aggregate(), stats.totalFailures(), seconds));
    return out;
  }

  private static Line line(String type, String name, Histogram h, long failures, double seconds) {
    long n = h.getTotalCount();
    return new Line(
        type,
        name,
        n,
        failures,
        ms(h.getValueAtPercentile(50)),
        n == 0 ? 0 : h.getMean() / 1000.0,
        n == 0 ? 0 : ms(h.getMinValue()),
        ms(h.getMaxValue()),
        ms(h.getValueAtPercentile(95)),
        ms(h.getValueAtPercentile(99)),
        seconds > 0 ? n / seconds : 0);
  }

  private static double ms(long micros) {
    return micros / 1000.0;
  }

  /** The table, as locust prints it, with p95, p99 and req/s added. */
  public static String table(BenchResult result) {
    List<Line> lines = lines(result.stats(), result.elapsed().toNanos() / 1e9);
    int nameWidth = Math.max(10, lines.stream().mapToInt(l -> l.name().length()).max().orElse(10));
    String head = "%-7s %-" + nameWidth + "s %11s %11s %12s %13s %9s %9s %9s %9s %9s%n";
    String row =
        "%-7s %-" + nameWidth + "s %11d %11s %12.2f %13.2f %9.2f %9.2f %9.2f %9.2f %9.1f%n";
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, head, COLUMNS.toArray()));
    sb.append("-".repeat(7 + nameWidth + 11 * 2 + 12 + 13 + 9 * 5 + 10)).append('\n');
    for (int i = 0; i < lines.size(); i++) {
      Line l = lines.get(i);
      if (i == lines.size() - 1) {
        sb.append("-".repeat(7 + nameWidth + 11 * 2 + 12 + 13 + 9 * 5 + 10)).append('\n');
      }
      String fails =
          l.failures()
              + (l.requests() > 0
                  ? String.format(Locale.ROOT, "(%.2f%%)", 100.0 * l.failures() / l.requests())
                  : "");
      sb.append(
          String.format(
              Locale.ROOT,
              row,
              l.type(),
              l.name(),
              l.requests(),
              fails,
              l.median(),
              l.average(),
              l.min(),
              l.max(),
              l.p95(),
              l.p99(),
              l.rps()));
    }
    return sb.toString();
  }

  /** Writes {@code bench.csv} and {@code bench.json} into {@code dir}. */
  public static void write(BenchResult result, Path dir, ObjectNode extra) throws IOException {
    Files.createDirectories(dir);
    double seconds = result.elapsed().toNanos() / 1e9;
    List<Line> lines = lines(result.stats(), seconds);
    StringBuilder csv = new StringBuilder(String.join(",", COLUMNS)).append('\n');
    for (Line l : lines) {
      csv.append(
          String.format(
              Locale.ROOT,
              "%s,\"%s\",%d,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.2f%n",
              l.type(),
              l.name().replace("\"", "\"\""),
              l.requests(),
              l.failures(),
              l.median(),
              l.average(),
              l.min(),
              l.max(),
              l.p95(),
              l.p99(),
              l.rps()));
    }
    Files.writeString(dir.resolve("bench.csv"), csv, StandardCharsets.UTF_8);
    ObjectNode root = JSON.createObjectNode();
    BenchConfig c = result.config();
    ObjectNode cfg = root.putObject("config");
    ArrayNode targets = cfg.putArray("targets");
    c.targets().forEach(t -> targets.add(t.toString()));
    cfg.put("users", c.users())
        .put("spawnRate", c.spawnRate())
        .put("durationSeconds", c.duration().toSeconds())
        .put("seed", c.seed())
        .put("scenario", c.scenario().name().toLowerCase(Locale.ROOT))
        .put("thinkMinMillis", c.thinkMin().toMillis())
        .put("thinkMaxMillis", c.thinkMax().toMillis())
        .put("readYourWrites", c.readYourWrites());
    root.put("elapsedSeconds", seconds);
    root.put("usersStarted", result.usersStarted());
    root.set("rows", JSON.valueToTree(lines));
    root.put("readsChecked", result.readsChecked());
    ArrayNode v = root.putArray("violations");
    result.violations().forEach(x -> v.add(x.toString()));
    root.put("passed", result.passed());
    if (extra != null) {
      root.setAll(extra);
    }
    Files.writeString(
        dir.resolve("bench.json"), JSON.writeValueAsString(root), StandardCharsets.UTF_8);
  }
}
