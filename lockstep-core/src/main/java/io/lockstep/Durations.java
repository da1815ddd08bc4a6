package io.lockstep;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one duration grammar of Lockstep, shared by the command line, the HTTP API and every backend
 * URI: a whole number with a unit, {@code 500ms}, {@code 10s}, {@code 2m} or {@code 1h}, or
 * ISO-8601 ({@code PT10S}). A bare number is refused, because its unit would be a guess.
 */
public final class Durations {
  private static final Pattern SIMPLE = Pattern.compile("([0-9]{1,12})\\s*(ms|s|m|h)");

  private Durations() {}

  /**
   * Parses {@code value}.
   *
   * @throws IllegalArgumentException when it is not a duration in this grammar; the message shows
   *     the grammar and the value
   */
  public static Duration parse(String value) {
    String s = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
    Matcher m = SIMPLE.matcher(s);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        default -> Duration.ofHours(n);
      };
    }
    if (s.startsWith("pt")) {
      try {
        return Duration.parse(s.toUpperCase(Locale.ROOT));
      } catch (DateTimeParseException e) {
        // reported below
      }
    }
    if (!s.isEmpty() && s.chars().allMatch(Character::isDigit)) {
      throw new IllegalArgumentException(
          "'"
              + value
              + "' needs a unit, such as "
              + s
              + "s or "
              + s
              + "ms (durations are written 500ms, 10s, 2m or 1h)");
    }
    throw new IllegalArgumentException(
        "expected a duration such as 500ms, 10s, 2m or 1h, was '" + value + "'");
  }

  /** Parses {@code value} and requires it to be positive. */
  public static Duration parsePositive(String value) {
    Duration d = parse(value);
    if (d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException("must be positive, was '" + value + "'");
    }
    return d;
  }
}
