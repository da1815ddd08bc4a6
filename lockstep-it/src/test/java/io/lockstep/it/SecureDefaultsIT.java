package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.process.FreePorts;
import io.lockstep.process.ManagedProcess;
import io.lockstep.process.ReadinessProbe;
import io.lockstep.process.ServerJar;
import io.lockstep.process.TempDirs;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * {@code lockstep serve} with no flags, as a real process: it answers on 127.0.0.1 and is not
 * reachable on this host's other addresses. When the host has no address but loopback, one is made
 * on a dummy interface for the test and removed after.
 */
class SecureDefaultsIT {
  private static final String DUMMY = "lsdummy0";
  private static final String DUMMY_ADDRESS = "198.51.100.77";

  @Test
  void serveWithNoFlags_listensOnLoopbackOnly() throws Exception {
    boolean madeDummy = false;
    Optional<InetAddress> other = nonLoopbackAddress();
    if (other.isEmpty()) {
      run("ip", "link", "add", DUMMY, "type", "dummy");
      madeDummy = true;
      run("ip", "addr", "add", DUMMY_ADDRESS + "/32", "dev", DUMMY);
      run("ip", "link", "set", DUMMY, "up");
      other = Optional.of(InetAddress.getByName(DUMMY_ADDRESS));
    }
    int port = FreePorts.one();
    Path dir = TempDirs.create("lockstep-secure-defaults-");
    try (ManagedProcess serve =
        ManagedProcess.builder("serve-defaults")
            .command(
                () ->
                    List.of(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx128m",
                        "-jar",
                        ServerJar.locate().toString(),
                        "serve"))
            .workingDirectory(dir)
            .log(dir.resolve("serve.log"))
            .withoutEnvironment(name -> name.startsWith("LOCKSTEP_") || name.equals("PORT"))
            .environment(
                Map.of(
                    "PORT", // the port is the one setting given, and through the environment
                    Integer.toString(port),
                    "LOCKSTEP_PARENT_PID",
                    Long.toString(ProcessHandle.current().pid())))
            .readiness(
                ReadinessProbe.http(
                    URI.create("http://127.0.0.1:" + port + "/health/ready"), body -> true))
            .build()) {
      serve.start().awaitReady(Duration.ofSeconds(60));
      // Ready can come before the start line is written (the node's first listing is applied
      // while serve is still returning from start), so wait for the line.
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(serve.logTail(400))
                      .contains("lockstep serving on http://127.0.0.1:" + port));

      try (HttpClient http = HttpClient.newHttpClient()) {
        HttpResponse<String> put =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/config/k"))
                    .PUT(HttpRequest.BodyPublishers.ofString("v"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
      }

      InetAddress address = other.get();
      // The port is bound, but on loopback only: another address of this host refuses.
      assertThatThrownBy(
              () -> {
                try (Socket s = new Socket()) {
                  s.connect(new InetSocketAddress(address, port), 2000);
                }
              })
          .as("connecting to %s:%d", address.getHostAddress(), port)
          .isInstanceOf(ConnectException.class);
    } finally {
      if (madeDummy) {
        run("ip", "link", "del", DUMMY);
      }
      TempDirs.deleteTree(dir);
    }
  }

  /** An IPv4 address of an interface that is up and not loopback, if this host has one. */
  private static Optional<InetAddress> nonLoopbackAddress() throws IOException {
    for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nif.isUp() || nif.isLoopback()) {
        continue;
      }
      for (InetAddress a : Collections.list(nif.getInetAddresses())) {
        if (a instanceof Inet4Address && !a.isLoopbackAddress()) {
          return Optional.of(a);
        }
      }
    }
    return Optional.empty();
  }

  private static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
  }
}
