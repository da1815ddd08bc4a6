package io.lockstep.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import io.lockstep.testkit.TestCertificates;
import io.lockstep.testkit.TestCertificates.Ca;
import io.lockstep.testkit.TestCertificates.Issued;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsServerTest {
  @TempDir Path dir;

  private final Ca ca = TestCertificates.newCa("lockstep test CA");

  private TlsSettings tls(Issued cert, Path clientCa, Duration reload) {
    return new TlsSettings(
        cert.writeCertificate(dir.resolve("server.pem")),
        cert.writeKey(dir.resolve("server-key.pem")),
        null,
        clientCa,
        null,
        reload);
  }

  private static ServerSettings settings(TlsSettings tls) {
    return TestServer.settings(b -> b.tls(tls).environment(Map.of()));
  }

  private static HttpResponse<String> get(SSLContext ctx, String url) throws Exception {
    try (HttpClient c =
        HttpClient.newBuilder()
            .sslContext(ctx)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build()) {
      return c.send(
          HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    }
  }

  /** The serial of the certificate the server presents on a new connection. */
  private static BigInteger servedSerial(SSLContext ctx, int port) throws IOException {
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(5000);
      s.startHandshake();
      return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  @Test
  void https_isServed_andPlainHttpOnTheSamePortIsNot() throws Exception {
    try (TestServer ts = TestServer.start(settings(tls(ca.issue("node"), null, null)))) {
      int port = ts.server.port();
      assertThat(ts.server.advertiseUrl()).isEqualTo("https://127.0.0.1:" + port);
      HttpResponse<String> r =
          get(ca.trustingContext(), "https://127.0.0.1:" + port + "/health/live");
      assertThat(r.statusCode()).isEqualTo(200);
      r = get(ca.trustingContext(), "https://localhost:" + port + "/config");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThatThrownBy(() -> get(ca.trustingContext(), "http://127.0.0.1:" + port + "/config"))
          .isInstanceOf(IOException.class);
      // A client that does not trust the CA refuses the server.
      Ca other = TestCertificates.newCa("another CA");
      assertThatThrownBy(
              () -> get(other.trustingContext(), "https://127.0.0.1:" + port + "/health/live"))
          .isInstanceOf(IOException.class);
    }
  }

  @Test
  void anEncryptedKey_needsItsPasswordFile() throws Exception {
    Issued cert = ca.issue("node");
    Path certFile = cert.writeCertificate(dir.resolve("c.pem"));
    Path keyFile = cert.writeEncryptedKey(dir.resolve("k.pem"), "s3cret");
    assertThat(Files.readString(keyFile)).contains("BEGIN ENCRYPTED PRIVATE KEY");
    Path pw = Files.writeString(dir.resolve("pw"), "s3cret\n");
    Path wrong = Files.writeString(dir.resolve("wrong"), "nope\n");
    assertThatThrownBy(
            () ->
                TestServer.start(
                    settings(new TlsSettings(certFile, keyFile, null, null, null, null))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("k.pem")
        .hasMessageContaining("password");
    assertThatThrownBy(
            () ->
                TestServer.start(
                    settings(new TlsSettings(certFile, keyFile, wrong, null, null, null))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("wrong password");
    try (TestServer ts =
        TestServer.start(settings(new TlsSettings(certFile, keyFile, pw, null, null, null)))) {
      assertThat(servedSerial(ca.trustingContext(), ts.server.port())).isEqualTo(cert.serial());
    }
  }

  @Test
  void aKeyOfAnotherCertificate_isRefusedAtStart() {
    Issued a = ca.issue("a");
    Issued b = ca.issue("b");
    Path certFile = a.writeCertificate(dir.resolve("a.pem"));
    Path keyFile = b.writeKey(dir.resolve("b-key.pem"));
    assertThatThrownBy(() -> TestServer.start(settings(TlsSettings.of(certFile, keyFile))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not belong");
  }

  @Test
  void replacedFiles_arePickedUpWithoutARestart_andAHalfWrittenPairIsNotTaken() throws Exception {
    Issued first = ca.issue("node");
    TlsSettings settings = tls(first, null, Duration.ofMillis(100));
    try (TestServer ts = TestServer.start(settings(settings))) {
      int port = ts.server.port();
      assertThat(servedSerial(ca.trustingContext(), port)).isEqualTo(first.serial());

      // Only the certificate is replaced (its key not yet): the old pair is kept.
      Issued second = ca.issue("node");
      second.writeCertificate(settings.certificate());
      Thread.sleep(400);
      assertThat(servedSerial(ca.trustingContext(), port)).isEqualTo(first.serial());

      second.writeKey(settings.privateKey());
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> servedSerial(ca.trustingContext(), port).equals(second.serial()));
      assertThat(
              get(ca.trustingContext(), "https://127.0.0.1:" + port + "/health/live").statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void mutualTls_refusesClientsWithoutACertificateOfTheCa_andFanOutConfirmsEveryMember()
      throws Exception {
    Path caFile = ca.writePem(dir.resolve("ca.pem"));
    Issued node = ca.issue("node");
    TlsSettings tls = tls(node, caFile, null);
    try (InMemorySource source = new InMemorySource(RevisionModel.SPARSE);
        TestServer a =
            TestServer.start(
                source,
                false,
                settings(tls).toBuilder().environment(Map.of("CF_INSTANCE_INDEX", "0")).build(),
                n -> {},
                true);
        TestServer b =
            TestServer.start(
                source,
                false,
                settings(tls).toBuilder().environment(Map.of("CF_INSTANCE_INDEX", "1")).build(),
                n -> {},
                true)) {
      String base = "https://127.0.0.1:" + a.server.port();
      SSLContext client = ca.issueClient("operator").clientContext();
      assertThat(get(client, base + "/health/live").statusCode()).isEqualTo(200);
      assertThatThrownBy(() -> get(ca.trustingContext(), base + "/health/live"))
          .as("no client certificate")
          .isInstanceOf(IOException.class);
      Ca other = TestCertificates.newCa("another CA");
      Issued stranger = other.issueClient("stranger");
      assertThatThrownBy(() -> get(stranger.clientContext(), base + "/health/live"))
          .as("a client certificate of another CA")
          .isInstanceOf(IOException.class);

      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> a.server.node().members().join().size() == 2);
      HttpResponse<String> cluster = get(client, base + "/cluster");
      assertThat(cluster.statusCode()).as(cluster.body()).isEqualTo(200);
      JsonNode members = Json.MAPPER.readTree(cluster.body()).get("members");
      assertThat(members).hasSize(2);
      for (JsonNode m : members) {
        assertThat(m.get("url").asText()).as(m.toString()).startsWith("https://");
        assertThat(m.get("reachable").asBoolean()).as(m.toString()).isTrue();
      }

      try (HttpClient c = HttpClient.newBuilder().sslContext(client).build()) {
        HttpResponse<String> r =
            c.send(
                HttpRequest.newBuilder(URI.create(base + "/api/v1/refresh"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"MY_CACHE\": \"TLS\"}", UTF_8))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(Json.MAPPER.readTree(r.body()).get("Instances_Refreshed").asInt()).isEqualTo(2);
      }
    }
  }
}
