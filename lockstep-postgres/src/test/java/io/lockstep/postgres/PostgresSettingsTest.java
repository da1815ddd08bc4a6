package io.lockstep.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresSettingsTest {
  private static final BackendContext CTX =
      new BackendContext("orders", "i1", Duration.ofSeconds(3));

  private static PostgresSettings parse(String uri) {
    return PostgresSettings.parse(BackendUri.parse(uri), CTX);
  }

  @Test
  void defaults_fromAMinimalUri() {
    PostgresSettings s = parse("postgresql://db.internal");
    assertThat(s.host()).isEqualTo("db.internal");
    assertThat(s.port()).isEqualTo(5432);
    assertThat(s.database()).isEqualTo("postgres");
    assertThat(s.user()).isEqualTo("postgres");
    assertThat(s.password()).isNull();
    assertThat(s.schema()).isEqualTo("lockstep");
    assertThat(s.table()).isEqualTo("orders");
    assertThat(s.mirror()).isNull();
    assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(s.poolSize()).isEqualTo(4);
    assertThat(s.pollInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(s.logRetention()).isEqualTo(10_000);
    assertThat(s.compactInterval()).isEqualTo(Duration.ofSeconds(30));
    assertThat(s.memberTtl()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.idempotencyTtl()).isEqualTo(Duration.ofHours(24));
    assertThat(s.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:5432/postgres");
  }

  @Test
  void everyPart_andEveryParameter_isRead() {
    PostgresSettings s =
        parse(
            "postgres://app:s%40cret@127.0.0.1:6543/school?mirror=app.student&schema=ls"
                + "&timeout=500ms&pool_size=8&poll_interval=250ms&log_retention=50"
                + "&compact_interval=5s&member_ttl=2s&idempotency_ttl=1h");
    assertThat(s.user()).isEqualTo("app");
    assertThat(s.password()).isEqualTo("s@cret");
    assertThat(s.port()).isEqualTo(6543);
    assertThat(s.database()).isEqualTo("school");
    assertThat(s.mirror()).isEqualTo("app.student");
    assertThat(s.schema()).isEqualTo("ls");
    assertThat(s.timeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(s.poolSize()).isEqualTo(8);
    assertThat(s.pollInterval()).isEqualTo(Duration.ofMillis(250));
    assertThat(s.logRetention()).isEqualTo(50);
    assertThat(s.compactInterval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(s.memberTtl()).isEqualTo(Duration.ofSeconds(2));
    assertThat(s.idempotencyTtl()).isEqualTo(Duration.ofHours(1));
    assertThat(s.address()).isEqualTo("127.0.0.1:6543/school");
  }

  @Test
  void passwordFile_isReadFromItsFirstLine(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("pw");
    Files.writeString(f, "hunter2\nignored\n", StandardCharsets.UTF_8);
    PostgresSettings s = parse("postgresql://app@h/db?password_file=" + f);
    assertThat(s.password()).isEqualTo("hunter2");
    assertThat(s.user()).isEqualTo("app");
  }

  @Test
  void badUris_areRefused_namingThePart() {
    assertThatThrownBy(() -> parse("postgresql://h?nope=1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown parameter 'nope'");
    assertThatThrownBy(() -> parse("postgresql://a:1,b:2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("exactly one host");
    assertThatThrownBy(() -> parse("postgresql://h:99999"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("port");
    assertThatThrownBy(() -> parse("postgresql://h?mirror=student&table=t"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not both");
    assertThatThrownBy(() -> parse("postgresql://h?mirror="))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("mirror");
    assertThatThrownBy(() -> parse("postgresql://h?table=" + "x".repeat(64)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("63 bytes");
    assertThatThrownBy(() -> parse("postgresql://h?pool_size=0"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pool_size");
    assertThatThrownBy(() -> parse("postgresql://h?member_ttl=500ms"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("member_ttl");
    assertThatThrownBy(() -> parse("postgresql://h?password=a&password_file=/x"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void identifiersAndLiterals_areQuoted() {
    assertThat(PostgresSchema.identifier("we\"ird")).isEqualTo("\"we\"\"ird\"");
    assertThat(PostgresSchema.literal("it's")).isEqualTo("'it''s'");
    assertThat(PostgresSchema.triggerName("orders")).isEqualTo("lockstep:orders");
    assertThat(PostgresSchema.triggerName("n".repeat(80)))
        .startsWith("lockstep:")
        .hasSizeLessThanOrEqualTo(54);
  }
}
