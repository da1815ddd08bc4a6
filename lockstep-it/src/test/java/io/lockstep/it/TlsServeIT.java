package io.lockstep.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.RedisProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import io.lockstep.testkit.TestCertificates;
import io.lockstep.testkit.TestCertificates.Ca;
import io.lockstep.testkit.TestCertificates.Issued;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code lockstep serve} with HTTPS, as real processes over a real Redis, with certificates made at
 * test time: curl reaches it with the CA and nothing else; plain HTTP on the port gets nothing; a
 * certificate replaced on disk is served without a restart; and three instances with mutual TLS fan
 * out to each other while a client without a certificate is refused.
 */
class TlsServeIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static RedisProcess redis;
  static Path dir;
  static Ca ca;
  static Path caFile;

  @BeforeAll
  static void start() {
    redis = new RedisProcess();
    dir = TempDirs.create("lockstep-tls-it-");
    ca = TestCertificates.newCa("lockstep IT CA");
    caFile = ca.writePem(dir.resolve("ca.pem"));
  }

  @AfterAll
  static void stop() {
    if (redis != null) {
      redis.close();
    }
    if (dir != null) {
      TempDirs.deleteTree(dir);
    }
  }

  record Curl(int exit, String out, String err) {}

  static Curl curl(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).start();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return new Curl(p.exitValue(), new String(out, UTF_8), new String(err, UTF_8));
  }

  /** The serial number (hex, lower case, no colons) of the certificate curl was served. */
  static String servedSerial(String url) throws Exception {
    Curl c = curl("--cacert", caFile.toString(), "-w", "%{certs}", "-o", "/dev/null", url);
    assertThat(c.exit()).as(c.err()).isZero();
    for (String line : c.out().split("\n")) {
      if (line.startsWith("Serial Number:")) {
        return line.substring("Serial Number:".length())
            .strip()
            .replace(":", "")
            .toLowerCase(Locale.ROOT)
            .replaceFirst("^0+(?=.)", "");
      }
    }
    throw new AssertionError("no serial in curl's certinfo: " + c.out());
  }

  static String hex(java.math.BigInteger serial) {
    return serial.toString(16);
  }

  @Test
  void curlWithTheCa_isServed_plainHttpIsNot_andAReplacedCertificateIsServedWithoutARestart()
      throws Exception {
    Issued first = ca.issue("node");
    Path cert = first.writeCertificate(dir.resolve("single.pem"));
    Path key = first.writeKey(dir.resolve("single-key.pem"));
    try (ServerCluster c =
        ServerCluster.builder(redis.backendUri())
            .instances(1)
            .keyPrefix("tls-" + UUID.randomUUID().toString().substring(0, 8))
            .tls(ca.trustingContext())
            .args(
                "--tls-cert", cert.toString(),
                "--tls-key", key.toString(),
                "--tls-reload-interval", "200ms")
            .start()) {
      ServerProcess n = c.node(0);
      assertThat(n.url()).startsWith("https://");
      String https = n.url() + "/health/ready";

      Curl ok = curl("--cacert", caFile.toString(), "-w", "%{http_code}", "-o", "/dev/null", https);
      assertThat(ok.exit()).as(ok.err()).isZero();
      assertThat(ok.out()).isEqualTo("200");
      Curl viaName =
          curl(
              "--cacert",
              caFile.toString(),
              "-w",
              "%{http_code}",
              "-o",
              "/dev/null",
              "https://localhost:" + n.port() + "/config");
      assertThat(viaName.out()).as(viaName.err()).isEqualTo("200");

      Curl untrusted = curl("-w", "%{http_code}", "-o", "/dev/null", https);
      assertThat(untrusted.exit()).as("no CA given: the system store does not know it").isNotZero();
      assertThat(untrusted.out()).isEqualTo("000");

      Curl plain =
          curl("-w", "%{http_code}", "-o", "/dev/null", "http://127.0.0.1:" + n.port() + "/config");
      assertThat(plain.exit()).as("plain HTTP on the TLS port: %s", plain.err()).isNotZero();
      assertThat(plain.out()).isEqualTo("000");

      assertThat(servedSerial(https)).isEqualTo(hex(first.serial()));
      Issued second = ca.issue("node");
      second.writeKey(key); // key first: for a moment the pair does not match, and is not taken
      second.writeCertificate(cert);
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> servedSerial(https).equals(hex(second.serial())));
      assertThat(n.isAlive()).isTrue();
      assertThat(Files.readString(n.logFile())).contains("TLS: reloaded");
    }
  }

  static HttpResponse<String> send(SSLContext ctx, String method, String url, String body)
      throws Exception {
    try (HttpClient http =
        HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_1_1).build()) {
      return http.send(
          HttpRequest.newBuilder(URI.create(url))
              .timeout(Duration.ofSeconds(15))
              .method(
                  method,
                  body == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofString(body))
              .header("Content-Type", "application/json")
              .build(),
          HttpResponse.BodyHandlers.ofString());
    }
  }

  @Test
  void threeInstancesWithMutualTls_fanOutToEachOther_andAClientWithoutACertificateIsRefused()
      throws Exception {
    Issued node = ca.issue("node");
    Path cert = node.writeCertificate(dir.resolve("node.pem"));
    Path key = node.writeEncryptedKey(dir.resolve("node-key.pem"), "node secret");
    Path pw = Files.writeString(dir.resolve("node-key.pw"), "node secret\n");
    Issued operator = ca.issueClient("operator");
    SSLContext client = operator.clientContext();
    try (ServerCluster c =
        ServerCluster.builder(redis.backendUri())
            .instances(3)
            .keyPrefix("mtls-" + UUID.randomUUID().toString().substring(0, 8))
            .tls(client)
            .args(
                "--tls-cert", cert.toString(),
                "--tls-key", key.toString(),
                "--tls-key-password-file", pw.toString(),
                "--tls-client-ca", caFile.toString())
            .start()) {
      ServerProcess first = c.node(0);
      await()
          .atMost(Duration.ofSeconds(20))
          .untilAsserted(
              () -> {
                HttpResponse<String> r = send(client, "GET", first.url() + "/cluster", null);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                JsonNode members = JSON.readTree(r.body()).get("members");
                assertThat(members).hasSize(3);
                for (JsonNode m : members) {
                  assertThat(m.get("url").asText()).startsWith("https://127.0.0.1:");
                  assertThat(m.get("reachable").asBoolean()).as(m.toString()).isTrue();
                }
              });

      HttpResponse<String> refresh =
          send(client, "POST", first.url() + "/api/v1/refresh", "{\"MY_CACHE\": \"over TLS\"}");
      assertThat(refresh.statusCode()).as(refresh.body()).isEqualTo(200);
      assertThat(JSON.readTree(refresh.body()).get("Instances_Refreshed").asInt()).isEqualTo(3);
      for (ServerProcess n : c.nodes()) {
        HttpResponse<String> current = send(client, "GET", n.url() + "/api/v1/current", null);
        assertThat(current.body()).as(n.id()).contains("over TLS");
      }

      // curl with the CA but no client certificate: the handshake is refused.
      Curl anonymous =
          curl(
              "--cacert",
              caFile.toString(),
              "-w",
              "%{http_code}",
              "-o",
              "/dev/null",
              first.url() + "/health/live");
      assertThat(anonymous.exit()).as(anonymous.err()).isNotZero();
      assertThat(anonymous.out()).isEqualTo("000");
      // With the operator's certificate it is served.
      Path opCert = operator.writeCertificate(dir.resolve("op.pem"));
      Path opKey = operator.writeKey(dir.resolve("op-key.pem"));
      Curl withCert =
          curl(
              "--cacert",
              caFile.toString(),
              "--cert",
              opCert.toString(),
              "--key",
              opKey.toString(),
              "-w",
              "%{http_code}",
              "-o",
              "/dev/null",
              first.url() + "/health/live");
      assertThat(withCert.out()).as(withCert.err()).isEqualTo("200");
    }
  }
}
