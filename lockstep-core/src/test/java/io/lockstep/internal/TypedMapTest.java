package io.lockstep.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.ChangeEvent;
import io.lockstep.Codec;
import io.lockstep.Lockstep;
import io.lockstep.ReplicaMode;
import io.lockstep.TypedChangeEvent;
import io.lockstep.TypedEntry;
import io.lockstep.TypedMap;
import io.lockstep.ValueDecodeException;
import io.lockstep.WriteResult;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Typed maps on the in-memory source: round trips, namespaces, decode-once, undecodable values,
 * typed events, two nodes.
 */
class TypedMapTest {
  private final InMemoryNodes nodes = new InMemoryNodes();

  @AfterEach
  void closeAll() throws Exception {
    nodes.close();
  }

  /** A record value. */
  record Quota(String tenant, int limit) {}

  /** {@code tenant,limit} as UTF-8; counts its decodes; fails on anything else. */
  static final class QuotaCodec implements Codec<Quota> {
    final AtomicInteger decodes = new AtomicInteger();

    @Override
    public byte[] encode(Quota value) {
      return (value.tenant() + "," + value.limit()).getBytes(UTF_8);
    }

    @Override
    public Quota decode(byte[] bytes) {
      decodes.incrementAndGet();
      String[] parts = new String(bytes, UTF_8).split(",", -1);
      if (parts.length != 2) {
        throw new IllegalArgumentException("not tenant,limit: " + new String(bytes, UTF_8));
      }
      return new Quota(parts[0], Integer.parseInt(parts[1]));
    }

    @Override
    public String contentType() {
      return "text/x-quota";
    }
  }

  private static long write(InMemorySource s, String key, String value) {
    Map<String, byte[]> m = new HashMap<>();
    m.put(key, value == null ? null : value.getBytes(UTF_8));
    return s.writeAtomically(m);
  }

  @ParameterizedTest
  @EnumSource(RevisionModel.class)
  void putGetCasDelete_roundTrip(RevisionModel model) {
    Lockstep n = nodes.node(nodes.source(model), b -> b);
    TypedMap<Quota> quotas = n.map("quotas", new QuotaCodec());

    WriteResult put = quotas.put("acme", new Quota("acme", 10));
    assertThat(put.isApplied()).isTrue();
    assertThat(quotas.get("acme")).isEqualTo(new Quota("acme", 10));
    TypedEntry<Quota> e = quotas.getEntry("acme");
    assertThat(e.modRevision()).isEqualTo(put.revision());
    assertThat(e.contentType()).isEqualTo("text/x-quota");

    WriteResult lost = quotas.compareAndSet("acme", put.revision() - 1, new Quota("acme", 99));
    assertThat(lost.status()).isEqualTo(WriteResult.Status.CONFLICT);
    assertThat(lost.revision()).isEqualTo(put.revision());
    assertThat(quotas.get("acme").limit()).isEqualTo(10);

    WriteResult won = quotas.compareAndSet("acme", put.revision(), new Quota("acme", 11));
    assertThat(won.isApplied()).isTrue();
    assertThat(quotas.get("acme").limit()).isEqualTo(11);
    assertThat(quotas.compareAndSet("new", 0, new Quota("new", 1)).isApplied()).isTrue();
    assertThat(quotas.size()).isEqualTo(2);
    assertThat(quotas.keys()).containsExactlyInAnyOrder("acme", "new");

    assertThat(quotas.compareAndDelete("acme", put.revision()).status())
        .isEqualTo(WriteResult.Status.CONFLICT);
    assertThat(quotas.delete("acme").isApplied()).isTrue();
    assertThat(quotas.get("acme")).isNull();
    assertThat(quotas.getEntry("acme")).isNull();
    assertThat(quotas.delete("acme").status()).isEqualTo(WriteResult.Status.NOT_FOUND);
    assertThat(quotas.putAsync("later", new Quota("later", 3)).join().isApplied()).isTrue();
    assertThat(quotas.get("later")).isEqualTo(new Quota("later", 3));
  }

