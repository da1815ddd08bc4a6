package io.lockstep.etcd;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.KeyValue;
import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.ReadConsistency;
import io.lockstep.ReplicaStats;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.testkit.ReplicationContract;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The replication contract on a real etcd that each test starts for itself, plus what only etcd
 * shows: raw bytes in etcd read as JSON or octet-stream, membership records (leases renewed after
 * an outage, and records written by others under {@code _members/}).
 */
class EtcdReplicationIT extends ReplicationContract {
  @RegisterExtension final TestResource<EtcdSource> etcd = TestResource.of(EtcdSource::onNewServer);

  @Override
  protected EtcdSource source() {
    return etcd.get();
  }

  // ---------------------------------------------------------------------------------------------
  // Only on etcd
  // ---------------------------------------------------------------------------------------------

  @Test
  void bytesWrittenStraightIntoEtcd_readAsOctetStreamUnlessJson_andLockstepJsonIsPlainJsonInEtcd() {
    List<Lockstep> nodes = List.of(node(), node());
    awaitReady(nodes);
    source().put(prefix, "ext/json", "{\"test\": \"value\"}".getBytes(UTF_8));
    long last = source().put(prefix, "ext/plain", "hello".getBytes(UTF_8));
    for (Lockstep n : nodes) {
      awaitApplied(n, last);
    }
    for (Lockstep n : nodes) {
      ReplicatedMap m = n.map();
      assertThat(m.get("ext/json").contentType()).isEqualTo("application/json");
      assertThat(m.get("ext/plain").contentType()).isEqualTo("application/octet-stream");
      assertThat(m.get("ext/plain", ReadConsistency.STRONG).valueAsString()).isEqualTo("hello");
    }
    // And the other way round: JSON written through Lockstep is plain JSON in etcd.
    nodes.get(0).map().put("ours", "{\"a\":1}".getBytes(UTF_8), "application/json");
    assertThat(source().raw(prefix, "ours")).isEqualTo("{\"a\":1}");
  }

  /**
   * etcd's revision is the cluster's: another prefix's writes move it on. A replica of this prefix
   * that has applied everything of its own is current, and says so: lag 0 while the other prefix
   * takes writes, and back to 0 within a progress interval after each write of its own.
   */
  @Test
  void lag_staysZero_whileAnotherPrefixTakesWrites() throws Exception {
    Duration interval = Duration.ofMillis(200);
    Lockstep n = node(source().server().backendUri(), b -> b.progressInterval(interval));
    awaitReady(List.of(n));
    long own = source().put(prefix, "mine", "{}".getBytes(UTF_8));
    awaitApplied(n, own);
    String other = prefix + "-other";
    long deadline = System.nanoTime() + Duration.ofSeconds(4).toNanos();
    long lastOwnWrite = System.nanoTime();
    int samples = 0;
    int i = 0;
    while (System.nanoTime() < deadline) {
      source().put(other, "k" + (i % 20), ("{\"i\":" + i + "}").getBytes(UTF_8));
      i++;
      if (System.nanoTime() - lastOwnWrite > Duration.ofSeconds(1).toNanos()) {
        own = source().put(prefix, "mine", ("{\"i\":" + i + "}").getBytes(UTF_8));
        awaitApplied(n, own);
        lastOwnWrite = System.nanoTime();
      }
      ReplicaStats s = stats(n);
      if (System.nanoTime() - lastOwnWrite > interval.toNanos() * 2) {
        samples++;
        assertThat(s.lagRevisions()).as("lag revisions after %d foreign writes: %s", i, s).isZero();
        assertThat(s.lagMillis()).as("lag ms after %d foreign writes: %s", i, s).isZero();
      }
    }
    assertThat(samples)
        .as("samples taken while current, of %d foreign writes", i)
        .isGreaterThan(50);
    assertThat(source().revision(other))
        .as("the other prefix moved the revision on")
        .isGreaterThan(own);
    await()
        .atMost(interval.multipliedBy(3))
        .untilAsserted(
            () -> {
              assertThat(stats(n).lagRevisions()).isZero();
              assertThat(stats(n).lagMillis()).isZero();
            });
  }

