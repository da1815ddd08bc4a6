package io.lockstep;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockstep.spi.Snapshot;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The range-digest diff: for random maps and random perturbations of a copy (values changed, mod
 * revisions changed, keys removed, keys added), {@link DriftCheck} names exactly the perturbed
 * keys, and a repair makes a second check find none. The replica here answers by brute force (every
 * entry tested against every range), independently of the index the check uses.
 */
class DriftCheckPropertyTest {

  /** A replica held in a map, answering ranges by scanning every entry. */
  static final class MapTarget implements DriftTarget {
    final Map<String, Versioned> memory;
    final Map<String, Versioned> source;
    final Set<String> excluded;
    int requests;

    MapTarget(Map<String, Versioned> memory, Map<String, Versioned> source, Set<String> excluded) {
      this.memory = memory;
      this.source = source;
      this.excluded = excluded;
    }

    @Override
    public String name() {
      return "map";
    }

    @Override
    public Ranges ranges(long revision, List<KeyRange> digests, List<KeyRange> entries) {
      requests++;
      List<RangeDigest> ds = new ArrayList<>();
      for (KeyRange r : digests) {
        long d = 0;
        int n = 0;
        for (Versioned v : memory.values()) {
          if (r.contains(v.key()) && !excluded.contains(v.key())) {
            d += Digests.entry(v);
            n++;
          }
        }
        ds.add(new RangeDigest(r, d, n));
      }
      List<RangeEntries> es = new ArrayList<>();
      for (KeyRange r : entries) {
        List<Summary> s = new ArrayList<>();
        for (Versioned v : memory.values()) {
          if (r.contains(v.key()) && !excluded.contains(v.key())) {
            s.add(Summary.of(v));
          }
        }
        es.add(new RangeEntries(r, s));
      }
      return new Ranges(revision, excluded, ds, es, 0);
    }

    @Override
    public Repaired repair(Collection<String> keys) {
      for (String k : keys) {
        Versioned v = source.get(k);
        if (v == null) {
          memory.remove(k);
        } else {
          memory.put(k, v);
        }
      }
      return new Repaired(List.copyOf(keys), List.of(), 0);
    }
  }

  private static Versioned entry(String key, String value, long rev) {
    return new Versioned(key, value.getBytes(StandardCharsets.UTF_8), "text/plain", rev);
  }

  @Property(tries = 60)
  void randomPerturbations_exactlyThePerturbedKeysFound_thenNone(
      @ForAll @IntRange(min = 0, max = 3000) int size,
      @ForAll @IntRange(min = 0, max = 40) int perturbations,
      @ForAll long seed) {
    Random rnd = new Random(seed);
    Map<String, Versioned> source = new HashMap<>();
    for (int i = 0; i < size; i++) {
      String k = "k" + rnd.nextInt(size * 4 + 1) + "/" + i % 7;
      source.put(k, entry(k, "v" + rnd.nextInt(1000), 1 + rnd.nextInt(500)));
    }
    Map<String, Versioned> replica = new HashMap<>(source);
    Set<String> perturbed = new TreeSet<>();
    List<String> keys = new ArrayList<>(source.keySet());
    for (int p = 0; p < perturbations; p++) {
      int kind = rnd.nextInt(4);
      if (kind == 3 || keys.isEmpty()) { // a key only the replica holds
        String k = "extra" + rnd.nextInt(1_000_000);
        if (!source.containsKey(k)) {
          replica.put(k, entry(k, "x", 7));
          perturbed.add(k);
        }
        continue;
      }
      String k = keys.get(rnd.nextInt(keys.size()));
      Versioned v = source.get(k);
      switch (kind) {
        case 0 -> replica.put(k, entry(k, v.valueAsString() + "!", v.modRevision())); // value
        case 1 -> replica.put(k, entry(k, v.valueAsString(), v.modRevision() + 1)); // revision
        default -> replica.remove(k); // missed
      }
      perturbed.add(k);
    }
    MapTarget target = new MapTarget(replica, source, Set.of());
    Snapshot listing = new Snapshot(1000, new ArrayList<>(source.values()));

    DriftReport first = DriftCheck.run(target, listing, true, System.nanoTime());

    assertThat(first.drifted()).containsExactlyElementsOf(perturbed);
    assertThat(first.repaired()).containsExactlyElementsOf(perturbed);
    assertThat(first.unrepaired()).isEmpty();
    assertThat(first.keysChecked())
        .isEqualTo(source.size() + perturbed.stream().filter(k -> !source.containsKey(k)).count());
    assertThat(replica).isEqualTo(source);
    DriftReport second = DriftCheck.run(target, listing, true, System.nanoTime());
    assertThat(second.drifted()).isEmpty();
  }

  @Property(tries = 30)
  void keysChangedAfterTheRevision_areLeftOut_theRestStillFound(
      @ForAll @IntRange(min = 50, max = 2000) int size, @ForAll long seed) {
    Random rnd = new Random(seed);
    Map<String, Versioned> source = new HashMap<>();
    for (int i = 0; i < size; i++) {
      source.put("k" + i, entry("k" + i, "v" + i, i + 1));
    }
    Map<String, Versioned> replica = new HashMap<>(source);
    Set<String> inFlux = new HashSet<>();
    Set<String> drifted = new TreeSet<>();
    for (int i = 0; i < 10; i++) {
      String k = "k" + rnd.nextInt(size);
      if (rnd.nextBoolean()) {
        replica.put(k, entry(k, "newer", size + 10)); // changed on the replica after R
        inFlux.add(k);
        drifted.remove(k);
      } else if (!inFlux.contains(k)) {
        replica.put(k, entry(k, "stale", source.get(k).modRevision()));
        drifted.add(k);
      }
    }
    MapTarget target = new MapTarget(replica, source, inFlux);

    DriftReport r =
        DriftCheck.run(
            target, new Snapshot(size, new ArrayList<>(source.values())), false, System.nanoTime());

    assertThat(r.drifted()).containsExactlyElementsOf(drifted);
    assertThat(r.repaired()).isEmpty();
    assertThat(r.unrepaired()).containsExactlyElementsOf(drifted);
    assertThat(r.keysChecked()).isEqualTo(size - inFlux.size());
  }

  @Property(tries = 20)
  void noDrift_oneRequestOfOneRange(@ForAll @IntRange(min = 0, max = 5000) int size) {
    Map<String, Versioned> source = new HashMap<>();
    for (int i = 0; i < size; i++) {
      source.put("k" + i, entry("k" + i, "v", i + 1));
    }
    MapTarget target = new MapTarget(new HashMap<>(source), source, Set.of());
    DriftReport r =
        DriftCheck.run(
            target, new Snapshot(size, new ArrayList<>(source.values())), true, System.nanoTime());
    assertThat(r.drifted()).isEmpty();
    assertThat(target.requests).isOne();
  }
}
