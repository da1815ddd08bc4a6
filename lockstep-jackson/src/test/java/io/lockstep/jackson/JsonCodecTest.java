package io.lockstep.jackson;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.Lockstep;
import io.lockstep.TypedMap;
import io.lockstep.ValueDecodeException;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonCodecTest {

  record Quota(String tenant, int limit, List<String> tags) {}

  /** A POJO with a default constructor and setters. */
  public static final class Limits {
    private int max;

    public int getMax() {
      return max;
    }

    public void setMax(int max) {
      this.max = max;
    }
  }

  @Test
  void records_pojosAndGenericTypes_roundTrip() {
    JsonCodec<Quota> quotas = JsonCodec.of(Quota.class);
    Quota q = new Quota("acme", 10, List.of("gold"));
    assertThat(new String(quotas.encode(q), UTF_8))
        .isEqualTo("{\"tenant\":\"acme\",\"limit\":10,\"tags\":[\"gold\"]}");
    assertThat(quotas.decode(quotas.encode(q))).isEqualTo(q);
    assertThat(quotas.contentType()).isEqualTo("application/json");

    JsonCodec<Limits> limits = JsonCodec.of(Limits.class);
    assertThat(limits.decode("{\"max\":3}".getBytes(UTF_8)).getMax()).isEqualTo(3);

    JsonCodec<List<Quota>> lists = JsonCodec.of(new TypeReference<>() {});
    assertThat(lists.decode(lists.encode(List.of(q, q)))).containsExactly(q, q);
  }

  @Test
  void badJson_failsWithTheType() {
    assertThatThrownBy(() -> JsonCodec.of(Quota.class).decode("{\"limit\":\"x\"".getBytes(UTF_8)))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("not JSON of")
        .hasMessageContaining("Quota");
  }

  @Test
  void equality_isTypeAndMapper() {
    assertThat(JsonCodec.of(Quota.class)).isEqualTo(JsonCodec.of(Quota.class));
    assertThat(JsonCodec.of(Quota.class)).isNotEqualTo(JsonCodec.of(Limits.class));
    assertThat(JsonCodec.of(Quota.class))
        .isNotEqualTo(JsonCodec.of(Quota.class, new ObjectMapper()));
  }

  @Test
  void aTypedMapOfRecords_onTheInMemorySource() {
    try (InMemorySource s = new InMemorySource(RevisionModel.CONTIGUOUS);
        Lockstep n = Lockstep.builder().backend(s.backend()).keyPrefix("t").build()) {
      await().until(() -> n.map().replica().isReady());
      TypedMap<Quota> quotas = n.map("quotas", JsonCodec.of(Quota.class));
      assertThat(n.map("quotas", JsonCodec.of(Quota.class))).isSameAs(quotas);

      Quota q = new Quota("acme", 10, List.of("gold"));
      quotas.put("acme", q);
      assertThat(quotas.get("acme")).isEqualTo(q);
      assertThat(quotas.get("acme")).isSameAs(quotas.get("acme"));
      assertThat(n.map().get("quotas/acme").contentType()).isEqualTo("application/json");

      Map<String, byte[]> external = new HashMap<>();
      external.put("quotas/broken", "{not json".getBytes(UTF_8));
      s.writeAtomically(external);
      external.clear();
      external.put("quotas/next", "{\"tenant\":\"next\",\"limit\":1,\"tags\":[]}".getBytes(UTF_8));
      long last = s.writeAtomically(external);
      assertThat(n.map().replica().awaitRevision(last, Duration.ofSeconds(5))).isTrue();
      await().until(() -> quotas.getEntry("next") != null);
      assertThat(quotas.get("next").tenant()).isEqualTo("next");
      assertThat(quotas.decodeFailures()).isEqualTo(1);
      assertThatThrownBy(() -> quotas.get("broken")).isInstanceOf(ValueDecodeException.class);
    }
  }
}
