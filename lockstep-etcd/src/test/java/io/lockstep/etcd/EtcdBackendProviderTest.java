package io.lockstep.etcd;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendProvider;
import io.lockstep.spi.BackendUri;
import java.net.URI;
import java.time.Duration;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** URI parsing, provider lookup and key mapping; no server needed. */
class EtcdBackendProviderTest {
  private static final BackendContext CTX = new BackendContext("app", "i1", Duration.ofSeconds(3));

  private static EtcdSettings parse(String uri) {
    return EtcdSettings.parse(BackendUri.parse(uri), CTX);
  }

  @Test
  void serviceLoader_findsTheEtcdScheme() {
    assertThat(ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get))
        .anySatisfy(
            p -> {
              assertThat(p).isInstanceOf(EtcdBackendProvider.class);
              assertThat(p.schemes()).containsExactly("etcd");
            });
  }

  @Test
  void uri_withSeveralEndpoints_andDefaults() {
    EtcdSettings s = parse("etcd://127.0.0.1:2379,10.0.0.2:22379,etcd3");
    assertThat(s.endpoints())
        .containsExactly(
            URI.create("http://127.0.0.1:2379"),
            URI.create("http://10.0.0.2:22379"),
            URI.create("http://etcd3:2379"));
    assertThat(s.requestTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(s.pageSize()).isEqualTo(1000);
    assertThat(s.memberTtlSeconds()).isEqualTo(10);
  }

  @Test
  void uri_withEveryParameter() {
    EtcdSettings s =
        parse("etcd://h:1?timeout=250ms&page_size=50&member_ttl=4s&idempotency_ttl=90m");
    assertThat(s.requestTimeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(s.idempotencyTtl()).isEqualTo(Duration.ofMinutes(90));
    assertThat(parse("etcd://h:1").idempotencyTtl()).isEqualTo(Duration.ofHours(24));
    assertThat(s.pageSize()).isEqualTo(50);
    assertThat(s.memberTtlSeconds()).isEqualTo(4);
    assertThat(parse("etcd://h:1?timeout=PT2S").requestTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(parse("etcd://h:1?timeout=1m").requestTimeout()).isEqualTo(Duration.ofMinutes(1));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "etcd://h:1?retries=3",
        "etcd://",
        "etcd://h:1/some/path",
        "etcd://h:1?timeout=3",
        "etcd://h:1?timeout=-1s",
        "etcd://h:1?timeout=0ms",
        "etcd://h:1?page_size=0",
        "etcd://h:1?page_size=ten",
        "etcd://h:1?member_ttl=1s",
        "etcd://h:1?member_ttl=2500ms",
        "etcd://h:1?member_ttl=2h",
        "etcd://h:1?idempotency_ttl=1s",
        "etcd://h:1?idempotency_ttl=10",
        "etcd://https://h:1"
      })
  void badUri_isRefused_namingWhatIsWrong(String uri) {
    assertThatThrownBy(() -> parse(uri))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("backend URI:");
  }

  @Test
  void unitlessMemberTtl_theOldForm_isRefused_showingTheNewOne() {
    assertThatThrownBy(() -> parse("etcd://h:1?member_ttl=10"))
        .hasMessageStartingWith("backend URI: member_ttl")
        .hasMessageContaining("needs a unit")
        .hasMessageContaining("member_ttl=10s");
  }

  @Test
  void unknownParameter_messageListsTheKnownOnes() {
    assertThatThrownBy(() -> parse("etcd://h:1?ssl=true"))
        .hasMessageContaining("unknown parameter 'ssl'")
        .hasMessageContaining("page_size");
  }

  @Test
  void uri_withTlsAndAUser(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path ca = java.nio.file.Files.writeString(dir.resolve("ca.pem"), "x");
    java.nio.file.Path pw = java.nio.file.Files.writeString(dir.resolve("pw"), "from file\r\n");
    EtcdSettings s = parse("etcd://a:1,b:2?ca_file=" + ca + "&user=app&password_file=" + pw);
    assertThat(s.endpoints()).containsExactly(URI.create("https://a:1"), URI.create("https://b:2"));
    assertThat(s.auth()).isEqualTo(new EtcdAuth(true, ca, null, null, "app", "from file"));
    assertThat(s.auth().toString()).doesNotContain("from file");
    assertThat(parse("etcd://h:1?tls=true").endpoints()).containsExactly(URI.create("https://h:1"));
    assertThat(parse("etcd://h:1?tls=true").auth().caFile()).isNull();
    EtcdSettings u = parse("etcd://app:p%40ss@h:1,g:2");
    assertThat(u.endpoints()).containsExactly(URI.create("http://h:1"), URI.create("http://g:2"));
    assertThat(u.auth()).isEqualTo(new EtcdAuth(false, null, null, null, "app", "p@ss"));
    assertThat(parse("etcd://h:1").auth()).isEqualTo(EtcdAuth.NONE);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "etcd://h:1?tls=yes",
        "etcd://h:1?tls=false&ca_file=/etc/hostname",
        "etcd://h:1?ca_file=/no/such.pem",
        "etcd://h:1?tls=true&cert_file=/etc/hostname",
        "etcd://h:1?user=app",
        "etcd://h:1?password=x",
        "etcd://h:1?user=app&password=x&password_file=/etc/hostname",
        "etcd://h:1?user=app&password_file=/no/such/file",
        "etcd://app:x@h:1?user=app",
        "etcd://nocolon@h:1"
      })
  void badTlsOrAuth_isRefused_namingWhatIsWrong(String uri) {
    assertThatThrownBy(() -> parse(uri))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("backend URI:");
  }

  @Test
  void mapKey_stripsThePrefix_andLeavesOutMembersAndNonKeys() {
    try (EtcdBackend b = EtcdBackend.create(BackendUri.parse("etcd://127.0.0.1:1"), CTX)) {
      assertThat(b.mapKey(bytes("app/k"))).isEqualTo("k");
      assertThat(b.mapKey(bytes("app/a/b/c"))).isEqualTo("a/b/c");
      assertThat(b.mapKey(bytes("app/_members"))).isEqualTo("_members");
      assertThat(b.mapKey(bytes("app/_members/x"))).isNull();
      assertThat(b.mapKey(bytes("app/_counters/x"))).isNull();
      assertThat(b.mapKey(bytes("app/_countersx"))).isEqualTo("_countersx");
      // Records of a node whose prefix nests under this one's (app/prod) are not keys here.
      assertThat(b.mapKey(bytes("app/prod/_members/m1"))).isNull();
      assertThat(b.mapKey(bytes("app/prod/_counters/c"))).isNull();
      assertThat(b.mapKey(bytes("app/prod/_idem/abc"))).isNull();
      assertThat(b.mapKey(bytes("app/prod/k"))).isEqualTo("prod/k");
      assertThat(b.mapKey(bytes("app/"))).isNull();
      assertThat(b.mapKey(bytes("apple/k"))).isNull();
      assertThat(b.mapKey(ByteSequence.from(new byte[] {'a', 'p', 'p', '/', (byte) 0xc3})))
          .isNull();
      assertThat(b.keyOf("\u00e9/x").getBytes()).isEqualTo("app/\u00e9/x".getBytes(UTF_8));
      assertThat(b.revisionModel()).isEqualTo(io.lockstep.spi.RevisionModel.SPARSE);
    }
  }

  @Test
  void progressMode_trustsOnlyServersThatOrderProgressWithEvents() {
    for (String v :
        new String[] {
          "3.4.31", "3.4.39", "3.5.13", "3.5.21", "3.6.0", "3.6.0-rc.1", "3.7.1", "4.0.0"
        }) {
      assertThat(EtcdFeed.ProgressMode.ordersProgress(v)).as(v).isTrue();
    }
    for (String v :
        new String[] {
          "3.4.23", "3.4.30", "3.5.0", "3.5.12", "3.3.27", "2.3.8", "", "x.y.z", "3.5"
        }) {
      assertThat(EtcdFeed.ProgressMode.ordersProgress(v)).as(v).isFalse();
    }
    assertThat(EtcdFeed.ProgressMode.ordersProgress(null)).isFalse();
  }

  @Test
  void providerCreate_returnsAnEtcdBackend() {
    try (Backend b =
        new EtcdBackendProvider().create(BackendUri.parse("etcd://127.0.0.1:1?timeout=1s"), CTX)) {
      assertThat(b).isInstanceOf(EtcdBackend.class);
      assertThat(b.toString()).contains("http://127.0.0.1:1").contains("app/");
    }
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, UTF_8);
  }
}
