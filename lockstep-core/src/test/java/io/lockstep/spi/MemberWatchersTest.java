package io.lockstep.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Member;
import io.lockstep.Registration;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class MemberWatchersTest {
  private static final Instant T0 = Instant.parse("2024-01-01T00:00:00Z");
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static Member m(String id) {
    return new Member(id, "http://" + id, T0);
  }

  /** A membership without events: what a poll of members() answers, and how often it was asked. */
  private static final class FakeMembership implements Membership {
    final AtomicReference<List<Member>> now = new AtomicReference<>(List.of());
    final AtomicInteger polls = new AtomicInteger();
    volatile boolean failing;

    @Override
    public CompletableFuture<Membership.Registration> register(Member self) {
      throw new UnsupportedOperationException("not used: the watch tests only poll members()");
    }

    @Override
    public CompletableFuture<List<Member>> members() {
      polls.incrementAndGet();
      return failing
          ? CompletableFuture.failedFuture(new IllegalStateException("down"))
          : CompletableFuture.completedFuture(now.get());
    }
  }

  /** Every call a listener got, with the thread it ran on. */
  private static final class Calls implements Consumer<List<Member>> {
    final List<List<Member>> lists = new CopyOnWriteArrayList<>();
    final List<String> threads = new CopyOnWriteArrayList<>();

    @Override
    public void accept(List<Member> members) {
      lists.add(members);
      threads.add(Thread.currentThread().getName());
    }

    List<String> ids(int call) {
      return lists.get(call).stream().map(Member::id).toList();
    }
  }

  @Test
  void defaultWatch_pollsMembers_callsOnceAtStart_thenOnlyOnChange_sortedById() throws Exception {
    FakeMembership fake = new FakeMembership();
    fake.now.set(List.of(m("b"), m("a")));
    Calls calls = new Calls();
    try (Registration r = fake.watch(calls)) {
      await().atMost(WAIT).until(() -> calls.lists.size() == 1);
      assertThat(calls.ids(0)).containsExactly("a", "b");
      // The same members in another order is no change; several polls pass without a call.
      fake.now.set(List.of(m("a"), m("b")));
      int polled = fake.polls.get();
      await().atMost(WAIT).until(() -> fake.polls.get() >= polled + 3);
      assertThat(calls.lists).hasSize(1);

      fake.now.set(List.of(m("a"), m("b"), m("c")));
      await().atMost(WAIT).until(() -> calls.lists.size() == 2);
      assertThat(calls.ids(1)).containsExactly("a", "b", "c");
      fake.now.set(List.of(m("c")));
      await().atMost(WAIT).until(() -> calls.lists.size() == 3);
      assertThat(calls.ids(2)).containsExactly("c");
      // A record replaced (same id, new URL) is a change too.
      fake.now.set(List.of(new Member("c", "http://elsewhere", T0)));
      await().atMost(WAIT).until(() -> calls.lists.size() == 4);
      assertThat(calls.lists.get(3).get(0).url()).isEqualTo("http://elsewhere");
    }
    assertThat(calls.threads).allMatch(t -> t.startsWith("lockstep-membership-watch-"));
  }

  @Test
  void defaultWatch_closed_stopsPollingAndCalls() throws Exception {
    FakeMembership fake = new FakeMembership();
    fake.now.set(List.of(m("a")));
    Calls calls = new Calls();
    Registration r = fake.watch(calls);
    await().atMost(WAIT).until(() -> calls.lists.size() == 1);
    r.close();
    r.close(); // idempotent
    int polled = fake.polls.get();
    fake.now.set(List.of(m("a"), m("b")));
    Thread.sleep(MemberWatchers.DEFAULT_POLL_INTERVAL.toMillis() * 4);
    assertThat(fake.polls.get()).as("polls after close").isLessThanOrEqualTo(polled + 1);
    assertThat(calls.lists).hasSize(1);
  }

  @Test
  void defaultWatch_failingPolls_keepTheLastList_andRecover() {
    FakeMembership fake = new FakeMembership();
    fake.now.set(List.of(m("a"), m("b")));
    Calls calls = new Calls();
    try (Registration r = fake.watch(calls)) {
      await().atMost(WAIT).until(() -> calls.lists.size() == 1);
      fake.failing = true;
      int polled = fake.polls.get();
      await().atMost(WAIT).until(() -> fake.polls.get() >= polled + 3);
      assertThat(calls.lists).as("an outage is no empty membership").hasSize(1);
      fake.now.set(List.of(m("b")));
      fake.failing = false;
      await().atMost(WAIT).until(() -> calls.lists.size() == 2);
      assertThat(calls.ids(1)).containsExactly("b");
    }
  }

  @Test
  void events_beforeTheFirstList_areNotDelivered_thenJoinsAndLeavesAre() {
    AtomicReference<MemberWatchers.Sink> sink = new AtomicReference<>();
    MemberWatchers w =
        new MemberWatchers(
            "test",
            s -> {
              sink.set(s);
              return () -> {};
            });
    Calls calls = new Calls();
    w.watch(calls);
    sink.get().joined(m("x"));
    sink.get().left("x");
    sink.get().joined(m("y"));
    assertThat(calls.lists).isEmpty();
    sink.get().members(List.of(m("b"), m("a")));
    await().atMost(WAIT).until(() -> calls.lists.size() == 1);
    assertThat(calls.ids(0)).containsExactly("a", "b");
    sink.get().joined(m("c"));
    await().atMost(WAIT).until(() -> calls.lists.size() == 2);
    assertThat(calls.ids(1)).containsExactly("a", "b", "c");
    sink.get().left("nobody"); // no change: no call
    sink.get().left("a");
    await().atMost(WAIT).until(() -> calls.lists.size() == 3);
    assertThat(calls.ids(2)).containsExactly("b", "c");
    w.close();
  }

  @Test
  void sourceRuns_whileAnyoneWatches_andAStoppedSourcesSinkIsIgnored() {
    List<MemberWatchers.Sink> sinks = new CopyOnWriteArrayList<>();
    AtomicInteger stopped = new AtomicInteger();
    MemberWatchers w =
        new MemberWatchers(
            "test",
            s -> {
              sinks.add(s);
              s.members(List.of(m("a")));
              return stopped::incrementAndGet;
            });
    Calls first = new Calls();
    Calls second = new Calls();
    Registration r1 = w.watch(first);
    Registration r2 = w.watch(second);
    assertThat(sinks).hasSize(1);
    await().atMost(WAIT).until(() -> first.lists.size() == 1 && second.lists.size() == 1);
    r1.close();
    assertThat(stopped.get()).isZero();
    assertThat(w.running()).isTrue();
    r2.close();
    assertThat(stopped.get()).isEqualTo(1);
    assertThat(w.running()).isFalse();
    assertThat(sinks.get(0).active()).isFalse();

    Calls third = new Calls();
    w.watch(third);
    assertThat(sinks).hasSize(2);
    await().atMost(WAIT).until(() -> third.lists.size() == 1);
    sinks.get(0).members(List.of(m("stale"))); // the old run, late
    sinks.get(1).joined(m("b"));
    await().atMost(WAIT).until(() -> third.lists.size() == 2);
    assertThat(third.ids(1)).containsExactly("a", "b");
    w.close();
    assertThat(stopped.get()).isEqualTo(2);
  }

  @Test
  void listener_runsOffTheFeedingThread_oneCallAtATime_newestListAfterASlowCall() throws Exception {
    AtomicReference<MemberWatchers.Sink> sink = new AtomicReference<>();
    MemberWatchers w =
        new MemberWatchers(
            "test",
            s -> {
              sink.set(s);
              return () -> {};
            });
    CountDownLatch inFirstCall = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger concurrent = new AtomicInteger();
    AtomicInteger maxConcurrent = new AtomicInteger();
    List<List<String>> seen = Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new CopyOnWriteArrayList<>();
    w.watch(
        list -> {
          maxConcurrent.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
          threads.add(Thread.currentThread());
          seen.add(list.stream().map(Member::id).toList());
          inFirstCall.countDown();
          try {
            release.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          concurrent.decrementAndGet();
        });
    sink.get().members(List.of(m("a")));
    assertThat(inFirstCall.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    sink.get().joined(m("b"));
    sink.get().joined(m("c"));
    sink.get().left("c"); // a, b: the newest
    release.countDown();
    await().atMost(WAIT).until(() -> seen.size() == 2);
    Thread.sleep(200);
    assertThat(seen).containsExactly(List.of("a"), List.of("a", "b"));
    assertThat(maxConcurrent.get()).isEqualTo(1);
    assertThat(threads).doesNotContain(Thread.currentThread());
    w.close();
  }

  @Test
  void aThrowingListener_isCalledAgainOnTheNextChange_andOthersStillAre() {
    AtomicReference<MemberWatchers.Sink> sink = new AtomicReference<>();
    MemberWatchers w =
        new MemberWatchers(
            "test",
            s -> {
              sink.set(s);
              return () -> {};
            });
    Calls thrower = new Calls();
    Calls other = new Calls();
    w.watch(
        list -> {
          thrower.accept(list);
          throw new IllegalStateException("listener bug");
        });
    w.watch(other);
    sink.get().members(List.of(m("a")));
    sink.get().joined(m("b"));
    await().atMost(WAIT).until(() -> other.lists.stream().anyMatch(l -> l.size() == 2));
    await().atMost(WAIT).until(() -> !thrower.lists.isEmpty());
    sink.get().joined(m("c"));
    // Called again after it threw: it sees the list with the next change.
    await().atMost(WAIT).until(() -> thrower.lists.stream().anyMatch(l -> l.size() == 3));
    w.close();
  }

  @Test
  void aLateListener_getsTheCurrentListAtOnce_withoutRestartingTheSource() {
    AtomicInteger starts = new AtomicInteger();
    AtomicReference<MemberWatchers.Sink> sink = new AtomicReference<>();
    MemberWatchers w =
        new MemberWatchers(
            "test",
            s -> {
              starts.incrementAndGet();
              sink.set(s);
              return () -> {};
            });
    w.watch(list -> {});
    sink.get().members(List.of(m("a"), m("b")));
    Calls late = new Calls();
    w.watch(late);
    await().atMost(WAIT).until(() -> late.lists.size() == 1);
    assertThat(late.ids(0)).containsExactly("a", "b");
    assertThat(starts.get()).isEqualTo(1);
    w.close();
  }
}
