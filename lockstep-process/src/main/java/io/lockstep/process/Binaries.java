package io.lockstep.process;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the server binaries the harnesses start are found. */
final class Binaries {
  private Binaries() {}

  /**
   * The executable named by the environment variable {@code variable}, else {@code name} on the
   * {@code PATH}, else {@code /usr/bin/<name>}, else {@code /usr/sbin/<name>} (where Debian puts
   * nginx, and which a user's {@code PATH} often lacks); fails saying where it looked and that
   * {@code scripts/setup} installs {@code debianPackage}. Tests that need the binary never skip.
   */
  static Path locate(String variable, String name, String debianPackage) {
    String hint = "run `scripts/setup` (which installs Debian's " + debianPackage + ")";
    String env = System.getenv(variable);
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (Files.isExecutable(p)) {
        return p;
      }
      throw new IllegalStateException(
          variable + "=" + env + " is not an executable file; unset it or " + hint);
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String d : path.split(File.pathSeparator)) {
        if (!d.isEmpty()) {
          Path p = Path.of(d, name);
          if (Files.isRegularFile(p) && Files.isExecutable(p)) {
            return p;
          }
        }
      }
    }
    Path fallback = Path.of("/usr/bin", name);
    Path system = Path.of("/usr/sbin", name);
    for (Path p : new Path[] {fallback, system}) {
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    throw new IllegalStateException(
        name
            + " not found (looked at $"
            + variable
            + ", the PATH, "
            + fallback
            + " and "
            + system
            + "): "
            + hint);
  }
}
