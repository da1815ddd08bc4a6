package io.lockstep.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removal of the throwaway folders the harnesses create. */
public final class TempDirs {
  private TempDirs() {}

  /** A new folder in {@code java.io.tmpdir} whose name starts with {@code prefix}. */
  public static Path create(String prefix) {
    try {
      return Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "creating a folder "
              + prefix
              + "* in "
              + System.getProperty("java.io.tmpdir")
              + " failed",
          e);
    }
  }

  /** Deletes a folder and everything in it, best effort: what cannot go is left, silently. */
  public static void deleteTree(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException ignored) {
                  // best effort; the next path may still go
                }
              });
    } catch (IOException ignored) {
      // best effort
    }
  }
}
