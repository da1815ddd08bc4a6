package io.lockstep.etcd;

import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.testkit.MembershipWatchContract;
import io.lockstep.testkit.TcpProxy;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The membership-watch contract on a real etcd. Joins and clean leaves come through the watch on
 * the records' prefix, so their bound is tight; a node is killed by freezing its only route to etcd
 * (a paused proxy), so its lease of {@code member_ttl=2s} stops being kept alive and expires.
 */
class EtcdMembershipWatchContractIT extends MembershipWatchContract {
  private static final int MEMBER_TTL_SECONDS = 2;

  @RegisterExtension
  static final TestResource<EtcdSource> etcd = TestResource.of(EtcdSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix, String instanceId) {
    return Lockstep.builder()
        .backend(etcd.get().server().backendUri())
        .keyPrefix(keyPrefix)
        .instanceId(instanceId)
        .build();
  }

  @Override
  protected KillableNode newKillableNode(String keyPrefix, String instanceId) {
    TcpProxy proxy = closeAfterTest(new TcpProxy("127.0.0.1", etcd.get().server().clientPort()));
    Lockstep node =
        Lockstep.builder()
            .backend(
                etcd.get().server().backendUri(proxy.endpoint())
                    + "?member_ttl="
                    + MEMBER_TTL_SECONDS
                    + "s")
            .keyPrefix(keyPrefix)
            .instanceId(instanceId)
            .operationTimeout(Duration.ofSeconds(2))
            .build();
    return new KillableNode(node, proxy::pause);
  }

  @Override
  protected Duration joinBound() {
    return Duration.ofSeconds(2);
  }

  @Override
  protected Duration leaveBound() {
    return Duration.ofSeconds(1);
  }

  /** The lease's TTL, plus etcd's expiry check (every half second) and slack. */
  @Override
  protected Duration crashBound() {
    return Duration.ofSeconds(MEMBER_TTL_SECONDS + 3);
  }

  /**
   * etcd goes down and comes back: the watch fails and lists again, so a node that joined after the
   * restart is seen; meanwhile the listener is never told an empty membership (the outage is no
   * leave).
   */
  @Test
  void watch_listsAgainAfterAnEtcdRestart_andNeverReportsTheOutageAsEmpty() {
    Lockstep a = closeAfterTest(newNode(prefix, "node-a"));
    List<List<String>> calls = new CopyOnWriteArrayList<>();
    closeAfterTest(a.watchMembers(l -> calls.add(l.stream().map(Member::id).toList())));
    Awaitility.await().atMost(patience()).until(() -> calls.contains(List.of("node-a")));
    etcd.get().server().stop();
    etcd.get().server().start();
    Lockstep b = closeAfterTest(newNode(prefix, "node-b"));
    Awaitility.await()
        .atMost(patience())
        .until(() -> !calls.isEmpty() && calls.get(calls.size() - 1).contains("node-b"));
    // The first call may precede the node's own registration; none after it is empty.
    org.assertj.core.api.Assertions.assertThat(
            calls.subList(calls.indexOf(List.of("node-a")), calls.size()))
        .doesNotContain(List.of());
    b.close();
    Awaitility.await()
        .atMost(patience())
        .until(() -> calls.get(calls.size() - 1).equals(List.of("node-a")));
  }
}
