package io.lockstep.redis;

import static org.assertj.core.api.Assertions.assertThat;

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
 * The membership-watch contract on a real Redis. Joins and clean leaves are announced on the
 * membership channel, so their bound is tight; a node is killed by freezing its only route to Redis
 * (a paused proxy), so its record ({@code member_ttl=2s}) is no longer refreshed and expires, which
 * the watch's check of known records (every half second) finds.
 */
class RedisMembershipWatchContractIT extends MembershipWatchContract {
  private static final int MEMBER_TTL_SECONDS = 2;

  @RegisterExtension
  static final TestResource<RedisSource> redis = TestResource.of(RedisSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix, String instanceId) {
    return Lockstep.builder()
        .backend(redis.get().server().backendUri())
        .keyPrefix(keyPrefix)
        .instanceId(instanceId)
        .build();
  }

  @Override
  protected KillableNode newKillableNode(String keyPrefix, String instanceId) {
    TcpProxy proxy = closeAfterTest(new TcpProxy("127.0.0.1", redis.get().server().port()));
    Lockstep node =
        Lockstep.builder()
            .backend(
                redis.get().server().backendUri(proxy.endpoint())
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

  /** The record's TTL, plus one check of the known records (half a second) and slack. */
  @Override
  protected Duration crashBound() {
    return Duration.ofSeconds(MEMBER_TTL_SECONDS + 3);
  }

  /**
   * A record written by hand, as a registration that announced nothing (its message lost): the
   * watch finds it by its periodic full listing, within {@code FULL_EVERY} ticks.
   */
  @Test
  void watch_findsARecordWhoseAnnouncementWasLost_byItsPeriodicListing() {
    Lockstep a = closeAfterTest(newNode(prefix, "node-a"));
    List<List<String>> calls = new CopyOnWriteArrayList<>();
    closeAfterTest(a.watchMembers(l -> calls.add(l.stream().map(Member::id).toList())));
    Awaitility.await().atMost(patience()).until(() -> calls.contains(List.of("node-a")));
    redis
        .get()
        .rawSet(
            prefix,
            "members:silent",
            RedisMembership.json(new Member("silent", "http://silent", java.time.Instant.now())));
    long t0 = System.nanoTime();
    Awaitility.await()
        .atMost(
            Duration.ofMillis(RedisMembersWatch.TICK_MILLIS * RedisMembersWatch.FULL_EVERY + 2000))
        .until(() -> calls.get(calls.size() - 1).equals(List.of("node-a", "silent")));
    System.out.printf(
        "%s: unannounced record seen in %d ms%n",
        getClass().getSimpleName(), (System.nanoTime() - t0) / 1_000_000);
    assertThat(calls.get(calls.size() - 1)).containsExactly("node-a", "silent");
  }
}
