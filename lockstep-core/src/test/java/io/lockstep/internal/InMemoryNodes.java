package io.lockstep.internal;

import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * In-memory sources and ready nodes on them with the engine tests' quick timings (5–50 ms backoff,
 * 50 ms progress interval, seed 1); closes everything it made, newest first. Not thread safe.
 */
final class InMemoryNodes implements AutoCloseable {
  private final List<AutoCloseable> open = new ArrayList<>();

  InMemorySource source(RevisionModel model) {
    InMemorySource s = new InMemorySource(model);
    open.add(s);
    return s;
  }

  /** A node on {@code s}, ready (its first listing applied); {@code tune} adjusts the builder. */
  Lockstep node(InMemorySource s, UnaryOperator<LockstepBuilder> tune) {
    Lockstep n =
        tune.apply(
                Lockstep.builder()
                    .backend(s.backend())
                    .keyPrefix("t")
                    .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(50))
                    .progressInterval(Duration.ofMillis(50))
                    .randomSeed(1))
            .build();
    open.add(n);
    await().until(() -> n.map().replica().isReady());
    return n;
  }

  /** Closes {@code c} with the rest. */
  void closeLater(AutoCloseable c) {
    open.add(c);
  }

  @Override
  public void close() throws Exception {
    Collections.reverse(open);
    for (AutoCloseable c : open) {
      c.close();
    }
    open.clear();
  }
}
