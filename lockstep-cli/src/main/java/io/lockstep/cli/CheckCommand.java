package io.lockstep.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lockstep.DriftCheck;
import io.lockstep.DriftReport;
import io.lockstep.server.DriftWire;
import io.lockstep.server.HttpDriftTarget;
import io.lockstep.spi.Snapshot;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code lockstep check}: lists the source once, then checks every target instance against it by
 * range digests over the instances' admin routes, and repairs what differs (docs/drift.md). Exits 0
 * when no drift is left, 1 when drift was found and not repaired, 3 when a target or the source
 * could not be checked.
 */
@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description =
        "Checks each target instance's copy of the map against the source of truth at one revision,"
            + " finds the keys that differ by range digests (moving digests and key summaries, not"
            + " values), and repairs them on the instance from the source. Prints a table, or JSON"
            + " with --json. Exit status: 0 no drift left, 1 drift found and not repaired, 3 a"
            + " target or the source could not be checked, 2 usage error.")
public final class CheckCommand implements Callable<Integer> {
  static final int UNREPAIRED = 1;
  static final int UNCHECKED = 3;
  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(
      names = "--backend",
      paramLabel = "URI",
      required = true,
      defaultValue = "${env:LOCKSTEP_BACKEND}",
      description =
          "The source of truth the instances follow, as for serve (e.g. etcd://127.0.0.1:2379,"
              + " redis://127.0.0.1:6379, peer://10.0.0.1:7800,...). Env LOCKSTEP_BACKEND.")
  String backend;

  @Option(
      names = "--key-prefix",
      paramLabel = "PREFIX",
      defaultValue = "${env:USER_KEY_PREFIX:-lockstep}",
      description = "The map's namespace, as for serve. Env USER_KEY_PREFIX. Default: lockstep.")
  String keyPrefix;

  @Option(
      names = "--targets",
      paramLabel = "URL",
      split = ",",
      required = true,
      description = "Instances to check, comma separated, e.g. http://10.0.0.5:8080.")
  List<URI> targets = new ArrayList<>();

  @Option(
      names = "--repair",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "Repair drifted keys on the instance (--no-repair only reports). Default: repair.")
  boolean repair;

  @Option(names = "--json", description = "Print the reports as JSON instead of a table.")
  boolean json;

  @Option(
      names = "--token-file",
      paramLabel = "FILE",
      defaultValue = "${env:LOCKSTEP_ADMIN_TOKEN_FILE}",
      description =
          "A file holding an admin-scope token for the instances (first line). Env"
              + " LOCKSTEP_ADMIN_TOKEN_FILE. Default: none.")
  Path tokenFile;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      defaultValue = "30s",
      converter = DurationConverter.class,
      description = "Bound of the source listing and of each request to an instance. Default: 30s.")
  Duration timeout;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    if (backend == null || backend.isBlank()) {
      throw new ParameterException(spec.commandLine(), "--backend: give the source's URI");
    }
    if (timeout.isZero() || timeout.isNegative()) {
      throw new ParameterException(spec.commandLine(), "--timeout: must be positive");
    }
    String token = null;
    if (tokenFile != null) {
      try {
        List<String> lines = Files.readAllLines(tokenFile, StandardCharsets.UTF_8);
        token = lines.isEmpty() ? null : lines.get(0).strip();
      } catch (IOException e) {
        throw new ParameterException(
            spec.commandLine(), "--token-file: cannot read " + tokenFile + ": " + e.getMessage());
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    List<DriftReport> reports = new ArrayList<>();
    Map<URI, String> failed = new java.util.LinkedHashMap<>();
    for (URI target : targets) {
      HttpDriftTarget t = new HttpDriftTarget(client, target.toString(), token, timeout);
      DriftReport r = null;
      for (int attempt = 1; r == null; attempt++) {
        long start = System.nanoTime();
        try {
          Snapshot source = DriftCheck.listSource(backend, keyPrefix, timeout);
          r = DriftCheck.run(t, source, repair, start);
        } catch (RuntimeException e) {
          if (attempt >= 3) {
            failed.put(target, e.getMessage());
            err.println("lockstep check: " + target + ": " + e.getMessage());
            break;
          }
        }
      }
      if (r != null) {
        reports.add(r);
      }
    }
    if (json) {
      ObjectNode o = JSON.createObjectNode();
      ArrayNode a = o.putArray("reports");
      reports.forEach(r -> a.add(DriftWire.report(r)));
      ObjectNode f = o.putObject("failed");
      failed.forEach((u, m) -> f.put(u.toString(), m));
      out.println(o.toPrettyString());
    } else {
      printTable(out, reports, failed);
    }
    out.flush();
    if (!failed.isEmpty()) {
      return UNCHECKED;
    }
    return reports.stream().anyMatch(r -> !r.unrepaired().isEmpty()) ? UNREPAIRED : 0;
  }

  private static void printTable(
      PrintWriter out, List<DriftReport> reports, Map<URI, String> failed) {
    String fmt = "%-32s %10s %12s %8s %9s %12s %9s%n";
    out.printf(
        fmt, "target", "revision", "keys checked", "drifted", "repaired", "bytes moved", "took ms");
    for (DriftReport r : reports) {
      out.printf(
          fmt,
          r.target(),
          r.revision(),
          r.keysChecked(),
          r.drifted().size(),
          r.repaired().size(),
          r.bytesMoved(),
          r.took().toMillis());
    }
    for (Map.Entry<URI, String> f : failed.entrySet()) {
      out.printf("%-32s not checked: %s%n", f.getKey(), f.getValue());
    }
    for (DriftReport r : reports) {
      if (!r.drifted().isEmpty()) {
        out.println();
        out.println(r.target() + " drifted keys:");
        for (String k : r.drifted()) {
          out.println("  " + k + (r.repaired().contains(k) ? "  (repaired)" : "  (NOT repaired)"));
        }
      }
    }
  }
}
