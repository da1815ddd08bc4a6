package io.lockstep.redis;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockstep.Lockstep;
import io.lockstep.server.LockstepServer;
import io.lockstep.server.ServerSettings;
import io.lockstep.testkit.NamespacedSuite;
import io.lockstep.testkit.TcpProxy;
import io.lockstep.testkit.TestResource;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code Idempotency-Key} end to end: two in-JVM servers on one real Redis, reached through a
 * {@link TcpProxy} that resets connections, drops answers and freezes the route for longer than the
 * backend's {@code timeout}, while clients send {@code POST /counters/x} with distinct keys and
 * retry every answer other than 200 (503 "may have been counted" included) with the same key, on
 * the other instance. Every key counts exactly once.
 */
class RedisIdempotencyKeyIT extends NamespacedSuite {
  private static final int KEYS = 240;
  private static final int CLIENTS = 4;

  @RegisterExtension
  static final TestResource<RedisSource> redis = TestResource.of(RedisSource::onNewServer);

  RedisIdempotencyKeyIT() {
    super("idem");
  }

  private LockstepServer server(TcpProxy proxy) {
    ServerSettings settings =
        ServerSettings.builder()
            .bindHost("127.0.0.1")
            .port(0)
            .maxWait(Duration.ofSeconds(5))
            .environment(Map.of())
            .build();
    return closeAfterTest(
        LockstepServer.start(
            settings,
            url ->
                Lockstep.builder()
                    .backend("redis://" + proxy.endpoint() + "?timeout=250ms")
                    .keyPrefix(prefix)
                    .advertiseUrl(url)
                    .operationTimeout(Duration.ofSeconds(1))
                    .build()));
  }

  @Test
  void postCounter_retriedWithItsKeyThroughResetsAndLostAnswers_countsEveryKeyOnce()
      throws Exception {
    TcpProxy proxy = closeAfterTest(new TcpProxy("127.0.0.1", redis.get().server().port()));
    List<LockstepServer> servers = List.of(server(proxy), server(proxy));
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    Map<Integer, AtomicInteger> failures = new ConcurrentHashMap<>();
    AtomicLong replays = new AtomicLong();

    ScheduledExecutorService chaos = Executors.newSingleThreadScheduledExecutor();
    AtomicInteger tick = new AtomicInteger();
    chaos.scheduleWithFixedDelay(
        () -> {
          switch (tick.getAndIncrement() % 4) {
            case 0 -> proxy.closeOnNextReply(); // an answer lost after Redis ran the script
            case 1 -> proxy.cut(); // every connection reset
            case 2 -> {
              proxy.closeOnNextReply();
              proxy.pause(); // frozen past the backend's timeout: 503 "may have been counted"
              chaos.schedule(proxy::resume, 400, TimeUnit.MILLISECONDS);
            }
            default -> {}
          }
        },
        20,
        150,
        TimeUnit.MILLISECONDS);
    ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        int client = c;
        done.add(
            clients.submit(
                () -> {
                  for (int k = client; k < KEYS; k += CLIENTS) {
                    String key = prefix + "-key-" + k;
                    for (int attempt = 0; ; attempt++) {
                      LockstepServer s = servers.get((k + attempt) % servers.size());
                      HttpResponse<String> r = post(http, s, key);
                      if (r != null && r.statusCode() == 200) {
                        if (r.headers().firstValue("Idempotent-Replayed").isPresent()) {
                          replays.incrementAndGet();
                        }
                        break;
                      }
                      if (r != null && r.statusCode() == 500) {
                        // a count whose answer was lost: it may have counted, so not 503
                        assertThat(r.body()).contains("\"outcome_unknown\"");
                      }
                      failures
                          .computeIfAbsent(
                              r == null ? -1 : r.statusCode(), x -> new AtomicInteger())
                          .incrementAndGet();
                      assertThat(attempt).as("attempts for %s", key).isLessThan(200);
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get(5, TimeUnit.MINUTES);
      }
    } finally {
      chaos.shutdownNow();
      clients.shutdownNow();
      proxy.resume();
    }

    assertThat(failures).as("the faults made clients retry").isNotEmpty();
    // 503: refused before anything was sent, or the backend unreachable; 500 outcome_unknown: the
    // increment may have counted (its answer was lost). The key makes either safe to retry.
    assertThat(failures.keySet()).as("failure statuses").isSubsetOf(500, 503);
    assertThat(redis.get().raw(prefix, "counter:x"))
        .as("one count per key (failures %s, replays %s)", failures, replays)
        .isEqualTo(Integer.toString(KEYS));
  }

  private static HttpResponse<String> post(HttpClient http, LockstepServer s, String key) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/counters/x"))
            .timeout(Duration.ofSeconds(10))
            .header("Idempotency-Key", key)
            .POST(HttpRequest.BodyPublishers.noBody())
            .build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString(UTF_8));
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
