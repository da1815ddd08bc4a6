package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.ChangeEvent;
import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.FaultyBackend;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterTry;

/**
 * The engine against a fake feed that disconnects, duplicates, swaps (out of order), drops (gaps,
 * on contiguous feeds) and loses its history (compaction), while the source is written at random:
 * it always ends equal to the source, and its applied revision never goes back.
 */
class ReplicatorPropertyTest {

  sealed interface Op permits Put, Delete, Txn, Foreign, Compact, Break, Pause {}

  record Put(int key, byte value) implements Op {}

  record Delete(int key) implements Op {}

  record Txn(int key1, int key2, byte value) implements Op {}

  record Foreign() implements Op {}

  record Compact() implements Op {}

  record Break() implements Op {}

  record Pause() implements Op {}

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterTry
  void closeAll() throws Exception {
    Collections.reverse(open);
    for (AutoCloseable c : open) {
      c.close();
    }
    open.clear();
  }

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Integer> key = Arbitraries.integers().between(0, 29);
    Arbitrary<Byte> value = Arbitraries.bytes();
    Arbitrary<Op> op =
        Arbitraries.frequencyOf(
            Tuple(30, Combinators.combine(key, value).as(Put::new)),
            Tuple(12, key.map(Delete::new)),
            Tuple(6, Combinators.combine(key, key, value).as(Txn::new)),
            Tuple(5, Arbitraries.just(new Foreign())),
            Tuple(1, Arbitraries.just(new Compact())),
            Tuple(3, Arbitraries.just(new Break())),
            Tuple(4, Arbitraries.just(new Pause())));
    return op.list().ofMinSize(1).ofMaxSize(120);
  }

  private static net.jqwik.api.Tuple.Tuple2<Integer, Arbitrary<? extends Op>> Tuple(
      int w, Arbitrary<? extends Op> a) {
    return net.jqwik.api.Tuple.of(w, a);
  }

  @Provide
  Arbitrary<FaultyBackend.Faults> faults() {
    Arbitrary<Double> rate = Arbitraries.of(0.0, 0.03, 0.15);
    return Combinators.combine(rate, rate, rate, rate).as(FaultyBackend.Faults::new);
  }

  @Property(tries = 100)
  void engine_underRandomFeedFaults_endsEqualToSource(
      @ForAll("ops") List<Op> ops,
      @ForAll RevisionModel model,
      @ForAll("faults") FaultyBackend.Faults faults,
      @ForAll long seed)
      throws Exception {
    InMemorySource source = new InMemorySource(model);
    open.add(source);
    FaultyBackend faulty = new FaultyBackend(source.backend(), seed, faults);
    Lockstep node =
        Lockstep.builder()
            .backend(faulty)
            .keyPrefix("p")
            .reconnectBackoff(Duration.ofMillis(1), Duration.ofMillis(20))
            .progressInterval(Duration.ofMillis(20))
            .randomSeed(seed)
            .build();
    open.add(node);
    ReplicatedMap map = node.map();
    List<Long> applied = Collections.synchronizedList(new ArrayList<>());
    map.addListener((ChangeEvent e) -> applied.add(e.revision()));

    for (Op op : ops) {
      switch (op) {
        case Put p -> source.writeAtomically(Map.of("k" + p.key(), new byte[] {p.value()}));
        case Delete d -> {
          Map<String, byte[]> m = new HashMap<>();
          m.put("k" + d.key(), null);
          source.writeAtomically(m);
        }
        case Txn t -> {
          Map<String, byte[]> m = new LinkedHashMap<>();
          m.put("k" + t.key1(), new byte[] {t.value()});
          m.put("k" + t.key2() + "x", new byte[] {t.value(), 1});
          source.writeAtomically(m);
        }
        case Foreign f -> {
          if (model == RevisionModel.SPARSE) {
            source.foreignWrite();
          }
        }
        case Compact c -> source.compact();
        case Break b -> source.breakFeeds();
        case Pause p -> Thread.sleep(1);
      }
    }
    faulty.setFaults(FaultyBackend.Faults.NONE);

    long target = source.revision();
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(5))
        .until(
            () ->
                map.replica().appliedRevision() >= target
                    && map.replica().digest() == Digests.of(source.entries()));
    assertThat(map.replica().appliedRevision()).isEqualTo(target);
    Map<String, Versioned> expected = new HashMap<>();
    source.entries().forEach(v -> expected.put(v.key(), v));
    Map<String, Versioned> actual = new HashMap<>();
    map.list("", 0).forEach(v -> actual.put(v.key(), v));
    assertThat(actual).isEqualTo(expected);
    List<Long> seen;
    synchronized (applied) {
      seen = List.copyOf(applied);
    }
    assertThat(seen).isSorted();
  }
}
