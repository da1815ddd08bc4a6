package io.lockstep.testkit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format, version 0.0.4 (as specified in the
 * Prometheus documentation, "Exposition formats"): {@code # HELP} and {@code # TYPE} lines, samples
 * {@code name{label="value",...} value [timestamp]}, label values with the escapes {@code \\},
 * {@code \"} and {@code \n}, values as Go floats ({@code NaN}, {@code +Inf}, {@code -Inf}). It
 * fails on anything else: a malformed line, a TYPE given twice or after the family's samples, an
 * unknown type, a family's samples split by another family's, a histogram without its {@code
 * _count}, {@code _sum} and {@code +Inf} bucket, buckets that decrease, the same sample twice.
 */
public final class PrometheusText {
  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
  private static final Pattern TYPE_LINE = Pattern.compile("# TYPE (\\S+) (\\S+)");
  private static final Pattern HELP_LINE = Pattern.compile("# HELP (\\S+)(?: (.*))?");
  private static final Set<String> TYPES =
      Set.of("counter", "gauge", "histogram", "summary", "untyped");

  /** One sample. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  /** One metric family: its name, type, help and samples. */
  public record Family(String name, String type, String help, List<Sample> samples) {

    /** The samples named {@code sampleName} whose labels include every one of {@code labels}. */
    public List<Sample> find(String sampleName, Map<String, String> labels) {
      List<Sample> out = new ArrayList<>();
      for (Sample s : samples) {
        if (s.name().equals(sampleName) && s.labels().entrySet().containsAll(labels.entrySet())) {
          out.add(s);
        }
      }
      return out;
    }

    /** The sum of the values of {@link #find}. */
    public double sum(String sampleName, Map<String, String> labels) {
      double sum = 0;
      for (Sample s : find(sampleName, labels)) {
        sum += s.value();
      }
      return sum;
    }
  }

  private PrometheusText() {}

  /** The families of {@code text}, by name, in order. */
  public static Map<String, Family> parse(String text) {
    Map<String, Family> families = new LinkedHashMap<>();
    Map<String, String> types = new LinkedHashMap<>();
    Map<String, String> helps = new LinkedHashMap<>();
    Set<String> closed = new java.util.HashSet<>(); // families whose samples ended
    Set<String> seen = new java.util.HashSet<>();
    String current = null;
    String[] lines = text.split("\n", -1);
    if (!text.isEmpty() && !text.endsWith("\n")) {
      throw new IllegalArgumentException("the text does not end with a line feed");
    }
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      String where = "line " + (i + 1) + ": '" + line + "': ";
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("#")) {
        Matcher t = TYPE_LINE.matcher(line);
        Matcher h = HELP_LINE.matcher(line);
        if (t.matches()) {
          String name = name(t.group(1), where);
          if (!TYPES.contains(t.group(2))) {
            throw new IllegalArgumentException(where + "unknown type " + t.group(2));
          }
          if (types.containsKey(name) || families.containsKey(name)) {
            throw new IllegalArgumentException(where + "TYPE again, or after the samples");
          }
          types.put(name, t.group(2));
        } else if (h.matches()) {
          String name = name(h.group(1), where);
          if (helps.put(name, h.group(2) == null ? "" : h.group(2)) != null) {
            throw new IllegalArgumentException(where + "HELP twice");
          }
        } else if (line.startsWith("# HELP") || line.startsWith("# TYPE")) {
          throw new IllegalArgumentException(where + "malformed HELP or TYPE");
        }
        continue;
      }
      Sample s = sample(line, where);
      String family = familyOf(s.name(), types);
      if (!family.equals(current)) {
        if (closed.contains(family)) {
          throw new IllegalArgumentException(where + "the samples of " + family + " are split");
        }
        if (current != null) {
          closed.add(current);
        }
        current = family;
      }
      if (!seen.add(s.name() + s.labels())) {
        throw new IllegalArgumentException(where + "the same sample twice");
      }
      Family f =
          families.computeIfAbsent(
              family,
              n ->
                  new Family(
                      n,
                      types.getOrDefault(n, "untyped"),
                      helps.getOrDefault(n, ""),
                      new ArrayList<>()));
      f.samples().add(s);
    }
    for (Family f : families.values()) {
      if (f.type().equals("histogram")) {
        checkHistogram(f);
      }
    }
    return families;
  }

  private static void checkHistogram(Family f) {
    Map<Map<String, String>, List<Sample>> bySeries = new LinkedHashMap<>();
    for (Sample s : f.samples()) {
      if (s.name().equals(f.name() + "_bucket")) {
        Map<String, String> series = new LinkedHashMap<>(s.labels());
        if (series.remove("le") == null) {
          throw new IllegalArgumentException(f.name() + ": a bucket without le: " + s);
        }
        bySeries.computeIfAbsent(series, k -> new ArrayList<>()).add(s);
      }
    }
    for (Map.Entry<Map<String, String>, List<Sample>> e : bySeries.entrySet()) {
      double last = -1;
      double lastLe = Double.NEGATIVE_INFINITY;
      boolean inf = false;
      for (Sample b : e.getValue()) {
        double le = value(b.labels().get("le"), f.name());
        if (le <= lastLe || b.value() < last) {
          throw new IllegalArgumentException(f.name() + ": buckets out of order at " + b);
        }
        lastLe = le;
        last = b.value();
        inf |= Double.isInfinite(le);
      }
      if (!inf) {
        throw new IllegalArgumentException(f.name() + e.getKey() + ": no +Inf bucket");
      }
      List<Sample> count = f.find(f.name() + "_count", e.getKey());
      if (count.isEmpty() || f.find(f.name() + "_sum", e.getKey()).isEmpty()) {
        throw new IllegalArgumentException(f.name() + e.getKey() + ": no _count or _sum");
      }
      if (count.get(0).value() != last) {
        throw new IllegalArgumentException(
            f.name() + e.getKey() + ": _count is not the +Inf bucket");
      }
    }
  }

  /** The family a sample belongs to: its own name, or the name without a histogram's suffix. */
  private static String familyOf(String sample, Map<String, String> types) {
    if (sample.endsWith("_total")
        && "counter".equals(types.get(sample.substring(0, sample.length() - 6)))) {
      return sample.substring(0, sample.length() - 6); // TYPE named without the suffix
    }
    for (String suffix : new String[] {"_bucket", "_count", "_sum"}) {
      if (sample.endsWith(suffix)) {
        String base = sample.substring(0, sample.length() - suffix.length());
        String type = types.get(base);
        if ("histogram".equals(type) || "summary".equals(type) && !suffix.equals("_bucket")) {
          return base;
        }
      }
    }
    return sample;
  }

  private static String name(String name, String where) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(where + "bad metric name " + name);
    }
    return name;
  }

  private static Sample sample(String line, String where) {
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = name(line.substring(0, i), where);
    Map<String, String> labels = new LinkedHashMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (line.charAt(i) != '}') {
        int eq = line.indexOf('=', i);
        if (eq < 0) {
          throw new IllegalArgumentException(where + "label without '='");
        }
        String label = line.substring(i, eq);
        if (!LABEL_NAME.matcher(label).matches()) {
          throw new IllegalArgumentException(where + "bad label name " + label);
        }
        if (eq + 1 >= line.length() || line.charAt(eq + 1) != '"') {
          throw new IllegalArgumentException(where + "label value not quoted");
        }
        StringBuilder v = new StringBuilder();
        int j = eq + 2;
        for (; ; j++) {
          if (j >= line.length()) {
            throw new IllegalArgumentException(where + "unterminated label value");
          }
          char c = line.charAt(j);
          if (c == '"') {
            break;
          }
          if (c == '\\') {
            char n = line.charAt(++j);
            switch (n) {
              case '\\' -> v.append('\\');
              case '"' -> v.append('"');
              case 'n' -> v.append('\n');
              default -> throw new IllegalArgumentException(where + "bad escape \\" + n);
            }
          } else {
            v.append(c);
          }
        }
        if (labels.put(label, v.toString()) != null) {
          throw new IllegalArgumentException(where + "label " + label + " twice");
        }
        i = j + 1;
        if (line.charAt(i) == ',') {
          i++;
        } else if (line.charAt(i) != '}') {
          throw new IllegalArgumentException(where + "expected ',' or '}'");
        }
      }
      i++;
    }
    if (i >= line.length() || line.charAt(i) != ' ') {
      throw new IllegalArgumentException(where + "no value");
    }
    String[] rest = line.substring(i + 1).split(" ", -1);
    if (rest.length > 2) {
      throw new IllegalArgumentException(where + "too many fields");
    }
    double value = value(rest[0], where);
    if (rest.length == 2 && !rest[1].matches("-?[0-9]+")) {
      throw new IllegalArgumentException(where + "bad timestamp " + rest[1]);
    }
    return new Sample(name, labels, value);
  }

  private static double value(String s, String where) {
    switch (s) {
      case "NaN":
        return Double.NaN;
      case "+Inf":
        return Double.POSITIVE_INFINITY;
      case "-Inf":
        return Double.NEGATIVE_INFINITY;
      default:
        if (!s.matches("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?")) {
          throw new IllegalArgumentException(where + "bad value " + s);
        }
        return Double.parseDouble(s);
    }
  }
}
