package io.lockstep.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.Lockstep;
import io.lockstep.WriteResult;
import io.lockstep.process.FreePorts;
import io.lockstep.server.LockstepServer;
import io.lockstep.server.ServerSettings;
import io.lockstep.spi.Backend;
import io.lockstep.testkit.DriftBackendProvider;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code lockstep check} in process, end to end: a server over a node on the {@code mem} test
 * backend whose feed skips the changes of {@code d/} keys (the testkit's drift hook); the command
 * lists the same in-memory source, names and repairs the drifted key, exits 0, then 1 with {@code
 * --no-repair}, 3 for an unreachable target, 2 for usage errors.
 */
class CheckCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Run(int code, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void help_documentsTheOptionsAndTheExitStatus() {
    Run r = run("check", "--help");
    assertThat(r.code()).isZero();
    assertThat(r.out().replaceAll("\\s+", " "))
        .contains("--backend", "--targets", "--key-prefix", "--json", "--[no-]repair")
        .contains("--token-file", "--timeout", "Exit status: 0 no drift left");
    assertThat(run("--help").out()).contains("check");
  }

  @Test
  void usageErrors_exit2() {
    Run noTargets = run("check", "--backend", "mem://x");
    assertThat(noTargets.code()).isEqualTo(2);
    assertThat(noTargets.err()).contains("--targets");
    Run badTimeout =
        run("check", "--backend", "mem://x", "--targets", "http://h:1", "--timeout", "0s");
    assertThat(badTimeout.code()).isEqualTo(2);
  }

  @Test
  void driftedKey_namedAndRepaired_thenNone_thenReportOnlyExits1() throws Exception {
    String name = "check-cli-" + System.nanoTime();
    String uri = "mem://" + name;
    // The same in-memory source for the check (mem://name) and, through the drift hook, the node.
    Lockstep writer = Lockstep.builder().backend(uri).keyPrefix("lockstep").build();
    Backend source = MemBackendProvider.SOURCES.get(name).backend();
    Lockstep node =
        Lockstep.builder()
            .backend(DriftBackendProvider.wrap(source, "d/"))
            .keyPrefix("lockstep")
            .build();
    ServerSettings settings =
        ServerSettings.builder().bindHost("127.0.0.1").port(0).environment(Map.of()).build();
    try (writer;
        LockstepServer server = LockstepServer.start(settings, node)) {
      String url = "http://127.0.0.1:" + server.port();
      writer.map().put("k", b("1"), "text/plain");
      writer.map().put("d/x", b("old"), "text/plain");
      WriteResult w = writer.map().put("d/x", b("new"), "text/plain"); // skipped by the node
      assertThat(node.map().replica().awaitRevision(w.revision(), Duration.ofSeconds(5))).isTrue();
      assertThat(node.map().get("d/x").valueAsString()).isEqualTo("old");

      Run first = run("check", "--backend", uri, "--targets", url);

      assertThat(first.code()).as(first.out() + first.err()).isZero();
      assertThat(first.out()).contains("keys checked").contains("d/x  (repaired)");
      assertThat(node.map().get("d/x").valueAsString()).isEqualTo("new");
      Run second = run("check", "--backend", uri, "--targets", url, "--json");
      assertThat(second.code()).isZero();
      JsonNode report = JSON.readTree(second.out()).get("reports").get(0);
      assertThat(report.get("drifted")).isEmpty();
      assertThat(report.get("keysChecked").asLong()).isEqualTo(2);

      writer.map().delete("d/x"); // skipped too
      WriteResult t = writer.map().put("k", b("2"), "text/plain");
      node.map().replica().awaitRevision(t.revision(), Duration.ofSeconds(5));
      Run reportOnly = run("check", "--backend", uri, "--targets", url, "--no-repair", "--json");
      assertThat(reportOnly.code()).isEqualTo(1);
      JsonNode r = JSON.readTree(reportOnly.out()).get("reports").get(0);
      assertThat(r.get("drifted").get(0).asText()).isEqualTo("d/x");
      assertThat(r.get("unrepaired").get(0).asText()).isEqualTo("d/x");
      assertThat(node.map().get("d/x")).isNotNull();

      Run unreachable =
          run(
              "check",
              "--backend",
              uri,
              "--targets",
              "http://127.0.0.1:" + FreePorts.one(),
              "--timeout",
              "2s");
      assertThat(unreachable.code()).isEqualTo(3);
      assertThat(unreachable.out()).contains("not checked");
    }
  }

  @Test
  void instanceWithTokens_needsAnAdminTokenFromTheTokenFile(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    String name = "check-cli-tokens-" + System.nanoTime();
    String uri = "mem://" + name;
    Lockstep node = Lockstep.builder().backend(uri).keyPrefix("lockstep").build();
    String admin = "admin-token-0123456789abcdef";
    ServerSettings settings =
        ServerSettings.builder()
            .bindHost("127.0.0.1")
            .port(0)
            .environment(Map.of())
            .access(
                io.lockstep.server.AccessSettings.NONE.withTokens(
                    java.util.List.of(
                        new io.lockstep.server.AccessToken(io.lockstep.server.Scope.ADMIN, admin),
                        new io.lockstep.server.AccessToken(
                            io.lockstep.server.Scope.READ, "read-token-0123456789abcdef"))))
            .build();
    try (LockstepServer server = LockstepServer.start(settings, node)) {
      node.map().put("k", b("1"), "text/plain");
      String url = "http://127.0.0.1:" + server.port();
      java.nio.file.Path readFile = dir.resolve("read");
      java.nio.file.Files.writeString(readFile, "read-token-0123456789abcdef\n");
      java.nio.file.Path adminFile = dir.resolve("admin");
      java.nio.file.Files.writeString(adminFile, admin + "\n");

      Run none = run("check", "--backend", uri, "--targets", url);
      Run readOnly =
          run("check", "--backend", uri, "--targets", url, "--token-file", readFile.toString());
      Run ok =
          run("check", "--backend", uri, "--targets", url, "--token-file", adminFile.toString());

      assertThat(none.code()).isEqualTo(3);
      assertThat(none.err()).contains("401");
      assertThat(readOnly.code()).isEqualTo(3);
      assertThat(readOnly.err()).contains("403");
      assertThat(ok.code()).as(ok.out() + ok.err()).isZero();
    }
  }
}
