package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.ChangeEvent;
import io.lockstep.Digests;
import io.lockstep.Lockstep;
import io.lockstep.ReplicaStats;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
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
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.AfterTry;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * The engine against a fake feed that disconnects, duplicates, swaps (out of order), drops (gaps,
 * on contiguous feeds) and loses its history (compaction), while the source is written at random,
 * behind the replica's back and through its own put, compare-and-set and delete: it always ends
 * equal to the source, its applied revision never goes back, each of its writes is read back from
 * memory at once, and across the run every kind of fault was injected and repaired.
 */
class ReplicatorPropertyTest {

  sealed interface Op
      permits Put, Delete, Txn, Foreign, Compact, Break, Pause, MapPut, MapCas, MapDelete {}

  record Put(int key, byte value) implements Op {}

  record Delete(int key) implements Op {}

  record Txn(int key1, int key2, byte value) implements Op {}

  record Foreign() implements Op {}

  record Compact() implements Op {}

  record Break() implements Op {}

  record Pause() implements Op {}

  /** A put through the replica's own write path. */
  record MapPut(int key, byte value) implements Op {}

  /** A compare-and-set through the replica, expecting the current revision, or a stale one. */
  record MapCas(int key, byte value, boolean stale) implements Op {}

  /** A delete through the replica. */
  record MapDelete(int key) implements Op {}

  /** What happened across all tries of the property: faults injected, repairs made. */
  private static final Map<String, AtomicLong> RUN = new ConcurrentHashMap<>();

  private static void count(String what, long n) {
    RUN.computeIfAbsent(what, k -> new AtomicLong()).addAndGet(n);
  }

  @BeforeProperty
  void resetRun() {
    RUN.clear();
  }

  /**
   * Every kind of fault the property is about happened at least once across its tries, and so did
   * every repair it is meant to exercise: a run that injected nothing would prove nothing.
   */
  @AfterProperty
  void everyFaultWasInjectedAndRepaired() {
    Map<String, Long> run = new TreeMap<>();
    RUN.forEach((k, v) -> run.put(k, v.get()));
    assertThat(run)
        .as("faults injected and repairs made across the run")
        .containsKeys(
            "injected duplicates",
            "injected swaps",
            "injected drops",
            "injected disconnects",
            "compactions",
            "breaks",
            "map writes",
            "relists",
            "reconnects",
            "gaps",
            "duplicatesDropped");
    assertThat(run.values()).as("%s", run).allMatch(n -> n > 0);
  }

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
            Tuple(4, Arbitraries.just(new Pause())),
            Tuple(8, Combinators.combine(key, value).as(MapPut::new)),
            Tuple(4, Combinators.combine(key, value, Arbitraries.of(true, false)).as(MapCas::new)),
            Tuple(3, key.map(MapDelete::new)));
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
        case Compact c -> {
          source.compact();
          count("compactions", 1);
        }
        case Break b -> {
          source.breakFeeds();
          count("breaks", 1);
        }
        case Pause p -> Thread.sleep(1);
        case MapPut p -> {
          WriteResult r = map.put("k" + p.key(), new byte[] {p.value()}, null);
          assertThat(r.isApplied()).as("%s", r).isTrue();
          assertReadsOwnWrite(map, "k" + p.key(), r);
        }
        case MapCas c -> {
          String k = "k" + c.key();
          long current = modRevision(source, k);
          long expected = c.stale() ? current + 1 : current;
          WriteResult r = map.compareAndSet(k, expected, new byte[] {c.value()}, null);
          if (c.stale()) {
            assertThat(r.status()).isEqualTo(WriteResult.Status.CONFLICT);
            assertThat(r.revision())
                .as("a lost CAS reports the current revision")
                .isEqualTo(current);
          } else {
            assertThat(r.isApplied()).as("%s", r).isTrue();
            assertReadsOwnWrite(map, k, r);
          }
        }
        case MapDelete d -> {
          String k = "k" + d.key();
          boolean present = modRevision(source, k) != 0;
          WriteResult r = map.delete(k);
          assertThat(r.status())
              .isEqualTo(present ? WriteResult.Status.APPLIED : WriteResult.Status.NOT_FOUND);
          if (present) {
            assertThat(map.get(k)).as("a delete is applied here before it returns").isNull();
          }
        }
      }
      if (op instanceof MapPut || op instanceof MapCas || op instanceof MapDelete) {
        count("map writes", 1);
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

    FaultyBackend.Injected injected = faulty.injectedByKind();
    count("injected duplicates", injected.duplicates());
    count("injected swaps", injected.swaps());
    count("injected drops", injected.drops());
    count("injected disconnects", injected.disconnects());
    ReplicaStats stats = map.replica().stats();
    count("relists", stats.relists());
    count("reconnects", stats.reconnects());
    count("gaps", stats.gaps());
    count("duplicatesDropped", stats.duplicatesDropped());
    if (model == RevisionModel.SPARSE) {
      assertThat(injected.drops()).as("drops only where they are detectable").isZero();
    }
  }

  private static long modRevision(InMemorySource source, String key) {
    for (Versioned v : source.entries()) {
      if (v.key().equals(key)) {
        return v.modRevision();
      }
    }
    return 0;
  }

  /** A write returns only once this replica applied it: memory holds it at its revision. */
  private static void assertReadsOwnWrite(ReplicatedMap map, String key, WriteResult r) {
    Versioned held = map.get(key);
    assertThat(held).as("%s read back after %s", key, r).isNotNull();
    assertThat(held.modRevision()).as("%s read back after %s", key, r).isEqualTo(r.revision());
  }
}
