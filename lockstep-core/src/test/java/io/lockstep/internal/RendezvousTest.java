package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RendezvousTest {
  private static final int KEYS = 10_000;

  private static String key(int i) {
    return "user:" + i;
  }

  @Test
  void keysSpreadEvenlyOverMembers() {
    Rendezvous r = new Rendezvous(List.of("node-a", "node-b", "node-c", "node-d"));
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < KEYS; i++) {
      counts.merge(r.owner(key(i)), 1, Integer::sum);
    }
    assertThat(counts).hasSize(4);
    for (int c : counts.values()) {
      assertThat(c / (double) KEYS).isCloseTo(0.25, within(0.03));
    }
  }

  @Test
  void fromThreeToFourMembers_aQuarterOfTheKeysMove_allToTheNewcomer() {
    Rendezvous three = new Rendezvous(List.of("node-a", "node-b", "node-c"));
    Rendezvous four = new Rendezvous(List.of("node-a", "node-b", "node-c", "node-d"));
    int moved = 0;
    for (int i = 0; i < KEYS; i++) {
      String before = three.owner(key(i));
      String after = four.owner(key(i));
      if (!before.equals(after)) {
        moved++;
        assertThat(after).as("a key moves only to the new member").isEqualTo("node-d");
      }
    }
    assertThat(moved / (double) KEYS).isCloseTo(0.25, within(0.05));
  }

  @Test
  void fromFourToThreeMembers_onlyTheDepartedMembersKeysMove() {
    Rendezvous four = new Rendezvous(List.of("node-a", "node-b", "node-c", "node-d"));
    Rendezvous three = new Rendezvous(List.of("node-a", "node-c", "node-d"));
    int moved = 0;
    for (int i = 0; i < KEYS; i++) {
      String before = four.owner(key(i));
      String after = three.owner(key(i));
      if (before.equals("node-b")) {
        moved++;
        assertThat(after).isNotEqualTo("node-b");
      } else {
        assertThat(after).as(key(i)).isEqualTo(before);
      }
    }
    assertThat(moved / (double) KEYS).isCloseTo(0.25, within(0.05));
  }

  @Test
  void theOrderOfTheListDoesNotMatter_everyInstanceAgrees() {
    Rendezvous a = new Rendezvous(List.of("x", "y", "z"));
    Rendezvous b = new Rendezvous(List.of("z", "x", "y", "x"));
    for (int i = 0; i < 1000; i++) {
      assertThat(b.owner(key(i))).isEqualTo(a.owner(key(i)));
    }
  }

  @Test
  void similarIdsAndKeysStillSpread() {
    // ids that differ in one character and keys that differ only at the end: a weak hash would
    // give one member most keys
    Rendezvous r =
        new Rendezvous(
            List.of("http://10.0.0.1:3000", "http://10.0.0.2:3000", "http://10.0.0.3:3000"));
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < KEYS; i++) {
      counts.merge(r.owner("k" + i), 1, Integer::sum);
    }
    for (int c : counts.values()) {
      assertThat(c / (double) KEYS).isCloseTo(1 / 3.0, within(0.03));
    }
  }

  @Test
  void hashDependsOnEveryByte() {
    byte[] a = "abcdefghijklmnopq".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    long h = Rendezvous.hash(a, 1);
    for (int i = 0; i < a.length; i++) {
      byte[] b = a.clone();
      b[i] ^= 1;
      assertThat(Rendezvous.hash(b, 1)).as("byte " + i).isNotEqualTo(h);
    }
    assertThat(Rendezvous.hash(new byte[0], 1)).isNotEqualTo(Rendezvous.hash(new byte[1], 1));
  }
}
