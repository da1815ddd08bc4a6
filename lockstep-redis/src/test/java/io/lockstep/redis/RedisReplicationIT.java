package io.lockstep.redis;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.XAddArgs;
import io.lockstep.BackendUnavailableException;
import io.lockstep.Lockstep;
import io.lockstep.ReadConsistency;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.testkit.ReplicationContract;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The replication contract on a real Redis with an append-only file (so a stop and a start keep the
 * data) that each test starts for itself, plus what only Redis shows: the stream trimmed as it goes
 * ({@code stream_max_len}), and other programs writing through the shipped script (its {@code
 * NOSCRIPT} fallback, conditional writes, binary values, envelopes read back with {@code HGET}).
 */
class RedisReplicationIT extends ReplicationContract {
  @RegisterExtension
  final TestResource<RedisSource> redis = TestResource.of(RedisSource::onNewServerWithAof);

  @Override
  protected RedisSource source() {
    return redis.get();
  }

  // ---------------------------------------------------------------------------------------------
  // Only on Redis
  // ---------------------------------------------------------------------------------------------

  @Test
  void streamMaxLen_trimsTheStreamAsWritesGo_andReplicasKeepUp() {
    String uri = source().server().backendUri() + "?stream_max_len=50";
    Lockstep writer = node(uri, b -> b);
    Lockstep reader = node(uri, b -> b);
    awaitReady(List.of(writer, reader));
    long last = 0;
    for (int i = 0; i < 300; i++) {
      last = writer.map().put("k" + (i % 30), ("v" + i).getBytes(UTF_8), "text/plain").revision();
    }
    assertThat(source().streamLength(prefix)).as("MAXLEN ~ 50 trims as it goes").isLessThan(300);
    awaitApplied(reader, last);
    awaitConverged(List.of(writer, reader));
    assertThat(reader.map().list("", 0)).isEqualTo(writer.map().list("", 0));
  }

  @Test
  void
      anotherProgramsScript_fallsBackToEval_conditionalWritesLose_andBinaryValuesAndEnvelopesRoundTrip() {
    List<Lockstep> nodes = List.of(node(), node());
    awaitReady(nodes);
    source()
        .redis()
        .scriptFlush(); // the other program's first EVALSHA meets NOSCRIPT and falls back to EVAL
    source().put(prefix, "ext/k3", "{\"test\": \"changed\"}".getBytes(UTF_8), "application/json");
    long k3 =
        (Long) source().write(prefix, "put", "ext/k3", 0, "text/plain", new byte[] {9}).get(1);
    assertThat(source().write(prefix, "del", "ext/nothing", -1, "", new byte[0]).get(0))
        .isEqualTo(2L);
    long last =
        (Long)
            source()
                .put(
                    prefix,
                    "ext/bin",
                    new byte[] {0, (byte) 0xff, ':', '\n'},
                    "application/octet-stream")
                .get(1);
    for (Lockstep n : nodes) {
      awaitApplied(n, last);
    }
    awaitConverged(nodes);
    for (Lockstep n : nodes) {
      ReplicatedMap m = n.map();
      Versioned v3 = m.get("ext/k3");
      assertThat(v3.contentType()).isEqualTo("application/json");
      assertThat(v3.modRevision())
          .as("the conditional write lost: CONFLICT with the current revision")
          .isEqualTo(k3);
      assertThat(v3.valueAsString()).isEqualTo("{\"test\": \"changed\"}");
      assertThat(m.get("ext/k3", ReadConsistency.STRONG)).isEqualTo(v3);
      assertThat(m.get("ext/bin").value()).isEqualTo(new byte[] {0, (byte) 0xff, ':', '\n'});
    }
    // And the other way round: what Lockstep writes, another program reads with HGET.
    WriteResult ours =
        nodes.get(0).map().put("ours", "{\"a\":1}".getBytes(UTF_8), "application/json");
    byte[] env = source().redis().hget(RedisSource.b(prefix + ":data"), RedisSource.b("ours"));
    assertThat(new String(env, UTF_8)).isEqualTo(ours.revision() + ":16:application/json{\"a\":1}");
  }

