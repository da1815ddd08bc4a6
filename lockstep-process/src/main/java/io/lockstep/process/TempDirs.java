package io.lockstep.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removal of the throwaway folders the harnesses create. */
public final class TempDirs {
  private TempDirs() {}

  /** Deletes a folder and everything in it, best effort: what cannot go is left, silently. */
  public static void deleteTree(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
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
