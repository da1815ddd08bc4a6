package io.lockstep.it;

import static io.lockstep.it.DriftIT.check;
import static io.lockstep.it.DriftIT.drifting;
import static io.lockstep.it.DriftIT.testkit;
import static io.lockstep.it.DriftIT.texts;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.Lockstep;
import io.lockstep.WriteResult;
import io.lockstep.process.RedisProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Test;

/**
 * Issue 17: with 100,000 keys and 10 drifted, {@code lockstep check} moves less than 1% of the
 * map's bytes (key and value bytes of every entry), on Redis (the fastest to load here). The keys
 * are written by a library node in this JVM, pipelined; the drifting server skips the changes of
 * the 10 keys under {@code d/}.
 */
class DriftScaleIT {
  static final int KEYS = 100_000;
  static final int DRIFTED = 10;

  @Test
  void hundredThousandKeys_tenDrifted_checkMovesUnderOnePercent() throws Exception {
    String prefix = "drift-scale";
    try (RedisProcess redis = new RedisProcess();
        ServerCluster cluster =
            ServerCluster.builder(redis.backendUri())
                .instances(1)
                .keyPrefix(prefix)
                .backend(i -> drifting(redis.backendUri()))
                .classpath(i -> List.of(testkit()))
                .args("--max-total-keys", "200000")
                .javaOptions("-Xmx384m", "-XX:+UseSerialGC")
                .start();
        Lockstep writer =
            Lockstep.builder().backend(redis.backendUri()).keyPrefix(prefix).build()) {
      ServerProcess node = cluster.node(0);
      long mapBytes = 0;
      Semaphore inFlight = new Semaphore(512);
      List<CompletableFuture<WriteResult>> writes = new ArrayList<>();
      for (int i = 0; i < KEYS + DRIFTED; i++) {
        String key = i < KEYS ? "k/" + i : "d/" + (i - KEYS);
        byte[] value =
            ("{\"n\":" + i + ",\"pad\":\"" + "x".repeat(80) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        mapBytes += key.getBytes(StandardCharsets.UTF_8).length + value.length;
        inFlight.acquire();
        CompletableFuture<WriteResult> w = writer.map().putAsync(key, value, "application/json");
        w.whenComplete((r, e) -> inFlight.release());
        writes.add(w);
      }
      long last = 0;
      for (CompletableFuture<WriteResult> w : writes) {
        last = Math.max(last, w.join().revision());
      }
      DriftIT.awaitApplied(node, last);
      for (int i = 0; i < DRIFTED; i++) { // skipped by the server
        last =
            writer
                .map()
                .put("d/" + i, "{\"new\":1}".getBytes(StandardCharsets.UTF_8), "application/json")
                .revision();
      }
      DriftIT.awaitApplied(node, last);

      DriftIT.Check c =
          check(
              "--backend",
              redis.backendUri(),
              "--key-prefix",
              prefix,
              "--targets",
              node.url(),
              "--json");

      assertThat(c.exit()).as(c.out() + c.err()).isZero();
      JsonNode r = c.report(node.url());
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < DRIFTED; i++) {
        expected.add("d/" + i);
      }
      assertThat(texts(r.get("drifted"))).containsExactlyElementsOf(expected);
      assertThat(texts(r.get("repaired"))).containsExactlyElementsOf(expected);
      assertThat(r.get("keysChecked").asLong()).isEqualTo(KEYS + DRIFTED);
      long moved = r.get("bytesMoved").asLong();
      System.out.printf(
          "drift check, %d keys, %d drifted: %d bytes moved of %d map bytes (%.3f%%), %d ms%n",
          KEYS + DRIFTED,
          DRIFTED,
          moved,
          mapBytes,
          100.0 * moved / mapBytes,
          r.get("tookMillis").asLong());
      assertThat(moved).isPositive().isLessThan(mapBytes / 100);
      DriftIT.Check again =
          check(
              "--backend",
              redis.backendUri(),
              "--key-prefix",
              prefix,
              "--targets",
              node.url(),
              "--json");
      assertThat(texts(again.report(node.url()).get("drifted"))).isEmpty();
    }
  }
}
