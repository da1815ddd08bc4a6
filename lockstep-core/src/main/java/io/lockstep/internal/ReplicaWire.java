package io.lockstep.internal;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The body of {@code GET /_lockstep/replica} ({@link io.lockstep.FleetStatus#REPLICA_PATH}),
 * written and read by hand (core has no JSON library): {@code
 * {"member":"<id>","appliedRevision":N,"headRevision":M}}. The reader takes the fields in any
 * order, with any JSON whitespace, and ignores fields it does not know (a server may add some); it
 * refuses a body that is not one object, lacks a field, or gives a number that is not an integer.
 */
final class ReplicaWire {
  /** One answer. */
  record Answer(String member, long appliedRevision, long headRevision) {}

  private static final String STRING = "\"((?:[^\"\\\\\\x00-\\x1f]|\\\\.)*)\"";
  private static final Pattern MEMBER = field("member", STRING);
  private static final Pattern APPLIED = field("appliedRevision", "(-?(?:0|[1-9][0-9]{0,18}))");
  private static final Pattern HEAD = field("headRevision", "(-?(?:0|[1-9][0-9]{0,18}))");

  /**
   * The field {@code name} with a value matching {@code value}, right after the object's opening
   * brace or a comma, and followed by a comma or the closing brace (so {@code
   * "appliedRevision":12x} and {@code "xappliedRevision"} do not match).
   */
  private static Pattern field(String name, String value) {
    return Pattern.compile("[{,]\\s*\"" + name + "\"\\s*:\\s*" + value + "(?=\\s*[,}])");
  }

  private ReplicaWire() {}

  /** The body for this answer. */
  static String write(String member, long appliedRevision, long headRevision) {
    return "{\"member\":\""
        + EmbeddedListener.json(member)
        + "\",\"appliedRevision\":"
        + appliedRevision
        + ",\"headRevision\":"
        + headRevision
        + "}";
  }

  /**
   * Reads a body.
   *
   * @throws IllegalArgumentException when it is not the shape above, naming what is wrong
   */
  static Answer parse(String body) {
    String s = body.strip();
    if (!s.startsWith("{") || !s.endsWith("}")) {
      throw new IllegalArgumentException("not a JSON object: " + excerpt(s));
    }
    String member = unescape(group(MEMBER, s, "member"));
    long applied = number(group(APPLIED, s, "appliedRevision"), "appliedRevision");
    long head = number(group(HEAD, s, "headRevision"), "headRevision");
    return new Answer(member, applied, head);
  }

  private static String group(Pattern p, String s, String name) {
    Matcher m = p.matcher(s);
    if (!m.find()) {
      throw new IllegalArgumentException("no valid \"" + name + "\" in " + excerpt(s));
    }
    String value = m.group(1);
    if (m.find()) {
      throw new IllegalArgumentException("\"" + name + "\" given twice in " + excerpt(s));
    }
    return value;
  }

  private static long number(String digits, String name) {
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("\"" + name + "\" out of range: " + digits, e);
    }
  }

  /** A JSON string's content, escapes resolved. */
  static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c != '\\') {
        b.append(c);
        continue;
      }
      if (++i == s.length()) {
        throw new IllegalArgumentException("a string ends in a lone backslash");
      }
      char e = s.charAt(i);
      switch (e) {
        case '"', '\\', '/' -> b.append(e);
        case 'b' -> b.append('\b');
        case 'f' -> b.append('\f');
        case 'n' -> b.append('\n');
        case 'r' -> b.append('\r');
        case 't' -> b.append('\t');
        case 'u' -> {
          if (i + 4 >= s.length() || !s.substring(i + 1, i + 5).matches("[0-9A-Fa-f]{4}")) {
            throw new IllegalArgumentException("a \\u escape needs four hex digits");
          }
          b.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
          i += 4;
        }
        default -> throw new IllegalArgumentException("unknown escape \\" + e);
      }
    }
    return b.toString();
  }

  private static String excerpt(String s) {
    return s.length() <= 120 ? s : s.substring(0, 120) + "...";
  }
}
