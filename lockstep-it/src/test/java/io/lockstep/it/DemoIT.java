package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.process.TempDirs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The demo runs its scenario, exits 0 after --duration, and leaves no process behind: from a copy
 * of the runnable jar in a folder outside the checkout, and through {@code bin/lockstep}.
 */
class DemoIT {

  @Test
  void
      demo_fromACopyOfTheJar_outsideTheCheckout_showsTheValueReachingEveryInstance_exitsZero_leavesNoProcess()
          throws Exception {
    Path built =
        Path.of(System.getProperty("lockstep.server.jar", "../lockstep-cli/target/lockstep.jar"));
    assertThat(built).as("built by the package phase").isRegularFile();
    Path out = Files.createTempFile("lockstep-demo-", ".log");
    Path tmp = Files.createTempDirectory("lockstep-demo-tmp-");
    Path elsewhere = Files.createTempDirectory("lockstep-demo-elsewhere-");
    try {
      Path jar = Files.copy(built, elsewhere.resolve("lockstep.jar"));
      Path checkout = Path.of("").toAbsolutePath().getParent();
      assertThat(elsewhere.toAbsolutePath().startsWith(checkout))
          .as("%s is outside %s", elsewhere, checkout)
          .isFalse();
      String java = ProcessHandle.current().info().command().orElseThrow();
      ProcessBuilder pb =
          new ProcessBuilder(
                  java,
                  "-Xmx256m",
                  "-XX:+UseSerialGC",
                  "-Djava.io.tmpdir=" + tmp,
                  "-jar",
                  jar.toString(),
                  "demo",
                  "--instances",
                  "3",
                  "--duration",
                  "10s")
              .directory(elsewhere.toFile());
      pb.environment().remove("LOCKSTEP_SERVER_JAR"); // the jar must find itself
      Process demo = pb.redirectErrorStream(true).redirectOutput(out.toFile()).start();
      Set<ProcessHandle> children = new HashSet<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (demo.isAlive() && System.nanoTime() < deadline) {
        demo.descendants().forEach(children::add);
        Thread.sleep(100);
      }
      assertThat(demo.waitFor(1, TimeUnit.SECONDS)).as("demo ended in time").isTrue();
      String text = Files.readString(out, StandardCharsets.UTF_8);
      assertThat(demo.exitValue()).as(text).isZero();

      Matcher m =
          Pattern.compile("(instance-\\d+) +serves the new value after ([0-9.]+) ms").matcher(text);
      Set<String> reached = new HashSet<>();
      while (m.find()) {
        reached.add(m.group(1));
        assertThat(Double.parseDouble(m.group(2))).isLessThan(10_000);
      }
      assertThat(reached)
          .as(text)
          .containsExactlyInAnyOrder("instance-1", "instance-2", "instance-3");
      assertThat(text).contains("answers 404 after").contains("-> 412").contains("GET /cluster");
      // The loading group: each of the 3 ids has one date, answered by all 3, loaded once.
      Matcher ids =
          Pattern.compile("item-\\S+ +date_created (\\S+), answered by (\\d+) instances")
              .matcher(text);
      int shown = 0;
      while (ids.find()) {
        shown++;
        assertThat(ids.group(1)).as("one date_created per id: %s", text).doesNotContain("/");
        assertThat(Integer.parseInt(ids.group(2))).as(text).isEqualTo(3);
      }
      assertThat(shown).as(text).isEqualTo(3);
      assertThat(text).contains("loader calls over the whole cluster: 3 for 3 ids");

      assertThat(children).as("the demo started three servers").hasSizeGreaterThanOrEqualTo(3);
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () -> {
                for (ProcessHandle child : children) {
                  List<String> cmd = child.info().command().stream().toList();
                  assertThat(child.isAlive())
                      .as("child %s %s outlived the demo", child.pid(), cmd)
                      .isFalse();
                }
              });
      try (var left = Files.list(tmp)) {
        assertThat(left.toList()).as("folders the demo left behind").isEmpty();
      }
    } finally {
      Files.deleteIfExists(out);
      TempDirs.deleteTree(tmp);
      TempDirs.deleteTree(elsewhere);
    }
  }

  @Test
  void demo_killedWithSigkill_leavesNoProcess() throws Exception {
    Path launcher = Path.of(System.getProperty("lockstep.launcher", "../bin/lockstep"));
    Path out = Files.createTempFile("lockstep-demo-", ".log");
    Path tmp = Files.createTempDirectory("lockstep-demo-tmp-");
    Process demo =
        demoProcess(tmp, launcher.toString(), "demo", "--instances", "2")
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .start();
    try {
      Set<ProcessHandle> children = new HashSet<>();
      await()
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(100))
          .until(
              () -> {
                demo.descendants().forEach(children::add);
                return Files.readString(out, StandardCharsets.UTF_8)
                        .contains("Press Ctrl-C to stop.")
                    || !demo.isAlive();
              });
      assertThat(demo.isAlive()).as(Files.readString(out, StandardCharsets.UTF_8)).isTrue();
      demo.descendants().forEach(children::add);
      assertThat(children).hasSizeGreaterThanOrEqualTo(2);
      demo.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                for (ProcessHandle child : children) {
                  assertThat(child.isAlive())
                      .as("child %s %s outlived a killed demo", child.pid(), child.info().command())
                      .isFalse();
                }
              });
    } finally {
      demo.destroyForcibly();
      Files.deleteIfExists(out);
      TempDirs.deleteTree(tmp); // a killed demo cannot remove its own folders
    }
  }

  /** The demo with its own temporary folder, so the test can check and remove what it leaves. */
  private static ProcessBuilder demoProcess(Path tmp, String... command) {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("LOCKSTEP_JAVA_OPTS", "-Xmx256m -XX:+UseSerialGC -Djava.io.tmpdir=" + tmp);
    pb.environment().put("LOCKSTEP_NO_BUILD", "1"); // the build that runs this test made the jar
    return pb;
  }
}
