package io.lockstep.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendProvider;
import io.lockstep.spi.BackendUri;
import java.time.Duration;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class RedisSettingsTest {
  private static final BackendContext CONTEXT =
      new BackendContext("orders", "i1", Duration.ofSeconds(3));

  private static RedisSettings parse(String uri) {
    return RedisSettings.parse(BackendUri.parse(uri), CONTEXT);
  }

  @Test
  void parse_hostAndPort_takesDefaultsForTheRest() {
    RedisSettings s = parse("redis://127.0.0.1:6380");
    assertThat(s)
        .isEqualTo(
            new RedisSettings(
                "127.0.0.1",
                6380,
                0,
                false,
                Duration.ofSeconds(3),
                10_000,
                Duration.ofSeconds(10),
                Duration.ofHours(24),
                1000,
                null,
                null));
  }

  @Test
  void parse_everyPart_isRead() {
    RedisSettings s =
        parse(
            "rediss://cache.internal/3?timeout=750ms&stream_max_len=500&member_ttl=4s"
                + "&idempotency_ttl=2h&page_size=250");
    assertThat(s)
        .isEqualTo(
            new RedisSettings(
                "cache.internal",
                6379,
                3,
                true,
                Duration.ofMillis(750),
                500,
                Duration.ofSeconds(4),
                Duration.ofHours(2),
                250,
                null,
                new RedisAuth.TlsFiles(null, null, null)));
    assertThat(parse("redis://[::1]:7000").host()).isEqualTo("::1");
    assertThat(parse("redis://[::1]:7000").address()).isEqualTo("[::1]:7000/0");
  }

  @Test
  void parse_credentials_fromTheUserInfoOrTheParameters(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    assertThat(parse("redis://lockstep:s%40cret@h:1").auth())
        .isEqualTo(new RedisAuth.Credentials("lockstep", "s@cret"));
    assertThat(parse("redis://:pw@h:1").auth()).isEqualTo(new RedisAuth.Credentials(null, "pw"));
    assertThat(parse("rediss://h:1?user=app&password=pw").auth())
        .isEqualTo(new RedisAuth.Credentials("app", "pw"));
    java.nio.file.Path pw = java.nio.file.Files.writeString(dir.resolve("pw"), "from file\n");
    assertThat(parse("redis://h:1?user=app&password_file=" + pw).auth())
        .isEqualTo(new RedisAuth.Credentials("app", "from file"));
    assertThat(parse("redis://h:1").auth()).isNull();
    assertThat(parse("redis://:pw@h:1").auth().toString()).doesNotContain("pw");
    java.nio.file.Path ca = java.nio.file.Files.writeString(dir.resolve("ca.pem"), "x");
    assertThat(parse("rediss://h:1?ca_file=" + ca).tlsFiles())
        .isEqualTo(new RedisAuth.TlsFiles(ca, null, null));
  }

  @Test
  void parse_badUris_failNamingThePart() {
    assertThatThrownBy(() -> parse("redis://h:6379?pool=3"))
        .hasMessageContaining("unknown parameter 'pool'");
    assertThatThrownBy(() -> parse("redis://a:1,b:2")).hasMessageContaining("exactly one host");
    assertThatThrownBy(() -> parse("redis://h:6379?idempotency_ttl=500ms"))
        .hasMessageContaining("idempotency_ttl must be at least 1s");
    assertThatThrownBy(() -> parse("redis://h:notaport")).hasMessageContaining("port");
    assertThatThrownBy(() -> parse("redis://h:70000")).hasMessageContaining("port must be in");
    assertThatThrownBy(() -> parse("redis://h/x")).hasMessageContaining("database");
    assertThatThrownBy(() -> parse("redis://h?timeout=3"))
        .hasMessageContaining("timeout needs a unit");
    assertThatThrownBy(() -> parse("redis://h?timeout=0s"))
        .hasMessageContaining("timeout must be positive");
    assertThatThrownBy(() -> parse("redis://h?stream_max_len=0"))
        .hasMessageContaining("stream_max_len must be in");
    assertThatThrownBy(() -> parse("redis://h?page_size=0"))
        .hasMessageContaining("page_size must be in");
    assertThatThrownBy(() -> parse("redis://h?page_size=100001"))
        .hasMessageContaining("page_size must be in");
    assertThatThrownBy(() -> parse("redis://h?member_ttl=500ms"))
        .hasMessageContaining("member_ttl must be at least 1s");
    assertThatThrownBy(() -> parse("redis://user:pw@h:1?user=u"))
        .hasMessageContaining("credentials both");
    assertThatThrownBy(() -> parse("redis://justuser@h:1")).hasMessageContaining("user info");
    assertThatThrownBy(() -> parse("redis://h:1?user=u")).hasMessageContaining("needs a password");
    assertThatThrownBy(() -> parse("redis://h:1?password=a&password_file=/etc/hostname"))
        .hasMessageContaining("not both");
    assertThatThrownBy(() -> parse("redis://h:1?password_file=/no/such/file"))
        .hasMessageContaining("password_file");
    assertThatThrownBy(() -> parse("redis://h:1?ca_file=/etc/hostname"))
        .hasMessageContaining("need rediss://");
    assertThatThrownBy(() -> parse("rediss://h:1?ca_file=/no/such.pem"))
        .hasMessageContaining("ca_file: cannot read");
    assertThatThrownBy(() -> parse("rediss://h:1?cert_file=/etc/hostname"))
        .hasMessageContaining("go together");
    assertThatThrownBy(() -> parse("redis://")).hasMessageContaining("exactly one host");
    assertThatThrownBy(() -> RedisSettings.parse(BackendUri.parse("etcd://h:1"), CONTEXT))
        .hasMessageContaining("scheme");
  }

  @Test
  void providers_serveRedisAndRediss_andFindTheirScripts() {
    assertThat(new RedisBackendProvider().schemes()).containsExactlyInAnyOrder("redis", "rediss");
    assertThat(
            ServiceLoader.load(BackendProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p.schemes().contains("rediss")))
        .singleElement()
        .isInstanceOf(RedisBackendProvider.class);
    assertThat(RedisScript.WRITE.text()).contains("PUBLISH").contains("XADD");
    assertThat(RedisScript.WRITE.sha()).hasSize(40);
  }
}
