package io.lockstep.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.Registration;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * What every backend's membership watch ({@link Lockstep#watchMembers}) must show, written once;
 * each backend runs it by subclassing. A watcher sees a node that joins, one that leaves cleanly,
 * and one that dies without leaving, each within the backend's bound; it is called only on changes,
 * never on a backend client's threads, and not at all once closed.
 */
public abstract class MembershipWatchContract extends NamespacedSuite {
  /**
   * Parts of the names of threads no listener may run on: client I/O (Netty, gRPC, Lettuce,
   * JGroups, Vert.x) and the backends' own housekeeping and event threads.
   */
  private static final List<String> IO_THREADS =
      List.of(
          "netty",
          "grpc",
          "lettuce",
          "jgroups",
          "vert.x",
          "vertx",
          "connection.receiver",
          "lockstep-etcd-",
          "lockstep-redis-",
          "lockstep-peer-",
          "lockstep-postgres-",
          "lockstep-applier");

  protected MembershipWatchContract() {
    super("members");
  }

  /** A started node on {@code keyPrefix} named {@code instanceId}, with a backend of its own. */
  protected abstract Lockstep newNode(String keyPrefix, String instanceId);

  /**
   * A started node that the test can kill: make it stop talking to the backend without leaving
   * membership (its process "dies"). Null when the backend cannot simulate that here; the crash
   * test is then skipped.
   */
  protected @Nullable KillableNode newKillableNode(String keyPrefix, String instanceId) {
    return null;
  }

  /** How long after a node is built its join may take to reach a watcher. */
  protected Duration joinBound() {
    return Duration.ofSeconds(5);
  }

  /** How long after a node closes its leave may take to reach a watcher. */
  protected Duration leaveBound() {
    return Duration.ofSeconds(5);
  }

  /**
   * How long after a node is killed a watcher may still list it: the backend's record lifetime
   * (lease TTL, key TTL, failure detection) plus slack.
   */
  protected Duration crashBound() {
    return Duration.ofSeconds(15);
  }

  /** A node and the way to kill it. */
  public record KillableNode(Lockstep node, Runnable kill) {}

  private Lockstep node(String id) {
    return closeAfterTest(newNode(prefix, id));
  }

  /** Every call a listener got, with its thread. */
  protected static final class Calls implements Consumer<List<Member>> {
    private final List<List<String>> lists = new CopyOnWriteArrayList<>();
    private final List<String> threads = new CopyOnWriteArrayList<>();

    @Override
    public void accept(List<Member> members) {
      threads.add(Thread.currentThread().getName());
      lists.add(members.stream().map(Member::id).toList());
    }

    int count() {
      return lists.size();
    }

    List<String> last() {
      return lists.isEmpty() ? List.of() : lists.get(lists.size() - 1);
    }

    /** No call ran on an I/O thread, and no two calls in a row had the same list. */
    void checkCalls() {
      for (String t : threads) {
        String lower = t.toLowerCase(Locale.ROOT);
        for (String io : IO_THREADS) {
          assertThat(lower).as("the thread a membership listener ran on").doesNotContain(io);
        }
      }
      for (int i = 1; i < lists.size(); i++) {
        assertThat(lists.get(i))
            .as("call %d repeats call %d: %s", i, i - 1, lists)
            .isNotEqualTo(lists.get(i - 1));
      }
    }
  }

  /**
   * Waits until {@code calls}' last list is exactly {@code ids}, within {@code bound}; ms taken.
   */
  private long awaitList(Calls calls, Duration bound, String... ids) {
    long t0 = System.nanoTime();
    await()
        .atMost(bound)
        .pollInterval(Duration.ofMillis(10))
        .untilAsserted(() -> assertThat(calls.last()).containsExactly(ids));
    return (System.nanoTime() - t0) / 1_000_000;
  }

  private void report(String what, long millis) {
    System.out.printf("%s: %s seen in %d ms%n", getClass().getSimpleName(), what, millis);
  }

  @Test
  void watch_startsWithTheMembers_thenSeesAJoin_andACleanLeave_withinBounds() {
    Lockstep a = node("node-a");
    Calls calls = new Calls();
    closeAfterTest(a.watchMembers(calls));
    awaitList(calls, joinBound(), "node-a");

    Lockstep b = node("node-b");
    Calls onB = new Calls();
    closeAfterTest(b.watchMembers(onB));
    report("join", awaitList(calls, joinBound(), "node-a", "node-b"));
    awaitList(onB, joinBound(), "node-a", "node-b");

    b.close();
    report("clean leave", awaitList(calls, leaveBound(), "node-a"));
    calls.checkCalls();
    onB.checkCalls();
  }

  @Test
  void watch_seesAKilledNodeGone_withinItsRecordLifetime() {
    Lockstep a = node("node-a");
    Calls calls = new Calls();
    closeAfterTest(a.watchMembers(calls));
    awaitList(calls, joinBound(), "node-a");
    KillableNode k = newKillableNode(prefix, "node-k");
    if (k == null) {
      throw new AssertionError("newKillableNode: every backend's contract must kill a node");
    }
    closeAfterTest(k.node());
    awaitList(calls, joinBound(), "node-a", "node-k");

    k.kill().run();
    long millis = awaitList(calls, crashBound(), "node-a");
    report("crash", millis);
    calls.checkCalls();
  }

  @Test
  void closedWatches_areCalledNoMore_whileAnOpenOneSeesTheChange() throws Exception {
    Lockstep a = node("node-a");
    Lockstep x = node("node-x");
    Calls open = new Calls();
    Calls closedByHand = new Calls();
    Calls closedWithNode = new Calls();
    closeAfterTest(a.watchMembers(open));
    Registration byHand = a.watchMembers(closedByHand);
    x.watchMembers(closedWithNode);
    awaitList(open, joinBound(), "node-a", "node-x");
    awaitList(closedByHand, joinBound(), "node-a", "node-x");
    awaitList(closedWithNode, joinBound(), "node-a", "node-x");

    byHand.close();
    byHand.close(); // idempotent
    x.close();
    int byHandCalls = closedByHand.count();
    int withNodeCalls = closedWithNode.count();
    awaitList(open, leaveBound(), "node-a");
    node("node-c");
    awaitList(open, joinBound(), "node-a", "node-c");
    Thread.sleep(500); // any late call would land in this time
    assertThat(closedByHand.count()).as("calls after close()").isEqualTo(byHandCalls);
    assertThat(closedWithNode.count()).as("calls after the node closed").isEqualTo(withNodeCalls);
    assertThatThrownBy(() -> x.watchMembers(l -> {})).isInstanceOf(IllegalStateException.class);
    open.checkCalls();
  }
}