  @Test
  void etcdRestart_everyNodeRegistersAgainUnderANewLease() {
    List<Lockstep> nodes =
        List.of(impatientNode(), impatientNode(), impatientNode(), impatientNode());
    awaitReady(nodes);
    await().atMost(patience()).until(() -> memberLeases().size() == 4);
    Map<String, Long> leasesBefore = memberLeases();
    source().server().stop();
    // Every node noticed the outage before etcd comes back.
    for (Lockstep n : nodes) {
      await()
          .atMost(patience())
          .until(
              () -> {
                try {
                  n.map().get("any", ReadConsistency.STRONG);
                  return false;
                } catch (RuntimeException e) {
                  return true;
                }
              });
    }
    source().server().start();
    await()
        .atMost(patience())
        .until(
            () -> {
              Map<String, Long> now = memberLeases();
              return now.size() == 4
                  && now.entrySet().stream()
                      .allMatch(e -> !e.getValue().equals(leasesBefore.get(e.getKey())));
            });
    assertThat(members(nodes.get(0)))
        .extracting(Member::id)
        .containsExactlyInAnyOrderElementsOf(nodes.stream().map(n -> n.self().id()).toList());
  }

  /**
   * Issue 12, path 1: etcd comes back empty on the same address (a restore without {@code
   * --bump-revision}, or a cluster rebuilt from nothing, under the same member name and token, so
   * with the same cluster id): its revisions start again below what the replicas applied. The
   * replicas must notice (a progress header or a listing below applied) and reset to etcd's state.
   */
  @Test
  void etcdRestartedEmpty_revisionsGoBack_replicasResetToEtcdsState() {
    List<Lockstep> nodes = List.of(impatientNode(), impatientNode());
    awaitReady(nodes);
    ReplicatedMap a = nodes.get(0).map();
    for (int i = 1; i <= 8; i++) {
      a.put("k" + i, ("{\"old\": " + i + "}").getBytes(UTF_8), "application/json");
    }
    long applied = a.replica().appliedRevision();
    await()
        .atMost(patience())
        .until(() -> nodes.get(1).map().replica().appliedRevision() >= applied);

    source().server().stop();
    io.lockstep.process.TempDirs.deleteTree(source().server().directory().resolve("data"));
    source().server().start();
    await()
        .atMost(patience())
        .ignoreExceptions()
        .until(() -> source().writeExternally(prefix, "k1", "{\"new\": 1}".getBytes(UTF_8)) > 0);
    assertThat(source().revision(prefix)).isLessThan(applied);

    for (Lockstep n : nodes) {
      ReplicatedMap m = n.map();
      await()
          .atMost(patience())
          .untilAsserted(
              () -> {
                assertThat(m.get("k1")).isNotNull();
                assertThat(m.get("k1").valueAsString()).isEqualTo("{\"new\": 1}");
                assertThat(m.get("k2")).isNull();
                assertThat(m.replica().digest()).isEqualTo(source().digest(prefix));
              });
      assertThat(m.replica().stats().resets()).isGreaterThanOrEqualTo(1);
      assertThat(m.replica().appliedRevision()).isLessThan(applied);
    }
  }

  /** Member id to lease id, as etcd holds the records now. */
  private Map<String, Long> memberLeases() {
    Map<String, Long> leases = new HashMap<>();
    String marker = prefix + "/_members/";
    for (KeyValue kv : source().list(prefix).getKvs()) {
      String key = kv.getKey().toString(UTF_8);
      if (key.startsWith(marker)) {
        leases.put(key.substring(marker.length()), kv.getLease());
      }
    }
    return leases;
  }

  @Test
  void keysUnderMembersWrittenExternally_areNeverVisibleInTheMap() {
    Lockstep a = node();
    awaitReady(List.of(a));
    source()
        .put(
            prefix,
            "_members/intruder",
            "{\"id\":\"intruder\",\"url\":\"\",\"startedAt\":\"2026-01-01T00:00:00Z\"}"
                .getBytes(UTF_8));
    source().put(prefix, "_members/garbage", "not json".getBytes(UTF_8));
    awaitApplied(a, source().put(prefix, "visible", "{}".getBytes(UTF_8)));
    Lockstep b = node(); // lists after the fact: the snapshot path
    awaitReady(List.of(b));
    for (Lockstep n : List.of(a, b)) {
      assertThat(n.map().list("", 0)).extracting(Versioned::key).containsExactly("visible");
      assertThat(n.map().get("_members/intruder")).isNull();
      assertThat(digest(n)).isEqualTo(sourceDigest(prefix));
    }
    assertThatThrownBy(() -> a.map().get("_members/intruder", ReadConsistency.STRONG))
        .isInstanceOf(IllegalArgumentException.class);
    for (int i = 0; i < 20; i++) {
      source()
          .put(
              prefix + "-neighbour",
              "k" + i,
              new byte[] {1}); // other namespaces move the revision on
    }
    await()
        .atMost(patience())
        .until(() -> stats(a).lagRevisions() == 0 && stats(a).lagMillis() == 0);
    await().atMost(patience()).until(() -> members(a).size() == 3);
    assertThat(members(a))
        .extracting(Member::id)
        .containsExactlyInAnyOrder(a.self().id(), b.self().id(), "intruder");
  }
}
