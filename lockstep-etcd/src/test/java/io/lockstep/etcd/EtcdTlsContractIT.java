package io.lockstep.etcd;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.lockstep.Lockstep;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.TempDirs;
import io.lockstep.testkit.ReplicatedMapContract;
import io.lockstep.testkit.TestCertificates;
import io.lockstep.testkit.TestCertificates.Ca;
import io.lockstep.testkit.TestCertificates.Issued;
import io.lockstep.testkit.TestResource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The replicated-map contract on a real etcd that serves its clients over TLS only, requires a
 * client certificate of the test CA ({@code --client-cert-auth}) and has authentication on, with a
 * user {@code lockstep} allowed to read and write every key; certificates are made at test time.
 * The backend URI carries the CA, the client certificate and the user, its password in a file.
 * Also: a wrong password, no client certificate and an unknown CA are refused.
 */
class EtcdTlsContractIT extends ReplicatedMapContract {
  static final Path DIR = TempDirs.create("lockstep-etcd-tls-");
  static final Ca CA = TestCertificates.newCa("etcd test CA");
  static final Path CA_FILE = CA.writePem(DIR.resolve("ca.pem"));
  static final Issued CLIENT = CA.issueClient("lockstep");
  static final Path CLIENT_CERT = CLIENT.writeCertificate(DIR.resolve("client.pem"));
  static final Path CLIENT_KEY = CLIENT.writeKey(DIR.resolve("client-key.pem"));

  @RegisterExtension
  static final TestResource<EtcdSource> etcd = TestResource.of(EtcdTlsContractIT::start);

  static EtcdSource start() {
    Issued server = CA.issue("etcd");
    EtcdProcess p =
        EtcdProcess.withTls(
            server.writeCertificate(DIR.resolve("etcd.pem")),
            server.writeKey(DIR.resolve("etcd-key.pem")),
            CA_FILE,
            true,
            CLIENT.clientContext());
    try {
      etcdctl(p, "user", "add", "root:root-pw", "--interactive=false");
      etcdctl(p, "user", "grant-role", "root", "root");
      etcdctl(p, "user", "add", "lockstep:s3cret pw", "--interactive=false");
      etcdctl(p, "role", "add", "lockstep-rw");
      etcdctl(p, "role", "grant-permission", "lockstep-rw", "--from-key", "readwrite", "");
      etcdctl(p, "user", "grant-role", "lockstep", "lockstep-rw");
      etcdctl(p, "auth", "enable");
      Client client =
          Client.builder()
              .endpoints(p.clientUrl())
              .sslContext(
                  ssl ->
                      ssl.trustManager(CA_FILE.toFile())
                          .keyManager(CLIENT_CERT.toFile(), CLIENT_KEY.toFile()))
              .user(ByteSequence.from("root", UTF_8))
              .password(ByteSequence.from("root-pw", UTF_8))
              .build();
      return EtcdSource.owning(p, client);
    } catch (Exception e) {
      p.close();
      throw new IllegalStateException(e);
    }
  }

  static void etcdctl(EtcdProcess p, String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "etcdctl",
                "--endpoints=" + p.clientUrl(),
                "--cacert=" + CA_FILE,
                "--cert=" + CLIENT_CERT,
                "--key=" + CLIENT_KEY));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("ETCDCTL_API", "3");
    Process proc = pb.start();
    String out = new String(proc.getInputStream().readAllBytes(), UTF_8);
    assertThat(proc.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(proc.exitValue()).as("%s: %s", args, out).isZero();
  }

  @AfterAll
  static void removeFiles() {
    TempDirs.deleteTree(DIR);
  }

  static String uri(String params) {
    return etcd.get().server().backendUri() + "?" + params;
  }

  static String goodUri() {
    Path pw = DIR.resolve("password");
    try {
      if (!Files.exists(pw)) {
        Files.writeString(pw, "s3cret pw\n");
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return uri(
        "ca_file="
            + CA_FILE
            + "&cert_file="
            + CLIENT_CERT
            + "&key_file="
            + CLIENT_KEY
            + "&user=lockstep&password_file="
            + pw);
  }

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder().backend(goodUri()).keyPrefix(keyPrefix).build();
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    etcd.get().put(keyPrefix, key, value);
  }

  @Override
  protected long sourceDigest(String keyPrefix) {
    return etcd.get().digest(keyPrefix);
  }

  private static void assertRefused(String backend) {
    assertThatThrownBy(
            () -> {
              try (Lockstep n =
                  Lockstep.builder()
                      .backend(backend)
                      .keyPrefix("refused")
                      .operationTimeout(Duration.ofSeconds(1))
                      .build()) {
                n.map().put("k", "{}".getBytes(UTF_8), "application/json");
              }
            })
        .as(backend)
        .isNotInstanceOf(IllegalArgumentException.class); // a valid URI, refused by etcd
  }

  @Test
  void theUserInfoFormWorksToo() {
    String backend =
        "etcd://lockstep:s3cret%20pw@"
            + etcd.get().server().endpoint()
            + "?ca_file="
            + CA_FILE
            + "&cert_file="
            + CLIENT_CERT
            + "&key_file="
            + CLIENT_KEY;
    try (Lockstep n = Lockstep.builder().backend(backend).keyPrefix("userinfo").build()) {
      n.map().put("k", "{\"a\":1}".getBytes(UTF_8), "application/json");
      assertThat(etcd.get().digest("userinfo")).isEqualTo(n.map().replica().digest());
    }
  }

  @Test
  void aWrongPassword_noClientCertificate_anUnknownCa_andPlainHttp_areRefused() {
    String cert = "&cert_file=" + CLIENT_CERT + "&key_file=" + CLIENT_KEY;
    assertRefused(uri("ca_file=" + CA_FILE + cert + "&user=lockstep&password=wrong"));
    assertRefused(uri("ca_file=" + CA_FILE + "&user=lockstep&password=s3cret%20pw"));
    assertRefused(uri("tls=true" + cert + "&user=lockstep&password=s3cret%20pw"));
    assertRefused(uri("user=lockstep&password=s3cret%20pw"));
    // No user: etcd takes the client certificate's CN as the user (--client-cert-auth); "lockstep"
    // is one, "nobody" is not.
    Issued nobody = CA.issueClient("nobody");
    assertRefused(
        uri(
            "ca_file="
                + CA_FILE
                + "&cert_file="
                + nobody.writeCertificate(DIR.resolve("nobody.pem"))
                + "&key_file="
                + nobody.writeKey(DIR.resolve("nobody-key.pem"))));
  }

  @Test
  void withClientCertificates_etcdTakesTheCommonNameAsTheUser_whenTheUriNamesNone() {
    try (Lockstep n =
        Lockstep.builder()
            .backend(
                uri("ca_file=" + CA_FILE + "&cert_file=" + CLIENT_CERT + "&key_file=" + CLIENT_KEY))
            .keyPrefix("by-cn")
            .build()) {
      n.map().put("k", "{}".getBytes(UTF_8), "application/json");
      assertThat(etcd.get().digest("by-cn")).isEqualTo(n.map().replica().digest());
    }
  }
}
