package io.lockstep.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the runnable server jar the harness starts. */
public final class ServerJar {
  private ServerJar() {}

  /**
   * The jar named by the system property {@code lockstep.server.jar} or the environment variable
   * {@code LOCKSTEP_SERVER_JAR}, else {@code lockstep-server/target/lockstep-server.jar} found by
   * walking up from the working directory; fails with how to build it.
   */
  public static Path locate() {
    String explicit = System.getProperty("lockstep.server.jar", System.getenv("LOCKSTEP_SERVER_JAR"));
    if (explicit != null && !explicit.isBlank()) {
      Path p = Path.of(explicit);
      if (!Files.isRegularFile(p)) {
        throw new IllegalStateException("lockstep.server.jar points at " + p + ", which does not exist");
      }
      return p.toAbsolutePath();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path p = dir.resolve("lockstep-server/target/lockstep-server.jar");
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new IllegalStateException("lockstep-server.jar not found: build it with "
        + "'./mvnw -q -DskipTests package' from the project root, or set LOCKSTEP_SERVER_JAR");
  }
}
