package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockstep.process.ServerProcess;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads of near-mode instances while the source is written, each checked against what the same
 * instance served before: a key's revision never goes back, a key deleted for good is never served
 * once the instance has applied its delete, and never again after the instance answered 404 for it.
 * Any other answer than 200 or 404 fails at once. One reader thread.
 */
final class NearReads {
  private final Map<String, Long> deletedAt;
  private final List<String> violations;
  private final Map<String, Long> lastServed = new HashMap<>(); // node|key -> mod revision
  private final Set<String> goneSeen = new HashSet<>(); // node|key deleted for good -> 404 seen
  private int reads;

  /**
   * @param deletedAt each key deleted for good, with the revision of its delete (filled by the
   *     writers as they delete, so a concurrent map)
   * @param violations where each violation is added (a concurrent list the writers may add to)
   */
  NearReads(Map<String, Long> deletedAt, List<String> violations) {
    this.deletedAt = deletedAt;
    this.violations = violations;
  }

  /** Reads {@code key} from {@code n}'s memory ({@code use_cache=true}) and checks the answer. */
  void read(ServerProcess n, String key) {
    Http.Resp r = Http.get(n.url(), key, "use_cache=true");
    reads++;
    String id = n.id() + "|" + key;
    if (r.status() == 200) {
      long rev = r.revision();
      Long before = lastServed.put(id, rev);
      if (before != null && rev < before) {
        violations.add(key + " on " + n.id() + ": revision " + rev + " after " + before);
      }
      Long gone = deletedAt.get(key);
      if (goneSeen.contains(id)) {
        violations.add(key + " on " + n.id() + ": served again after a 404");
      } else if (gone != null && r.applied() >= gone) {
        violations.add(
            key + " on " + n.id() + ": served at applied " + r.applied() + ", deleted at " + gone);
      }
    } else {
      assertThat(r.status()).as("%s on %s: %s", key, n.id(), r.body()).isEqualTo(404);
      if (deletedAt.containsKey(key)) {
        goneSeen.add(id);
      }
    }
  }

  int reads() {
    return reads;
  }
}
