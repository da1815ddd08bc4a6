package io.lockstep.redis;

import static io.lockstep.redis.RedisSource.b;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.BackendUnavailableException;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import io.lockstep.testkit.NamespacedSuite;
import io.lockstep.testkit.TcpProxy;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The backend itself (no engine) against a real Redis, where the path to it or the namespace is
 * broken: an answer lost to a closed connection after the command reached Redis (Lettuce reconnects
 * and sends the command again), and a namespace whose counter fell behind its stream.
 */
class RedisBackendFaultsIT extends NamespacedSuite {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  @RegisterExtension
  static final TestResource<RedisSource> redis = TestResource.of(RedisSource::onNewServer);

  RedisBackendFaultsIT() {
    super("faults");
  }

  // ---------------------------------------------------------------------------------------------
  // An answer lost to a closed connection: the command ran, Lettuce reconnects and sends it again
  // ---------------------------------------------------------------------------------------------

  @Test
  void compareAndSet_answerLostToAClosedConnection_isNotAConflictWithItsOwnWrite() {
    TcpProxy proxy = closeAfterTest(new TcpProxy("127.0.0.1", redis.get().server().port()));
    Backend backend = backend(proxy);
    long first = await(backend.put("k", b("v1"), "text/plain", Backend.ANY_REVISION)).revision();

    proxy.closeOnNextReply();
    WriteResult cas = await(backend.put("k", b("v2"), "text/plain", first));

    assertThat(cas.status()).as("the CAS's own write").isEqualTo(WriteResult.Status.APPLIED);
    assertThat(cas.revision()).isEqualTo(first + 1);
    assertThat(redis.get().revision(prefix)).as("applied once").isEqualTo(first + 1);
    assertThat(redis.get().streamLength(prefix)).isEqualTo(2);
    assertThat(strongRead(backend, "k").valueAsString()).isEqualTo("v2");
  }

  @Test
  void put_answerLostToAClosedConnection_isAppliedOnce() {
    TcpProxy proxy = closeAfterTest(new TcpProxy("127.0.0.1", redis.get().server().port()));
    Backend backend = backend(proxy);
    await(backend.get("warm-up"));

    proxy.closeOnNextReply();
    WriteResult put = await(backend.put("k", b("v1"), "text/plain", Backend.ANY_REVISION));

    assertThat(put).isEqualTo(WriteResult.applied(1));
    assertThat(redis.get().revision(prefix)).as("applied once").isEqualTo(1);
    assertThat(redis.get().streamLength(prefix)).isEqualTo(1);
  }

  @Test
  void delete_answerLostToAClosedConnection_isNotANotFoundForItsOwnDelete() {
    TcpProxy proxy = closeAfterTest(new TcpProxy("127.0.0.1", redis.get().server().port()));
    Backend backend = backend(proxy);
    long put = await(backend.put("k", b("v1"), "text/plain", Backend.ANY_REVISION)).revision();

    proxy.closeOnNextReply();
    WriteResult delete = await(backend.delete("k", Backend.ANY_REVISION));

    assertThat(delete).isEqualTo(WriteResult.applied(put + 1));
    assertThat(redis.get().revision(prefix)).isEqualTo(put + 1);
    assertThat(strongRead(backend, "k")).isNull();
  }

  @Test
  void increment_answerLostToAClosedConnection_countsOnce() {
    TcpProxy proxy = closeAfterTest(new TcpProxy("127.0.0.1", redis.get().server().port()));
    Backend backend = backend(proxy);
    assertThat(await(backend.counters().incrementAndGet("hits", 5))).isEqualTo(5);

    proxy.closeOnNextReply();
    long total = await(backend.counters().incrementAndGet("hits", 5));

    assertThat(total).isEqualTo(10);
    assertThat(redis.get().raw(prefix, "counter:hits")).as("counted once").isEqualTo("10");
    assertThat(await(backend.counters().get("hits"))).isEqualTo(10);
  }

  // ---------------------------------------------------------------------------------------------
  // write.lua: all or nothing
  // ---------------------------------------------------------------------------------------------

  @Test
  void write_whenTheCounterFellBehindTheStream_failsClearly_andChangesNothing() {
    Backend backend = backend();
    await(backend.put("a", b("1"), "text/plain", Backend.ANY_REVISION));
    await(backend.put("b", b("2"), "text/plain", Backend.ANY_REVISION));
    RedisSource raw = redis.get();
    raw.redis().set(b(prefix + ":rev"), b("1")); // behind the stream's last id, 2-0
    Map<String, String> before = data(raw);

    assertThatThrownBy(() -> await(backend.put("c", b("3"), "text/plain", Backend.ANY_REVISION)))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining(prefix + ":rev")
        .hasMessageContaining("nothing was changed")
        .satisfies(e -> assertThat(((BackendUnavailableException) e).mayHaveCommitted()).isFalse());
    assertThatThrownBy(() -> await(backend.delete("a", Backend.ANY_REVISION)))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining("nothing was changed");

    assertThat(data(raw)).as("the data hash is unchanged").isEqualTo(before);
    assertThat(raw.revision(prefix)).as("the counter is unchanged").isEqualTo(1);
    assertThat(raw.streamLength(prefix)).isEqualTo(2);
  }

  @Test
  void write_whenTheStreamKeyIsNotAStream_failsClearly_andChangesNothing() {
    Backend backend = backend();
    await(backend.put("a", b("1"), "text/plain", Backend.ANY_REVISION));
    RedisSource raw = redis.get();
    raw.redis().del(b(prefix + ":log"));
    raw.redis().set(b(prefix + ":log"), b("not a stream"));
    Map<String, String> before = data(raw);

    assertThatThrownBy(() -> await(backend.put("b", b("2"), "text/plain", Backend.ANY_REVISION)))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining(prefix + ":log")
        .hasMessageContaining("nothing was changed");

    assertThat(data(raw)).isEqualTo(before);
    assertThat(raw.revision(prefix)).isEqualTo(1);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------------

  /** A backend on this test's namespace, straight to Redis; closed after the test. */
  private Backend backend() {
    return backendAt("127.0.0.1:" + redis.get().server().port());
  }

  /** A backend on this test's namespace, through {@code proxy}; closed after the test. */
  private Backend backend(TcpProxy proxy) {
    return backendAt(proxy.endpoint());
  }

  private Backend backendAt(String endpoint) {
    return closeAfterTest(
        RedisBackend.create(
            BackendUri.parse("redis://" + endpoint + "?timeout=" + TIMEOUT.toSeconds() + "s"),
            new BackendContext(prefix, "faults-test", TIMEOUT)));
  }

  private Versioned strongRead(Backend backend, String key) {
    return await(backend.get(key)).entry();
  }

  /** The data hash as raw strings. */
  private Map<String, String> data(RedisSource raw) {
    Map<String, String> out = new TreeMap<>();
    raw.redis()
        .hgetall(b(prefix + ":data"))
        .forEach((k, v) -> out.put(new String(k, UTF_8), new String(v, UTF_8)));
    return out;
  }

  private <T> T await(CompletableFuture<T> f) {
    try {
      return f.get(patience().toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("no answer within " + patience(), e);
    }
  }
}
