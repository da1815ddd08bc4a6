package io.lockstep.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** The secure defaults of the library server, and the warning of an insecure one. */
class ServerSettingsTest {
  private static final AccessToken READ = new AccessToken(Scope.READ, "read-token-0123456789");

  @Test
  void defaults_listenOnLoopbackOnly_withoutTokens() {
    ServerSettings d = ServerSettings.defaults();
    assertThat(d.bindHost()).isEqualTo("127.0.0.1");
    assertThat(d.access()).isEqualTo(AccessSettings.NONE);
    assertThat(AccessSettings.isLoopback(d.bindHost())).isTrue();
  }

  @Test
  void anAddressOtherThanLoopback_needsTokensOrInsecure() {
    for (String host : List.of("0.0.0.0", "::", "[::]", "10.0.0.1", "example.com", "128.0.0.1")) {
      assertThatThrownBy(() -> ServerSettings.builder().bindHost(host).build())
          .as(host)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("not a loopback address");
      assertThat(
              ServerSettings.builder()
                  .bindHost(host)
                  .access(AccessSettings.NONE.withTokens(List.of(READ)))
                  .build()
                  .bindHost())
          .isEqualTo(host);
      assertThat(
              ServerSettings.builder()
                  .bindHost(host)
                  .access(AccessSettings.NONE.withInsecure(true))
                  .build()
                  .bindHost())
          .isEqualTo(host);
    }
    for (String host : List.of("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost")) {
      assertThat(AccessSettings.isLoopback(host)).as(host).isTrue();
    }
  }

  @Test
  void tokensAndSecrets_areNeverPrinted_andMustBeLongAndPlain() {
    ServerSettings s =
        ServerSettings.builder()
            .access(
                AccessSettings.NONE
                    .withTokens(List.of(READ))
                    .withClusterSecret("secret-0123456789"))
            .build();
    assertThat(s.toString()).doesNotContain("0123456789").contains("clusterSecret=***");
    assertThatThrownBy(() -> new AccessToken(Scope.READ, "short"))
        .hasMessageContaining("shorter than 16");
    assertThatThrownBy(() -> new AccessToken(Scope.READ, "has space 0123456789"))
        .hasMessageContaining("letters, digits");
    assertThatThrownBy(() -> new AccessToken(Scope.PEER, "peer-token-0123456789"))
        .hasMessageContaining("cluster secret");
    assertThatThrownBy(() -> AccessSettings.NONE.withClusterSecret("short"))
        .hasMessageContaining("clusterSecret");
  }

  @Test
  void anInsecureServer_warnsAtStartAndAgainEveryInterval() {
    List<String> warnings = new CopyOnWriteArrayList<>();
    Logger jul = Logger.getLogger(Exposure.class.getName());
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            warnings.add(r.getMessage());
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    jul.addHandler(capture);
    ServerSettings insecure =
        ServerSettings.builder()
            .bindHost("0.0.0.0")
            .port(0)
            .environment(Map.of())
            .access(AccessSettings.NONE.withInsecure(true))
            .build();
    try (Exposure e = new Exposure(insecure, () -> "http://x", Duration.ofMillis(100))) {
      e.start();
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> warnings.stream().filter(w -> w.startsWith("INSECURE")).count() >= 3);
    } finally {
      jul.removeHandler(capture);
    }
    warnings.clear();
    try (Exposure e =
        new Exposure(ServerSettings.defaults(), () -> "http://x", Duration.ofMillis(10))) {
      e.start(); // loopback: nothing to warn about
      org.awaitility.Awaitility.await().during(Duration.ofMillis(200)).until(warnings::isEmpty);
    }
  }
}
