package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.GroupLoadException;
import io.lockstep.GroupOptions;
import io.lockstep.Loaded;
import io.lockstep.Loader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * Single-flight under concurrency: gets of a few keys arrive at random moments while the loader, by
 * a generated script, returns, returns slowly, throws, or hangs far past the load deadline. The
 * loader records every call's interval per key; no call may begin while another call of the same
 * key runs that began less than the load deadline ago (one load per key at a time; only an
 * abandoned load may still be running). Every caller must complete, with the value or a {@link
 * GroupLoadException}, within the deadline plus slack, and every hung call must be interrupted.
 */
class GroupSingleFlightPropertyTest {
  private static final Duration DEADLINE = Duration.ofMillis(200);
  private static final long SLACK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  private static final long CALLER_BOUND_MS = DEADLINE.toMillis() + 800;

  enum Behaviour {
    OK,
    SLOW,
    THROW,
    HANG
  }

  record Get(int key, int delayMs) {}

  record Call(long start) {}

  @Provide
  Arbitrary<Get> gets() {
    return Combinators.combine(
            Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 400))
        .as(Get::new);
  }

  @Property(tries = 25)
  void oneLoadPerKeyAtATime_everyCallerCompletesInTime(
      @ForAll @Size(min = 1, max = 12) List<Behaviour> script,
      @ForAll @Size(min = 1, max = 40) List<@From("gets") Get> gets)
      throws Exception {
    AtomicLong calls = new AtomicLong();
    Map<String, Set<Call>> active = new ConcurrentHashMap<>();
    List<String> violations = new CopyOnWriteArrayList<>();
    Loader loader =
        key -> {
          Behaviour b = script.get((int) (calls.getAndIncrement() % script.size()));
          Call me = new Call(System.nanoTime());
          Set<Call> act = active.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet());
          synchronized (act) {
            for (Call other : act) {
              long since = me.start() - other.start();
              if (since < DEADLINE.toNanos() - SLACK_NANOS) {
                violations.add(key + ": a call began " + since / 1000 + " µs after another");
              }
            }
            act.add(me);
          }
          try {
            switch (b) {
              case OK -> {}
              case SLOW -> Thread.sleep(40);
              case THROW -> throw new IllegalStateException("no such row");
              case HANG -> Thread.sleep(60_000);
            }
            return Loaded.of(("v:" + key).getBytes(StandardCharsets.UTF_8));
          } finally {
            synchronized (act) {
              act.remove(me);
            }
          }
        };
    GroupOptions options =
        GroupOptions.builder()
            .staticPeers("http://127.0.0.1:9", List.of())
            .loadDeadline(DEADLINE)
            .build();
    try (GroupEngine g = GroupEngine.openStatic("sf", loader, options);
        ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
      List<CompletableFuture<String>> outcomes = new ArrayList<>();
      for (Get get : gets) {
        outcomes.add(
            CompletableFuture.supplyAsync(
                () -> {
                  sleep(get.delayMs());
                  String key = "k" + get.key();
                  long t0 = System.nanoTime();
                  String outcome;
                  try {
                    byte[] v = g.get(key).get(5, TimeUnit.SECONDS);
                    outcome =
                        new String(v, StandardCharsets.UTF_8).equals("v:" + key)
                            ? "ok"
                            : "wrong value";
                  } catch (ExecutionException e) {
                    outcome =
                        e.getCause() instanceof GroupLoadException
                            ? "error"
                            : "unexpected " + e.getCause();
                  } catch (Exception e) {
                    outcome = "stuck: " + e;
                  }
                  long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                  return ms > CALLER_BOUND_MS ? "late (" + ms + " ms): " + outcome : outcome;
                },
                callers));
      }
      for (CompletableFuture<String> o : outcomes) {
        assertThat(o.get(10, TimeUnit.SECONDS)).isIn("ok", "error");
      }
      assertThat(violations).isEmpty();
      // every hung call was interrupted at its deadline: nothing still runs
      await()
          .atMost(Duration.ofSeconds(3))
          .until(() -> active.values().stream().allMatch(Set::isEmpty));
      var s = g.stats();
      assertThat(s.gets()).isEqualTo(gets.size());
      assertThat(s.cacheHits() + s.loads()).isEqualTo(s.gets());
      assertThat(s.loadsDeduped()).isEqualTo(calls.get()).isLessThanOrEqualTo(s.loads());
      assertThat(s.localLoads() + s.localLoadErrors()).isEqualTo(calls.get());
    }
  }

  private static void sleep(int ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