  @Test
  void builtInCodecs_roundTrip() {
    Lockstep n = nodes.node(nodes.source(RevisionModel.SPARSE), b -> b);
    TypedMap<String> text = n.map("text", Codec.string());
    TypedMap<byte[]> raw = n.map("raw", Codec.bytes());
    text.put("k", "héllo");
    raw.put("k", new byte[] {1, 2, 3});
    assertThat(text.get("k")).isEqualTo("héllo");
    assertThat(text.getEntry("k").contentType()).isEqualTo("text/plain; charset=utf-8");
    assertThat(raw.get("k")).containsExactly(1, 2, 3);
    assertThat(n.map().get("text/k").valueAsString()).isEqualTo("héllo");
    assertThat(n.map("text", Codec.string())).isSameAs(text);
  }

  @Test
  void severalMaps_areIsolatedNamespaces_ofTheOneUntypedMap() {
    Lockstep n = nodes.node(nodes.source(RevisionModel.SPARSE), b -> b);
    TypedMap<String> a = n.map("a", Codec.string());
    TypedMap<String> b = n.map("b", Codec.string());
    a.put("k", "in a");
    b.put("k", "in b");
    n.map().put("k", "untyped".getBytes(UTF_8), "text/plain");
    n.map().put("ab/k", "another prefix".getBytes(UTF_8), "text/plain");

    assertThat(a.get("k")).isEqualTo("in a");
    assertThat(b.get("k")).isEqualTo("in b");
    assertThat(a.size()).isEqualTo(1);
    assertThat(b.size()).isEqualTo(1);
    assertThat(n.map().get("a/k").valueAsString()).isEqualTo("in a");
    assertThat(n.map().get("k").valueAsString()).isEqualTo("untyped");

    a.delete("k");
    assertThat(a.get("k")).isNull();
    assertThat(b.get("k")).isEqualTo("in b");
  }

  @Test
  void aValue_isDecodedOncePerAppliedChange_andNeverOnRead() {
    InMemorySource s = nodes.source(RevisionModel.SPARSE);
    write(s, "quotas/old", "old,1"); // held before the map opens: decoded once at open
    Lockstep n = nodes.node(s, b -> b);
    QuotaCodec codec = new QuotaCodec();
    TypedMap<Quota> quotas = n.map("quotas", codec);
    assertThat(codec.decodes).hasValue(1);

    quotas.put("acme", new Quota("acme", 1));
    quotas.put("acme", new Quota("acme", 2));
    write(s, "quotas/ext", "ext,3"); // another program's write
    write(s, "other/x", "not,ours"); // outside the namespace: never decoded
    await().until(() -> quotas.get("ext") != null);
    n.map().replica().awaitRevision(s.revision(), Duration.ofSeconds(5));
    assertThat(codec.decodes).hasValue(4);

    Quota first = quotas.get("acme");
    for (int i = 0; i < 10_000; i++) {
      assertThat(quotas.get("acme")).isSameAs(first);
      quotas.get("ext");
      quotas.getEntry("old");
    }
    assertThat(codec.decodes).hasValue(4);
  }

  @Test
  void anUndecodableValue_isCountedAndThrownOnRead_andDoesNotWedgeTheFeed() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep n = nodes.node(s, b -> b);
    TypedMap<Quota> quotas = n.map("quotas", new QuotaCodec());

    write(s, "quotas/bad", "garbage");
    long after = write(s, "quotas/good", "good,5");
    assertThat(n.map().replica().awaitRevision(after, Duration.ofSeconds(5))).isTrue();
    await().until(() -> quotas.get("good") != null);

    assertThat(quotas.get("good")).isEqualTo(new Quota("good", 5));
    assertThat(quotas.decodeFailures()).isEqualTo(1);
    TypedEntry<Quota> bad = quotas.getEntry("bad");
    assertThat(bad.isDecoded()).isFalse();
    assertThatThrownBy(() -> quotas.get("bad"))
        .isInstanceOf(ValueDecodeException.class)
        .hasMessageContaining("map 'quotas', key 'bad' at revision " + bad.modRevision())
        .satisfies(
            t -> {
              ValueDecodeException v = (ValueDecodeException) t;
              assertThat(v.map()).isEqualTo("quotas");
              assertThat(v.key()).isEqualTo("bad");
            });

