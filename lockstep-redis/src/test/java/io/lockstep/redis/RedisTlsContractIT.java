package io.lockstep.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lockstep.Lockstep;
import io.lockstep.process.RedisProcess;
import io.lockstep.process.TempDirs;
import io.lockstep.testkit.ReplicatedMapContract;
import io.lockstep.testkit.TestCertificates;
import io.lockstep.testkit.TestCertificates.Ca;
import io.lockstep.testkit.TestCertificates.Issued;
import io.lockstep.testkit.TestResource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The replicated-map contract over {@code rediss://}: a real Redis serving TLS only (its plain port
 * off), with certificates made at test time, the default user off and one ACL user, {@code
 * lockstep}, whose password the backend reads from a file; client certificates are required. Also:
 * a wrong password, a server the client does not trust, and plain {@code redis://} to the TLS port
 * all fail.
 */
class RedisTlsContractIT extends ReplicatedMapContract {
  static final Path DIR = TempDirs.create("lockstep-redis-tls-");
  static final Ca CA = TestCertificates.newCa("redis test CA");
  static final Path CA_FILE = CA.writePem(DIR.resolve("ca.pem"));
  static final Issued CLIENT = CA.issueClient("lockstep");
  static final Path CLIENT_CERT = CLIENT.writeCertificate(DIR.resolve("client.pem"));
  static final Path CLIENT_KEY = CLIENT.writeKey(DIR.resolve("client-key.pem"));

  @RegisterExtension
  static final TestResource<RedisSource> redis = TestResource.of(RedisTlsContractIT::start);

  static RedisSource start() {
    Issued server = CA.issue("redis");
    RedisProcess p =
        RedisProcess.withTls(
            server.writeCertificate(DIR.resolve("redis.pem")),
            server.writeKey(DIR.resolve("redis-key.pem")),
            CA_FILE,
            CLIENT.clientContext(),
            "--tls-auth-clients",
            "yes", // a client certificate of the CA is required
            "--user",
            "lockstep",
            "on",
            ">s3cret pass",
            "~*",
            "&*",
            "+@all",
            "--user",
            "default",
            "off");
    RedisURI uri =
        RedisURI.builder()
            .withHost("127.0.0.1")
            .withPort(p.port())
            .withSsl(true)
            .withAuthentication("lockstep", "s3cret pass".toCharArray())
            .withTimeout(Duration.ofSeconds(10))
            .build();
    ClientOptions options =
        ClientOptions.builder()
            .sslOptions(
                SslOptions.builder()
                    .jdkSslProvider()
                    .trustManager(CA_FILE.toFile())
                    .keyManager(CLIENT_CERT.toFile(), CLIENT_KEY.toFile(), null)
                    .build())
            .build();
    return RedisSource.owning(p, uri, options);
  }

  @AfterAll
  static void removeFiles() {
    TempDirs.deleteTree(DIR);
  }

  static String uri(String params) {
    return redis.get().server().backendUri() + "?" + params;
  }

  static String goodUri() throws Exception {
    Path pw = DIR.resolve("password");
    if (!Files.exists(pw)) {
      Files.writeString(pw, "s3cret pass\n");
    }
    return uri(
        "user=lockstep&password_file="
            + pw
            + "&ca_file="
            + CA_FILE
            + "&cert_file="
            + CLIENT_CERT
            + "&key_file="
            + CLIENT_KEY);
  }

  @Override
  protected Lockstep newNode(String keyPrefix) {
    try {
      return Lockstep.builder().backend(goodUri()).keyPrefix(keyPrefix).build();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    redis.get().put(keyPrefix, key, value, "application/json");
  }

  @Override
  protected long sourceDigest(String keyPrefix) {
    return redis.get().digest(keyPrefix);
  }

  private static void assertCannotStart(String backend) {
    assertThatThrownBy(
            () -> {
              try (Lockstep n =
                  Lockstep.builder()
                      .backend(backend)
                      .keyPrefix("refused")
                      .operationTimeout(Duration.ofSeconds(1))
                      .build()) {
                n.map()
                    .put(
                        "k",
                        "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        "application/json");
              }
            })
        .as(backend)
        .isNotInstanceOf(IllegalArgumentException.class); // a valid URI, refused by the server
  }

  @Test
  void theBackendUriCarriesTheUserInUserInfoToo() {
    String userInfo =
        "rediss://lockstep:s3cret%20pass@"
            + redis.get().server().endpoint()
            + "?ca_file="
            + CA_FILE
            + "&cert_file="
            + CLIENT_CERT
            + "&key_file="
            + CLIENT_KEY;
    try (Lockstep n = Lockstep.builder().backend(userInfo).keyPrefix("userinfo").build()) {
      n.map()
          .put(
              "k",
              "{\"a\":1}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
              "application/json");
      assertThat(redis.get().digest("userinfo")).isEqualTo(n.map().replica().digest());
    }
  }

  @Test
  void aWrongPassword_noClientCertificate_anUntrustedServer_andPlainRedis_areRefused() {
    String cert = "&cert_file=" + CLIENT_CERT + "&key_file=" + CLIENT_KEY;
    assertCannotStart(uri("user=lockstep&password=wrong&ca_file=" + CA_FILE + cert));
    assertCannotStart(uri("user=lockstep&password=s3cret%20pass&ca_file=" + CA_FILE)); // no cert
    assertCannotStart(uri("user=lockstep&password=s3cret%20pass" + cert)); // JDK trust
    assertCannotStart(
        "redis://lockstep:s3cret%20pass@" + redis.get().server().endpoint()); // plain to TLS
  }
}
