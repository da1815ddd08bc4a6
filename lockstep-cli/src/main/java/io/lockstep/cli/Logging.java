package io.lockstep.cli;

import java.util.Locale;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Every log of the process through slf4j (the binding is slf4j-simple, to stderr): {@code
 * System.Logger} (core, the server, the backends) by slf4j-jdk-platform-logging, found by the JDK
 * as a service; {@code java.util.logging} (JGroups, gRPC) by the {@link SLF4JBridgeHandler}
 * installed here; Jetty, Javalin, Lettuce and Micrometer log to slf4j themselves. {@link
 * #configure} must run before the first logger is made: slf4j-simple reads its level once.
 */
final class Logging {
  static final String LEVELS = "error, warn, info, debug, trace";

  private Logging() {}

  /**
   * Sets the level of every logger ({@code error}, {@code warn}, {@code info}, {@code debug} or
   * {@code trace}, any case) and bridges {@code java.util.logging} to slf4j.
   *
   * @throws IllegalArgumentException for another level
   */
  static void configure(String level) {
    String l = level == null ? "" : level.strip().toLowerCase(Locale.ROOT);
    Level jul =
        switch (l) {
          case "error" -> Level.SEVERE;
          case "warn" -> Level.WARNING;
          case "info" -> Level.INFO;
          case "debug" -> Level.FINE;
          case "trace" -> Level.FINEST;
          default ->
              throw new IllegalArgumentException(
                  "must be one of " + LEVELS + ", was '" + level + "'");
        };
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", l);
    LogManager.getLogManager().reset();
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
    Logger.getLogger("").setLevel(jul); // j.u.l. drops what is below its level before the bridge
  }
}
