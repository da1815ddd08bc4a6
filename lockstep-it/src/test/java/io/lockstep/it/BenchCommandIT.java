package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.TempDirs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The tools behind the figures in docs/benchmarks.md, end to end: {@code lockstep bench
 * --spawn-local} with {@code --probe counters --counter-batch} and with {@code --probe propagation}
 * start their own local cluster, write their reports, exit 0, and leave no process behind.
 */
class BenchCommandIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Run(int exit, String output, Path out) {}

  private static Run bench(Path tmp, String... args) throws Exception {
    Path jar =
        Path.of(System.getProperty("lockstep.server.jar", "../lockstep-cli/target/lockstep.jar"));
    Path out = Files.createDirectories(tmp.resolve("out"));
    Path log = tmp.resolve("bench.log");
    List<String> cmd =
        new ArrayList<>(
            List.of(
                ProcessHandle.current().info().command().orElseThrow(),
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-Djava.io.tmpdir=" + tmp,
                "-jar",
                jar.toString(),
                "bench"));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("--out", out.toString()));
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Set<ProcessHandle> children = new HashSet<>();
    await()
        .atMost(Duration.ofSeconds(150))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              p.descendants().forEach(children::add);
              return !p.isAlive();
            });
    assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
    String text = Files.readString(log, StandardCharsets.UTF_8);
    assertThat(children)
        .as("the bench started its own servers\n" + text)
        .hasSizeGreaterThanOrEqualTo(3);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                children.forEach(
                    c -> assertThat(c.isAlive()).as("left behind: %s", c.info()).isFalse()));
    return new Run(p.exitValue(), text, out);
  }

  @Test
  void counters_withSpawnLocalAndCounterBatch_exactAndReported() throws Exception {
    Path tmp = Files.createTempDirectory("lockstep-bench-it-");
    try {
      Run r =
          bench(
              tmp,
              "--spawn-local",
              "3",
              "--probe",
              "counters",
              "--counter-batch",
              "20ms",
              "--users",
              "8",
              "--duration",
              "3s");
      assertThat(r.exit()).as(r.output()).isZero();
      assertThat(r.output()).contains("servers batching for 20 ms").contains("exact");
      JsonNode j = JSON.readTree(r.out().resolve("counters.json").toFile());
      assertThat(j.get("instances").asInt()).isEqualTo(3);
      assertThat(j.get("counterBatchMillis").asLong()).isEqualTo(20);
      assertThat(j.get("acknowledged").asLong()).as(r.output()).isPositive();
      assertThat(j.get("failed").asLong()).isZero();
      assertThat(j.get("exact").asBoolean()).isTrue();
    } finally {
      TempDirs.deleteTree(tmp);
    }
  }

  @Test
  void propagation_withSpawnLocal_measuresEveryOtherInstance() throws Exception {
    Path tmp = Files.createTempDirectory("lockstep-bench-it-");
    try {
      Run r =
          bench(
              tmp,
              "--spawn-local",
              "3",
              "--probe",
              "propagation",
              "--probe-rate",
              "20",
              "--warmup",
              "1s",
              "--duration",
              "3s");
      assertThat(r.exit()).as(r.output()).isZero();
      JsonNode j = JSON.readTree(r.out().resolve("propagation.json").toFile());
      assertThat(j.get("samples").asLong()).as(r.output()).isGreaterThan(20);
      assertThat(j.get("missed").asLong()).isZero();
      assertThat(j.get("perInstance").size()).isEqualTo(2);
    } finally {
      TempDirs.deleteTree(tmp);
    }
  }
}
