package io.lockstep.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command line, run in-process: help, version, usage errors, and {@code serve} end to end. */
class MainTest {
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /** One in-process run: exit code, stdout, stderr. */
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

  @Test
  void help_listsTheCommands() {
    Run r = run("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("Usage: lockstep").contains("serve").contains("--version");
    assertThat(run("help", "serve").out()).contains("Usage: lockstep serve");
  }

  @Test
  void serveHelp_documentsEveryFlagWithItsEnvironmentVariableAndDefault() {
    Run r = run("serve", "--help");
    assertThat(r.code()).isZero();
    String help = r.out().replaceAll("\\s+", " ");
    assertThat(help)
        .contains(
            "--port",
            "Env PORT",
            "Default: 8080",
            "--bind",
            "Env LOCKSTEP_BIND",
            "Default: 127.0.0.1",
            "--backend",
            "Env LOCKSTEP_BACKEND",
            "Default: peer:",
            "etcd://127.0.0.1:2379,127.0.0.1:22379",
            "--key-prefix",
            "Env USER_KEY_PREFIX",
            "--mirror",
            "Env LOCKSTEP_MIRROR",
            "postgresql://db:5432/student --mirror student",
            "--students",
            "Env LOCKSTEP_STUDENTS",
            "Default: lockstep",
            "--instance-id",
            "CF_INSTANCE_INDEX",
            "HOSTNAME",
            "generated",
            "--advertise-url",
            "Env LOCKSTEP_ADVERTISE_URL",
            "CF_INSTANCE_INTERNAL_IP",
            "POD_IP",
            "never loopback",
            "--token-file",
            "Env LOCKSTEP_TOKEN_FILE",
            "LOCKSTEP_TOKENS",
            "--cluster-secret-file",
            "LOCKSTEP_CLUSTER_SECRET",
            "--allowed-hosts",
            "Env LOCKSTEP_ALLOWED_HOSTS",
            "--insecure",
            "--max-total-keys",
            "Env LOCKSTEP_MAX_TOTAL_KEYS",
            "--mode",
            "Env LOCKSTEP_MODE",
            "--near-max-keys",
            "Env LOCKSTEP_NEAR_MAX_KEYS",
            "--near-on-change",
            "Env LOCKSTEP_NEAR_ON_CHANGE",
            "--max-total-bytes",
            "--max-connections",
            "Env LOCKSTEP_MAX_CONNECTIONS",
            "--max-long-polls",
            "--idle-timeout",
            "--header-timeout",
            "--min-request-data-rate",
            "--max-header-bytes",
            "--max-counter-names",
            "--reconcile-every",
            "Env LOCKSTEP_RECONCILE_EVERY",
            "Default: 0ms (off)",
            "--cluster-cache",
            "--max-value-bytes",
            "Env LOCKSTEP_MAX_VALUE_BYTES",
            "Default: 1048576",
            "--max-key-bytes",
            "Env LOCKSTEP_MAX_KEY_BYTES",
            "Default: 1024",
            "--max-wait",
            "Env LOCKSTEP_MAX_WAIT",
            "Default: 10s",
            "--refresh-timeout",
            "Env LOCKSTEP_REFRESH_TIMEOUT",
            "Default: 3s",
            "--help",
            "--version");
    // Every option the command declares appears in its help.
    CommandLine serve = Main.commandLine().getSubcommands().get("serve");
    for (CommandLine.Model.OptionSpec o : serve.getCommandSpec().options()) {
      if (o.hidden()) {
        assertThat(o.longestName()).isEqualTo("--auth-token"); // only there to refuse it
        continue;
      }
      assertThat(help).contains(o.longestName());
    }
  }

  @Test
  void version_printsTheBuildVersion() {
    Run r = run("--version");
    assertThat(r.code()).isZero();
    assertThat(r.out()).startsWith("lockstep ").doesNotContain("unknown").contains("Java ");
    assertThat(run("serve", "--version").out()).startsWith("lockstep ");
  }

  @Test
  void serve_withAnEmptyBackend_isAUsageErrorThatSaysWhatToGive() {
    Run r = run("serve", "--port", "0", "--backend", " ");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err())
        .contains("Missing backend")
        .contains("--backend")
        .contains("LOCKSTEP_BACKEND")
        .contains("lockstep serve --help");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void serve_withBadValues_isAUsageErrorNamingTheFlag() {
    assertUsageError(new String[] {"serve", "--backend", "mem://x", "--port", "70000"}, "--port");
    assertUsageError(new String[] {"serve", "--backend", "mem://x", "--port", "http"}, "--port");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--max-wait", "10"}, "--max-wait");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--max-wait", "0s"}, "--max-wait");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--refresh-timeout", "0ms"},
        "--refresh-timeout");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--refresh-timeout", "3"},
        "--refresh-timeout");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--max-key-bytes", "0"}, "--max-key-bytes");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--max-value-bytes", "-1"},
        "--max-value-bytes");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--key-prefix", "ends/"}, "--key-prefix");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--instance-id", "has space"},
        "--instance-id");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--advertise-url", "host:1"},
        "--advertise-url");
    assertUsageError(new String[] {"serve", "--backend", "no-scheme"}, "--backend");
    assertUsageError(new String[] {"serve", "--backend", "mem://x", "--mode", "half"}, "--mode");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--mode", "near", "--near-max-keys", "0"},
        "--near-max-keys");
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--near-on-change", "drop"},
        "--near-on-change");
    assertUsageError(new String[] {"serve", "--no-such-flag"}, "--no-such-flag");
    assertUsageError(new String[] {}, "Missing command");
    assertUsageError(new String[] {"bogus"}, "bogus");
  }

  @Test
  void serve_withBadTlsFlags_isAUsageErrorNamingTheFlag(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    String missing = dir.resolve("missing.pem").toString();
    String garbage = java.nio.file.Files.writeString(dir.resolve("g.pem"), "not PEM").toString();
    String[] base = {"serve", "--backend", "mem://x", "--port", "0", "--bind", "127.0.0.1"};
    assertUsageError(concat(base, "--tls-cert", missing, "--tls-key", garbage), "--tls-cert");
    assertUsageError(concat(base, "--tls-cert", garbage), "--tls-key");
    assertUsageError(concat(base, "--tls-client-ca", garbage), "--tls-client-ca");
    assertUsageError(concat(base, "--tls-trust", garbage), "--tls-trust");
    assertUsageError(
        concat(base, "--tls-cert", garbage, "--tls-key", garbage, "--tls-reload-interval", "0s"),
        "--tls-reload-interval");
    Run r = run(concat(base, "--tls-cert", garbage, "--tls-key", garbage));
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("tls:").contains("g.pem");
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void serve_withABackendSchemeNotOnTheClassPath_failsWithoutHoldingThePort() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Run r =
        run(
            "serve",
            "--backend",
            "nosuch://127.0.0.1:1",
            "--port",
            Integer.toString(port),
            "--bind",
            "127.0.0.1");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("no backend for scheme 'nosuch'");
    try (ServerSocket again = new ServerSocket(port)) { // released
      assertThat(again.getLocalPort()).isEqualTo(port);
    }
  }

  @Test
  void mirror_onlyWithAPostgresBackend_andAPlainTableName_elseAUsageErrorAtStart() {
    assertUsageError(
        new String[] {"serve", "--backend", "mem://x", "--mirror", "student"}, "--mirror");
    assertUsageError(
        new String[] {"serve", "--backend", "etcd://127.0.0.1:2379", "--mirror", "student"},
        "PostgreSQL");
    assertUsageError(new String[] {"serve", "--mirror", "student"}, "--mirror"); // peer: default
    assertUsageError(
        new String[] {"serve", "--backend", "postgresql://h/db", "--mirror", "student; drop"},
        "--mirror");
    assertUsageError(
        new String[] {
          "serve", "--backend", "postgresql://h/db?mirror=orders", "--mirror", "student"
        },
        "already mirrors");
    assertUsageError(
        new String[] {
          "serve", "--backend", "postgresql://h/db", "--mirror", "orders", "--students"
        },
        "--students");
  }

  private static ServeCommand parsed(String... args) {
    CommandLine cl = Main.commandLine();
    String[] all = new String[args.length + 1];
    all[0] = "serve";
    System.arraycopy(args, 0, all, 1, args.length);
    cl.parseArgs(all);
    ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
    serve.env = Map.of();
    return serve;
  }

  @Test
  void mirror_addsItsTableToTheBackendUri_andStudentTurnsTheStudentRoutesOn() {
    ServeCommand s = parsed("--backend", "postgresql://h:5432/student", "--mirror", "student");
    assertThat(s.backendUri()).isEqualTo("postgresql://h:5432/student?mirror=student");
    assertThat(s.settings().students()).isTrue();
    assertThat(s.nodeBuilder().config().backendUri())
        .isEqualTo("postgresql://h:5432/student?mirror=student");

    s = parsed("--backend", "postgres://h/db?sslmode=disable", "--mirror", "public.student");
    assertThat(s.backendUri()).isEqualTo("postgres://h/db?sslmode=disable&mirror=public.student");
    assertThat(s.settings().students()).isTrue();

    s = parsed("--backend", "postgresql://h/db", "--mirror", "orders");
    assertThat(s.backendUri()).isEqualTo("postgresql://h/db?mirror=orders");
    assertThat(s.settings().students()).isFalse();

    // the same table in the URI and the flag: said once
    s = parsed("--backend", "postgresql://h/db?mirror=student", "--mirror", "student");
    assertThat(s.backendUri()).isEqualTo("postgresql://h/db?mirror=student");
    assertThat(s.settings().students()).isTrue();

    s = parsed("--backend", "mem://x", "--students");
    assertThat(s.backendUri()).isEqualTo("mem://x");
    assertThat(s.settings().students()).isTrue();

    s = parsed("--backend", "mem://x");
    assertThat(s.settings().students()).isFalse();
  }

  private static void assertUsageError(String[] args, String mentioned) {
    Run r = run(args);
    assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
    assertThat(r.err()).as(String.join(" ", args)).contains(mentioned).contains("--help");
  }

  @Test
  void durations_readAsPeopleWriteThem() {
    assertThat(DurationConverter.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(DurationConverter.parse("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(DurationConverter.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(DurationConverter.parse(" 1h ")).isEqualTo(Duration.ofHours(1));
    assertThat(DurationConverter.parse("PT1.5S")).isEqualTo(Duration.ofMillis(1500));
    for (String bad : List.of("10", "-1s", "1d", "abc", "", "s", "1.5s")) {
      assertThatThrownBy(() -> DurationConverter.parse(bad))
          .as(bad)
          .isInstanceOf(CommandLine.TypeConversionException.class)
          .hasMessageContaining("500ms");
    }
  }

  @Test
  void instanceId_comesFromTheFlagThenCloudFoundryThenHostname() {
    CommandLine cl = Main.commandLine();
    ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
    serve.env = Map.of("CF_INSTANCE_INDEX", "3", "HOSTNAME", "pod-7");
    assertThat(serve.instanceId()).isEqualTo("3");
    serve.env = Map.of("HOSTNAME", "pod-7");
    assertThat(serve.instanceId()).isEqualTo("pod-7");
    serve.env = Map.of();
    assertThat(serve.instanceId()).isNull();
    serve.instanceId = "web-1";
    serve.env = Map.of("CF_INSTANCE_INDEX", "3");
    assertThat(serve.instanceId()).isEqualTo("web-1");
  }

  @Test
  void backendUri_isShownWithSecretsMasked() {
    assertThat(ServeCommand.redact("etcd://127.0.0.1:2379,127.0.0.1:22379"))
        .isEqualTo("etcd://127.0.0.1:2379,127.0.0.1:22379");
    assertThat(ServeCommand.redact("etcd://user:pw@10.0.0.1:2379"))
        .isEqualTo("etcd://user:***@10.0.0.1:2379");
    assertThat(ServeCommand.redact("redis://h:6379?password=x&db=1&authToken=y"))
        .isEqualTo("redis://h:6379?password=***&db=1&authToken=***");
  }

  @Test
  void serve_onPortZero_printsTheLineThenServesAndStopsCleanly() throws Exception {
    CommandLine cl = Main.commandLine();
    ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
    serve.env =
        Map.of(
            "CF_INSTANCE_INDEX",
            "4",
            "VCAP_APPLICATION",
            "{\"application_name\": \"cli\"}",
            "LOCKSTEP_TOKENS",
            "read tok-read-0123456789abcdef, admin tok-admin-0123456789abcdef");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    CompletableFuture<Integer> exit =
        CompletableFuture.supplyAsync(
            () ->
                cl.execute(
                    "serve",
                    "--backend",
                    "mem://cli-test",
                    "--port",
                    "0",
                    "--bind",
                    "127.0.0.1",
                    "--key-prefix",
                    "cli",
                    "--max-wait",
                    "2s"));

    Pattern line =
        Pattern.compile(
            "lockstep serving on http://127\\.0\\.0\\.1:(\\d+) \\(instance 4, backend mem://cli-test\\)\\n");
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> line.matcher(out.toString()).find() || exit.isDone());
    Matcher m = line.matcher(out.toString());
    assertThat(m.find()).as("stdout: %s, stderr: %s", out, err).isTrue();
    int port = Integer.parseInt(m.group(1));
    assertThat(port).isPositive();

    try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
      HttpResponse<String> stats =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/stats"))
                  .header("Authorization", "Bearer tok-admin-0123456789abcdef")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(stats.statusCode()).isEqualTo(200);
      JsonNode s = JSON.readTree(stats.body());
      assertThat(s.get("id").asText()).isEqualTo("4");
      assertThat(s.get("url").asText())
          .isEqualTo("http://127.0.0.1:" + port); // the real port, not 0
      HttpResponse<String> put =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/config/x"))
                  .PUT(HttpRequest.BodyPublishers.ofString("v"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(put.statusCode()).isEqualTo(401); // the tokens took effect
      assertThat(s.get("application").toString()).isEqualTo("{\"application_name\":\"cli\"}");
      HttpResponse<String> current =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/current"))
                  .header("Authorization", "Bearer tok-read-0123456789abcdef")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(JSON.readTree(current.body()).get("Instance").asText())
          .isEqualTo("4"); // the environment reached the routes
    }

    serve.stop();
    assertThat(exit.get(10, java.util.concurrent.TimeUnit.SECONDS)).isZero();
    assertThat(MemBackendProvider.SOURCES.get("cli-test").backend().membership().members().get())
        .isEmpty();
    try (ServerSocket again = new ServerSocket(port)) { // the port is released
      assertThat(again.getLocalPort()).isEqualTo(port);
    }
  }

  /**
   * The node of {@code serve} asks the members' {@code /_lockstep/replica} with the cluster secret:
   * a member record that points at this very server under another id is reached (the route let the
   * secret through, and the answer names the server's own instance), not refused with 401.
   */
  @Test
  void serve_givesItsNodeTheClusterSecret_forFleet() throws Exception {
    String secret = "cli-cluster-secret-0123456789";
    CommandLine cl = Main.commandLine();
    ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
    serve.env =
        Map.of(
            "CF_INSTANCE_INDEX",
            "7",
            "LOCKSTEP_TOKENS",
            "admin tok-admin-0123456789abcdef",
            "LOCKSTEP_CLUSTER_SECRET",
            secret);
    cl.setOut(new PrintWriter(new StringWriter(), true));
    cl.setErr(new PrintWriter(new StringWriter(), true));
    // On a thread of its own, not the common pool: serve blocks its thread until stopped, and the
    // common pool (one thread on a two-core machine) is where the node completes fleet().
    CompletableFuture<Integer> exit = new CompletableFuture<>();
    Thread.ofPlatform()
        .name("cli-fleet-serve")
        .start(
            () ->
                exit.complete(
                    cl.execute(
                        "serve",
                        "--backend",
                        "mem://cli-fleet",
                        "--port",
                        "0",
                        "--key-prefix",
                        "cli")));
    try {
      await().atMost(Duration.ofSeconds(20)).until(() -> serve.server() != null || exit.isDone());
      assertThat(exit).isNotDone();
      io.lockstep.Lockstep node = serve.server().node();
      assertThat(node.config().peerSecret()).isEqualTo(secret);
      MemBackendProvider.SOURCES
          .get("cli-fleet")
          .backend()
          .membership()
          .register(
              new io.lockstep.Member(
                  "alias", serve.server().advertiseUrl(), java.time.Instant.now()))
          .get();
      io.lockstep.FleetStatus st = node.fleet().get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(st.members())
          .extracting(r -> r.member().id() + " " + r.error())
          .containsExactly(
              "7 null", "alias " + serve.server().advertiseUrl() + " answered as instance '7'");
    } finally {
      serve.stop();
      MemBackendProvider.SOURCES.get("cli-fleet").dropMember("alias");
    }
    assertThat(exit.get(10, java.util.concurrent.TimeUnit.SECONDS)).isZero();
  }

  @Test
  void serve_onAnAddressOtherThanLoopback_withoutTokens_refusesToStart() {
    for (String bind : List.of("0.0.0.0", "::", "10.1.2.3", "example.com")) {
      Run r = run("serve", "--backend", "mem://refused", "--port", "0", "--bind", bind);
      assertThat(r.code()).as(bind).isEqualTo(2);
      assertThat(r.err())
          .as(bind)
          .contains("Refusing to listen on " + bind + " without access tokens")
          .contains("--token-file", "LOCKSTEP_TOKENS", "--insecure", "--help");
      assertThat(r.out()).isEmpty();
    }
  }

  @Test
  void serve_withATokenOnTheCommandLineOrTheOldVariable_refusesAndSaysWhereTokensGo() {
    Run r = run("serve", "--backend", "mem://x", "--port", "0", "--auth-token", "secret");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("no longer read", "--token-file", "LOCKSTEP_TOKENS");
    assertThat(r.err()).doesNotContain("secret'");
    CommandLine cl = Main.commandLine();
    ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
    serve.env = Map.of("LOCKSTEP_AUTH_TOKEN", "old-token");
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err, true));
    cl.setOut(new PrintWriter(new StringWriter(), true));
    assertThat(cl.execute("serve", "--backend", "mem://x", "--port", "0")).isEqualTo(2);
    assertThat(err.toString()).contains("LOCKSTEP_AUTH_TOKEN", "no longer read");
  }

  @Test
  void tokenFile_takesScopedLinesWithComments_andABadLineIsAUsageErrorThatHidesTheToken()
      throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("lockstep-tokens-");
    try {
      java.nio.file.Path good = dir.resolve("tokens");
      java.nio.file.Files.writeString(
          good,
          "# rotated 2024-05-01\n"
              + "admin  adm-0123456789abcdef0123\n"
              + "read rd-old-0123456789abcdef # old, remove after the rollout\n"
              + "\n"
              + "read:rd-new-0123456789abcdef\n");
      CommandLine cl = Main.commandLine();
      ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
      cl.parseArgs(
          "serve", "--backend", "mem://x", "--token-file", good.toString(), "--bind", "0.0.0.0");
      serve.env = Map.of("LOCKSTEP_TOKENS", "write wr-0123456789abcdef0123");
      io.lockstep.server.AccessSettings access = serve.access();
      assertThat(access.tokens())
          .extracting(t -> t.scope().label() + " " + t.token())
          .containsExactly(
              "admin adm-0123456789abcdef0123",
              "read rd-old-0123456789abcdef",
              "read rd-new-0123456789abcdef",
              "write wr-0123456789abcdef0123");
      assertThat(access.toString()).doesNotContain("0123456789");

      java.nio.file.Path bad = dir.resolve("bad");
      java.nio.file.Files.writeString(
          bad, "read fine-0123456789abcdef\nroot supersecret-0123456789\n");
      Run r = run("serve", "--backend", "mem://x", "--port", "0", "--token-file", bad.toString());
      assertThat(r.code()).isEqualTo(2);
      assertThat(r.err()).contains("line 2", "unknown scope 'root'").doesNotContain("supersecret");
      java.nio.file.Files.writeString(bad, "read short\n");
      r = run("serve", "--backend", "mem://x", "--port", "0", "--token-file", bad.toString());
      assertThat(r.code()).isEqualTo(2);
      assertThat(r.err()).contains("line 1", "shorter than 16").doesNotContain("short\n");
    } finally {
      try (var files = java.nio.file.Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void serve_insecure_onEveryInterface_startsAndWarnsThatItIsOpen() throws Exception {
    // Logs go through slf4j (slf4j-simple writes to System.err at each call), so read stderr.
    java.io.PrintStream realErr = System.err;
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
    CommandLine cl = Main.commandLine();
    ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
    serve.env = Map.of();
    StringWriter out = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(new StringWriter(), true));
    try {
      CompletableFuture<Integer> exit =
          CompletableFuture.supplyAsync(
              () ->
                  cl.execute(
                      "serve",
                      "--backend",
                      "mem://insecure",
                      "--port",
                      "0",
                      "--bind",
                      "0.0.0.0",
                      "--insecure"));
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> out.toString().contains("lockstep serving on") || exit.isDone());
      assertThat(out.toString()).contains("lockstep serving on http://0.0.0.0:");
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () ->
                  assertThat(err.toString(java.nio.charset.StandardCharsets.UTF_8))
                      .contains("WARN", "INSECURE", "0.0.0.0", "without access tokens"));
      serve.stop();
      assertThat(exit.get(10, java.util.concurrent.TimeUnit.SECONDS)).isZero();
    } finally {
      System.setErr(realErr);
    }
  }
}
