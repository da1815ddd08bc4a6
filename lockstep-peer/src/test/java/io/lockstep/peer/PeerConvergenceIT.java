package io.lockstep.peer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.ReplicatedMap;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Five instances (three voters, two non-voters) take 2,000 random puts, deletes and
 * compare-and-sets through all of them at once, then hold equal digests, equal to a fresh listing,
 * with contiguous revisions and not one re-list.
 */
class PeerConvergenceIT {
  private static final Duration PATIENCE = Duration.ofSeconds(60);
  private final PeerGroup group = new PeerGroup("converge-" + System.nanoTime(), 3);

  @AfterEach
  void close() {
    group.close();
  }

  @Test
  void fiveInstances_2000RandomWritesThroughAll_equalDigests() {
    List<Lockstep> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      nodes.add(group.node(group.voterUri(i), "voter-" + i));
    }
    nodes.add(group.node(group.nonVoterUri(), "other-0"));
    nodes.add(group.node(group.nonVoterUri(), "other-1"));
    await().atMost(PATIENCE).until(() -> nodes.stream().allMatch(n -> n.map().replica().isReady()));

    AtomicInteger applied = new AtomicInteger();
    List<CompletableFuture<Void>> writers = new ArrayList<>();
    for (int w = 0; w < nodes.size(); w++) {
      ReplicatedMap m = nodes.get(w).map();
      long seed = 1000 + w;
      writers.add(
          CompletableFuture.runAsync(
              () -> {
                SplittableRandom r = new SplittableRandom(seed);
                for (int i = 0; i < 400; i++) {
                  String key = "k" + r.nextInt(64);
                  int op = r.nextInt(10);
                  boolean ok;
                  if (op < 2) {
                    ok = m.delete(key).isApplied();
                  } else if (op < 4) {
                    var cur = m.get(key);
                    ok =
                        m.compareAndSet(
                                key,
                                cur == null ? 0 : cur.modRevision(),
                                ("cas" + seed + "-" + i).getBytes(UTF_8),
                                "text/plain")
                            .isApplied();
                  } else {
                    ok =
                        m.put(key, ("w" + seed + "-" + i).getBytes(UTF_8), "text/plain")
                            .isApplied();
                  }
                  if (ok) {
                    applied.incrementAndGet();
                  }
                }
              }));
    }
    CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new))
        .orTimeout(PATIENCE.toMillis(), TimeUnit.MILLISECONDS)
        .join();

    var listing =
        group
            .backend(group.nonVoterUri(), "lister")
            .snapshot()
            .orTimeout(10, TimeUnit.SECONDS)
            .join();
    long source = Digests.of(listing.entries());
    assertThat(listing.revision())
        .as("one revision per applied change, no holes")
        .isEqualTo(applied.get());
    await()
        .atMost(PATIENCE)
        .until(() -> nodes.stream().allMatch(n -> n.map().replica().digest() == source));
    for (Lockstep n : nodes) {
      assertThat(n.map().replica().appliedRevision()).isEqualTo(listing.revision());
      assertThat(n.map().list("", 0)).isEqualTo(nodes.get(0).map().list("", 0));
      assertThat(n.map().replica().stats().relists()).as("re-lists on %s", n.self().id()).isZero();
      assertThat(n.map().replica().stats().gaps()).as("gaps on %s", n.self().id()).isZero();
    }
  }
}