    quotas.put("bad", new Quota("bad", 7)); // a later good write replaces the failure
    assertThat(quotas.get("bad")).isEqualTo(new Quota("bad", 7));
    assertThat(quotas.decodeFailures()).isEqualTo(1);
  }

  @Test
  void listeners_getTypedEvents_inRevisionOrder() {
    Lockstep n = nodes.node(nodes.source(RevisionModel.SPARSE), b -> b);
    TypedMap<Quota> quotas = n.map("quotas", new QuotaCodec());
    List<TypedChangeEvent<Quota>> seen = new CopyOnWriteArrayList<>();
    var reg = quotas.addListener(seen::add);
    quotas.addListener(
        e -> {
          throw new IllegalStateException("a failing listener stops nothing");
        });
    n.map().put("elsewhere", new byte[] {1}, "application/octet-stream");

    long r1 = quotas.put("acme", new Quota("acme", 1)).revision();
    long r2 = quotas.put("acme", new Quota("acme", 2)).revision();
    long r3 = quotas.delete("acme").revision();

    await().until(() -> seen.size() == 3);
    assertThat(seen.get(0).type()).isEqualTo(ChangeEvent.Type.PUT);
    assertThat(seen.get(0).key()).isEqualTo("acme");
    assertThat(seen.get(0).value().value()).isEqualTo(new Quota("acme", 1));
    assertThat(seen.get(0).previous()).isNull();
    assertThat(seen.get(0).revision()).isEqualTo(r1);
    assertThat(seen.get(1).value().value().limit()).isEqualTo(2);
    assertThat(seen.get(1).previous().value().limit()).isEqualTo(1);
    assertThat(seen.get(1).revision()).isEqualTo(r2);
    assertThat(seen.get(2).type()).isEqualTo(ChangeEvent.Type.DELETE);
    assertThat(seen.get(2).value()).isNull();
    assertThat(seen.get(2).previous().value().limit()).isEqualTo(2);
    assertThat(seen.get(2).revision()).isEqualTo(r3);

    reg.close();
    quotas.put("acme", new Quota("acme", 3));
    assertThat(seen).hasSize(3);
  }

  @Test
  void twoNodes_seeEachOthersTypedWrites() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep one = nodes.node(s, b -> b.instanceId("one"));
    Lockstep two = nodes.node(s, b -> b.instanceId("two"));
    TypedMap<Quota> q1 = one.map("quotas", new QuotaCodec());
    TypedMap<Quota> q2 = two.map("quotas", new QuotaCodec());

    q1.put("acme", new Quota("acme", 10));
    await().until(() -> new Quota("acme", 10).equals(q2.get("acme")));
    q2.put("acme", new Quota("acme", 20));
    await().until(() -> new Quota("acme", 20).equals(q1.get("acme")));
    q2.delete("acme");
    await().until(() -> q1.get("acme") == null);
  }

  @Test
  void badArguments_failClearly() {
    Lockstep n = nodes.node(nodes.source(RevisionModel.SPARSE), b -> b);
    assertThatThrownBy(() -> n.map("a/b", Codec.string()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'a/b'");
    assertThatThrownBy(() -> n.map("", Codec.string()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> n.map("_members", Codec.string()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reserved");
    n.map("text", Codec.string());
    assertThatThrownBy(() -> n.map("text", Codec.bytes()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("open with Codec.string()");
    assertThatThrownBy(() -> n.map("text", Codec.string()).put("", "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nearMode_isRefused() {
    Lockstep n = nodes.node(nodes.source(RevisionModel.SPARSE), b -> b.mode(ReplicaMode.NEAR));
    assertThatThrownBy(() -> n.map("q", Codec.string()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("needs mode FULL");
  }

  @Test
  void aListener_cannotOpenOrBlockOnATypedMap() {
    Lockstep n = nodes.node(nodes.source(RevisionModel.SPARSE), b -> b);
    TypedMap<String> text = n.map("text", Codec.string());
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    text.addListener(
        e -> {
          if (e.key().equals("trigger")) {
            try {
              text.put("x", "y");
            } catch (IllegalStateException ex) {
              failures.add(ex);
            }
          }
        });
    text.put("trigger", "go");
    await().until(() -> failures.size() == 1);
    assertThat(failures.get(0)).hasMessageContaining("replication thread");
  }
}
