package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The student service ({@code serve --students}) on three real server processes over the embedded
 * peer backend: a student added through one instance is served by {@code GET /student/id} on all
 * three, an update through another reaches all three, and a delete removes it from all three.
 */
class StudentServiceIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration VISIBLE = Duration.ofSeconds(10);

  private static Http.Resp send(ServerProcess n, String method, String pathAndQuery, String body) {
    return body == null
        ? Http.raw(n.url(), method, pathAndQuery, null)
        : Http.raw(n.url(), method, pathAndQuery, body, "Content-Type", "application/json");
  }

  private static double percentile(long[] nanos, int p) {
    long[] sorted = nanos.clone();
    java.util.Arrays.sort(sorted);
    int i = Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1);
    return sorted[Math.max(0, i)] / 1e6;
  }

  @Test
  void addUpdateDelete_throughOneInstance_reachEveryInstance() throws Exception {
    Path data = Files.createTempDirectory("lockstep-students-");
    try (ServerCluster cluster =
        PeerClusterIT.loopbackPeers(data, 3).keyPrefix("students").args("--students").start()) {
      List<ServerProcess> nodes = cluster.nodes();
      String ann = "{\"id\":42,\"name\":\"Ann\",\"age\":20}";

      // add through instance 0: the answer is the stored row, with its revision
      Http.Resp add = send(nodes.get(0), "POST", "/student/add", ann);
      assertThat(add.status()).as(add.body()).isEqualTo(200);
      assertThat(add.body()).isEqualTo(ann);
      long added = add.revision();
      assertThat(added).isPositive();

      // visible from memory on all three, by itself (no session token needed)...
      for (ServerProcess n : nodes) {
        await()
            .atMost(VISIBLE)
            .untilAsserted(
                () -> {
                  Http.Resp r = send(n, "GET", "/student/id?id=42", null);
                  assertThat(r.status()).as("%s: %s", n.id(), r.body()).isEqualTo(200);
                  assertThat(r.body()).isEqualTo(ann);
                });
      }
      // ...and at once with min_revision, on every instance
      for (ServerProcess n : nodes) {
        Http.Resp r = send(n, "GET", "/student/id?id=42&min_revision=" + added, null);
        assertThat(r.status()).as(n.id()).isEqualTo(200);
        assertThat(r.revision()).isEqualTo(added);
      }

      // the id exists: an add through another instance is 409, nothing changed
      Http.Resp again =
          send(nodes.get(1), "POST", "/student/add", "{\"id\":42,\"name\":\"Bob\",\"age\":30}");
      assertThat(again.status()).as(again.body()).isEqualTo(409);
      assertThat(JSON.readTree(again.body()).get("error").asText()).isEqualTo("conflict");

      // update through instance 2: every instance serves the new row
      String ann21 = "{\"id\":42,\"name\":\"Ann\",\"age\":21}";
      Http.Resp upd = send(nodes.get(2), "PUT", "/student/update", ann21);
      assertThat(upd.status()).as(upd.body()).isEqualTo(200);
      for (ServerProcess n : nodes) {
        Http.Resp r = send(n, "GET", "/student/id?id=42&min_revision=" + upd.revision(), null);
        assertThat(r.body()).as(n.id()).isEqualTo(ann21);
      }
      Http.Resp add7 =
          send(nodes.get(1), "POST", "/student/add", "{\"id\":7,\"name\":\"Cy\",\"age\":9}");
      assertThat(add7.status()).as(add7.body()).isEqualTo(200);
      for (ServerProcess n : nodes) {
        Http.Resp all = send(n, "GET", "/students?min_revision=" + add7.revision(), null);
        assertThat(all.status()).isEqualTo(200);
        JsonNode list = JSON.readTree(all.body());
        assertThat(list).hasSize(2);
        assertThat(list.get(0).get("id").asLong()).isEqualTo(7); // sorted by id
        assertThat(list.get(1).toString()).isEqualTo(ann21);
      }

      // delete through instance 1: gone on all three
      Http.Resp del = send(nodes.get(1), "DELETE", "/student/delete?id=42", null);
      assertThat(del.status()).as(del.body()).isEqualTo(204);
      for (ServerProcess n : nodes) {
        await()
            .atMost(VISIBLE)
            .untilAsserted(
                () -> {
                  Http.Resp r = send(n, "GET", "/student/id?id=42", null);
                  assertThat(r.status()).as("%s: %s", n.id(), r.body()).isEqualTo(404);
                  assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("not_found");
                });
        Http.Resp all = send(n, "GET", "/students?min_revision=" + del.revision(), null);
        assertThat(JSON.readTree(all.body())).hasSize(1);
      }
      // deleting it again, anywhere: 404
      assertThat(send(nodes.get(2), "DELETE", "/student/delete?id=42", null).status())
          .isEqualTo(404);

      // 300 adds round-robin, each read at once on the next instance with the add's revision:
      // every one is there (read-your-writes across instances); the times are printed.
      int n = 300;
      long[] addNanos = new long[n];
      long[] readNanos = new long[n];
      long last = 0;
      for (int i = 0; i < n; i++) {
        ServerProcess writer = nodes.get(i % 3);
        ServerProcess reader = nodes.get((i + 1) % 3);
        String row = "{\"id\":" + (1000 + i) + ",\"name\":\"S" + i + "\",\"age\":" + (i % 90) + "}";
        long t0 = System.nanoTime();
        Http.Resp a = send(writer, "POST", "/student/add", row);
        long t1 = System.nanoTime();
        Http.Resp r =
            send(
                reader,
                "GET",
                "/student/id?id=" + (1000 + i) + "&min_revision=" + a.revision(),
                null);
        long t2 = System.nanoTime();
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(row);
        last = a.revision();
        addNanos[i] = t1 - t0;
        readNanos[i] = t2 - t1;
      }
      System.out.printf(
          "StudentServiceIT: %d adds on 3 peer instances: POST /student/add p50 %.2f ms p99 %.2f ms;"
              + " then GET /student/id?min_revision on the next instance p50 %.2f ms p99 %.2f ms%n",
          n,
          percentile(addNanos, 50),
          percentile(addNanos, 99),
          percentile(readNanos, 50),
          percentile(readNanos, 99));
      for (ServerProcess node : nodes) { // student 7 and the 300
        Http.Resp all = send(node, "GET", "/students?min_revision=" + last, null);
        assertThat(all.status()).isEqualTo(200);
        assertThat(JSON.readTree(all.body())).hasSize(n + 1);
      }
    } finally {
      TempDirs.deleteTree(data);
    }
  }
}
