package io.lockstep.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The frame every contract suite shares: each test runs in a namespace of its own ({@link #prefix},
 * a fresh random key prefix, so a subclass may share one server across tests), what a test opens
 * with {@link #closeAfterTest} is closed after it, and every wait is bounded by {@link
 * #patience()}.
 */
public abstract class NamespacedSuite {
  private final String namespaceStem;
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  /** This test's namespace: a fresh random key prefix. */
  protected String prefix;

  /** Namespaces are named {@code <namespaceStem>-<8 random hex digits>}. */
  protected NamespacedSuite(String namespaceStem) {
    this.namespaceStem = namespaceStem;
  }

  /**
   * The bound of every wait: 30 s times the system property {@code lockstep.test.timeFactor}
   * (default 1), for slow machines.
   */
  protected Duration patience() {
    double factor = Double.parseDouble(System.getProperty("lockstep.test.timeFactor", "1"));
    return Duration.ofMillis((long) (30_000 * factor));
  }

  /**
   * Closes {@code c} after the test (after its own {@code @AfterEach} methods), in reverse order of
   * registration; the first failure to close is rethrown once all were tried.
   */
  protected final <T extends AutoCloseable> T closeAfterTest(T c) {
    cleanup.add(c);
    return c;
  }

  @BeforeEach
  final void freshNamespace() {
    prefix = namespaceStem + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @AfterEach
  final void closeEverything() throws Exception {
    List<AutoCloseable> all = new ArrayList<>(cleanup);
    cleanup.clear();
    Collections.reverse(all);
    Exception first = null;
    for (AutoCloseable c : all) {
      try {
        c.close();
      } catch (Exception e) {
        if (first == null) {
          first = e;
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
