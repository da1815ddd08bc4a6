package io.lockstep.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Codec;
import io.lockstep.Lockstep;
import io.lockstep.TypedEntry;
import io.lockstep.TypedMap;
import io.lockstep.Versioned;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random typed writes and deletes on two maps, other programs' writes (good, undecodable, outside
 * the namespaces) and relists after compaction. Afterwards each typed map, on the writing node and
 * on a node that opened it late, holds exactly the source's keys of its namespace, each decoded (or
 * failed) as the codec would from the source's bytes, at the source's revision; and a view built
 * from the map's typed events alone equals the store.
 */
class TypedMapPropertyTest {
  private static final int MAPS = 2;
  private static final int KEYS = 3;

  /** Integers as decimal text; anything else fails to decode. */
  static final Codec<Integer> INTS =
      new Codec<>() {
        @Override
        public byte[] encode(Integer value) {
          return value.toString().getBytes(UTF_8);
        }

        @Override
        public Integer decode(byte[] bytes) {
          return Integer.valueOf(new String(bytes, UTF_8));
        }

        @Override
        public String contentType() {
          return "text/x-int";
        }
      };

  record Op(int what, int map, int key) {}

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Op> op =
        Arbitraries.integers()
            .between(0, 7)
            .flatMap(
                w ->
                    Arbitraries.integers()
                        .between(0, MAPS - 1)
                        .flatMap(
                            m ->
                                Arbitraries.integers()
                                    .between(0, KEYS - 1)
                                    .map(k -> new Op(w, m, k))));
    return op.list().ofMinSize(5).ofMaxSize(30);
  }

  @Property(tries = 40)
  void typedMaps_equalTheSourceDecoded_andTheirEvents(
      @ForAll("ops") List<Op> ops, @ForAll boolean contiguous) throws Exception {
    try (InMemoryNodes nodes = new InMemoryNodes()) {
      InMemorySource s = nodes.source(contiguous ? RevisionModel.CONTIGUOUS : RevisionModel.SPARSE);
      Lockstep n = nodes.node(s, b -> b.instanceId("writer"));
      @SuppressWarnings("unchecked")
      TypedMap<Integer>[] maps = new TypedMap[MAPS];
      @SuppressWarnings("unchecked")
      Map<String, TypedEntry<Integer>>[] fromEvents = new Map[MAPS];
      for (int i = 0; i < MAPS; i++) {
        maps[i] = n.map("m" + i, INTS);
        Map<String, TypedEntry<Integer>> view = new ConcurrentHashMap<>();
        fromEvents[i] = view;
        maps[i].addListener(
            e -> {
              if (e.value() != null) {
                view.put(e.key(), e.value());
              } else {
                view.remove(e.key());
              }
            });
      }
      int step = 0;
      for (Op op : ops) {
        step++;
        TypedMap<Integer> m = maps[op.map()];
        String k = "k" + op.key();
        String full = "m" + op.map() + "/" + k;
        switch (op.what()) {
          case 0, 1 -> m.put(k, step);
          case 2 -> m.delete(k);
          case 3 -> external(s, full, Integer.toString(-step));
          case 4 -> external(s, full, "not a number " + step);
          case 5 -> external(s, "m" + op.map() + "x/" + k, "outside"); // another namespace
          case 6 -> external(s, full, null);
          default -> {
            s.compact();
            s.breakFeeds(); // resumes below the compaction point: a relist
          }
        }
      }
      Lockstep late = nodes.node(s, b -> b.instanceId("late"));
      for (Lockstep node : List.of(n, late)) {
        assertThat(node.map().replica().awaitRevision(s.revision(), Duration.ofSeconds(10)))
            .isTrue();
      }
      for (int i = 0; i < MAPS; i++) {
        Map<String, Versioned> expected = new HashMap<>();
        for (Versioned v : s.entries()) {
          if (v.key().startsWith("m" + i + "/")) {
            expected.put(v.key().substring(3), v);
          }
        }
        TypedMap<Integer> lateMap = late.map("m" + i, INTS);
        Map<String, TypedEntry<Integer>> view = fromEvents[i];
        TypedMap<Integer> mine = maps[i];
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  for (TypedMap<Integer> t : List.of(mine, lateMap)) {
                    assertThat(t.keys()).containsExactlyInAnyOrderElementsOf(expected.keySet());
                    for (Versioned v : expected.values()) {
                      TypedEntry<Integer> e = t.getEntry(v.key().substring(3));
                      assertThat(e.modRevision()).isEqualTo(v.modRevision());
                      assertThat(describe(e)).isEqualTo(decoded(v));
                    }
                  }
                  assertThat(view.keySet()).isEqualTo(mine.keys());
                  for (String k : mine.keys()) {
                    assertThat(view.get(k)).isSameAs(mine.getEntry(k));
                  }
                });
      }
    }
  }

  private static String describe(TypedEntry<Integer> e) {
    return e.isDecoded() ? "value " + e.value() : "undecodable";
  }

  private static String decoded(Versioned v) {
    try {
      return "value " + INTS.decode(v.value());
    } catch (RuntimeException ex) {
      return "undecodable";
    }
  }

  private static void external(InMemorySource s, String key, String value) {
    Map<String, byte[]> w = new HashMap<>();
    w.put(key, value == null ? null : value.getBytes(UTF_8));
    s.writeAtomically(w);
  }
}