  @Test
  void
      foreignValueInTheDataHash_isSkippedCountedAndNamed_andANewReplicaBecomesReadyWithEveryOtherKey() {
    Lockstep writer = node();
    awaitReady(List.of(writer));
    writer.map().put("a", "1".getBytes(UTF_8), "text/plain");
    long last = writer.map().put("b", "2".getBytes(UTF_8), "text/plain").revision();
    // Another program writes the hash directly, not in Lockstep's envelope.
    source()
        .redis()
        .hset(RedisSource.b(prefix + ":data"), RedisSource.b("foreign"), RedisSource.b("garbage"));

    Lockstep fresh = node();
    awaitReady(List.of(fresh));
    awaitApplied(fresh, last);

    assertThat(fresh.map().list("", 0))
        .extracting(Versioned::key)
        .as("every key but the foreign one")
        .containsExactly("a", "b");
    assertThat(fresh.map().get("foreign")).isNull();
    assertThat(fresh.map().replica().stats().backend())
        .as("the skip is counted and named in the replica's stats (and so in /stats)")
        .containsEntry("undecodableValues", 1L)
        .containsEntry("undecodableKeys", List.of("foreign"));
    assertThatThrownBy(() -> fresh.map().get("foreign", ReadConsistency.STRONG))
        .as("a strong read of the foreign key fails clearly")
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining("foreign")
        .hasMessageContaining("not a Lockstep envelope");
    assertThat(fresh.map().replica().refresh().join()).isEqualTo(last);
    assertThat(fresh.map().replica().stats().backend())
        .as("the strong read and the relist count it again; the key is named once")
        .containsEntry("undecodableValues", 3L)
        .containsEntry("undecodableKeys", List.of("foreign"));
    assertThat(writer.map().replica().stats().backend())
        .as("the writer listed before the foreign value was written")
        .containsEntry("undecodableValues", 0L);
    assertThat(fresh.map().get("a", ReadConsistency.STRONG).valueAsString()).isEqualTo("1");
    // And the replica keeps following writes.
    long next = writer.map().put("c", "3".getBytes(UTF_8), "text/plain").revision();
    awaitApplied(fresh, next);
    assertThat(fresh.map().get("c").valueAsString()).isEqualTo("3");
  }

  @Test
  void malformedStreamEntry_isCountedByTheFeedsCatchUp_andTheReplicaRelistsPastIt() {
    Lockstep n =
        node(source().server().backendUri(), b -> b.progressInterval(Duration.ofMillis(100)));
    awaitReady(List.of(n));
    long last = n.map().put("a", "1".getBytes(UTF_8), "text/plain").revision();
    awaitApplied(n, last);
    long relists = n.map().replica().stats().relists();
    // Another program takes the next revision and appends a stream entry not in Lockstep's format
    // (and publishes nothing): the next catch-up (a progress request) reads it.
    long rev = source().redis().incr(RedisSource.b(prefix + ":rev"));
    source()
        .redis()
        .xadd(
            RedisSource.b(prefix + ":log"),
            new XAddArgs().id(rev + "-0"),
            Map.of(RedisSource.b("c"), RedisSource.b("garbage")));

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(n.map().replica().stats().backend())
                    .containsEntry("undecodableValues", 1L)
                    .as("a stream entry's key cannot be read: counted, not named")
                    .containsEntry("undecodableKeys", List.of()));
    long next = n.map().put("b", "2".getBytes(UTF_8), "text/plain").revision();
    awaitApplied(n, next);
    assertThat(next).isEqualTo(rev + 1);
    assertThat(n.map().get("b").valueAsString()).isEqualTo("2");
    assertThat(n.map().replica().stats().relists()).as("relisted past it").isGreaterThan(relists);
    assertThat(n.map().replica().stats().backend()).containsEntry("undecodableValues", 1L);
  }
}
