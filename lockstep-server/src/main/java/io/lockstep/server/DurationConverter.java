package io.lockstep.server;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Reads durations as people write them: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}, or
 * ISO-8601 ({@code PT10S}). A bare number is refused, because its unit would be a guess.
 */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
  private static final Pattern SIMPLE = Pattern.compile("([0-9]{1,12})\\s*(ms|s|m|h)");

  @Override
  public Duration convert(String value) {
    return parse(value);
  }

  static Duration parse(String value) {
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
        // fall through
      }
    }
    throw new CommandLine.TypeConversionException("expected a duration such as 500ms, 10s, 2m or 1h, was '"
        + value + "'");
  }
}
