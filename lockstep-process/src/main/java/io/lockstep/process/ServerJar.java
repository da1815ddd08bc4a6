package io.lockstep.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Optional;
import java.util.jar.JarFile;

/** Finds the runnable Lockstep jar that {@link ServerProcess} starts. */
public final class ServerJar {
  /** The main class of the runnable jar, as its manifest names it. */
  static final String MAIN_CLASS = "io.lockstep.cli.Main";

  private ServerJar() {}

  /**
   * In this order: the jar named by the system property {@code lockstep.server.jar} or the
   * environment variable {@code LOCKSTEP_SERVER_JAR}; the jar this class was loaded from, when it
   * is the runnable jar (so {@code java -jar lockstep.jar demo} works from any folder and any copy
   * of the jar); else {@code lockstep-cli/target/lockstep.jar} found by walking up from the working
   * directory (tests in a source checkout). Fails with how to build it.
   */
  public static Path locate() {
    String explicit =
        System.getProperty("lockstep.server.jar", System.getenv("LOCKSTEP_SERVER_JAR"));
    if (explicit != null && !explicit.isBlank()) {
      Path p = Path.of(explicit);
      if (!Files.isRegularFile(p)) {
        throw new IllegalStateException(
            "lockstep.server.jar points at " + p + ", which does not exist");
      }
      return p.toAbsolutePath();
    }
    Optional<Path> own = ownJar();
    if (own.isPresent()) {
      return own.get();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path p = dir.resolve("lockstep-cli/target/lockstep.jar");
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new IllegalStateException(
        "lockstep.jar not found: build it with "
            + "'./mvnw -q -DskipTests package' from the project root, or set LOCKSTEP_SERVER_JAR");
  }

  /** The jar this class came from, when it is a runnable Lockstep jar. */
  static Optional<Path> ownJar() {
    CodeSource source = ServerJar.class.getProtectionDomain().getCodeSource();
    if (source == null || source.getLocation() == null) {
      return Optional.empty();
    }
    Path p;
    try {
      p = Path.of(source.getLocation().toURI());
    } catch (URISyntaxException | IllegalArgumentException e) {
      return Optional.empty();
    }
    return isRunnableJar(p) ? Optional.of(p.toAbsolutePath()) : Optional.empty();
  }

  static boolean isRunnableJar(Path p) {
    if (!Files.isRegularFile(p)) {
      return false;
    }
    try (JarFile jar = new JarFile(p.toFile())) {
      var manifest = jar.getManifest();
      return manifest != null
          && MAIN_CLASS.equals(manifest.getMainAttributes().getValue("Main-Class"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + p, e);
    }
  }
}
