package io.lockstep.cli;

import io.lockstep.Durations;
import java.time.Duration;
import picocli.CommandLine;

/** Reads durations for picocli in the one grammar of {@link Durations}. */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

  @Override
  public Duration convert(String value) {
    return parse(value);
  }

  static Duration parse(String value) {
    try {
      return Durations.parse(value);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.TypeConversionException(e.getMessage());
    }
  }
}
