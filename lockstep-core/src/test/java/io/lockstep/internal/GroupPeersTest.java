package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.GroupAnswer;
import io.lockstep.GroupOptions;
import io.lockstep.Loaded;
import io.lockstep.Loader;
import io.lockstep.LoadingGroup;
import io.lockstep.Lockstep;
import io.lockstep.RemoveResult;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Several instances in one JVM, each with its embedded listener on a loopback port, talking the
 * real peer protocol over HTTP.
 */
class GroupPeersTest {
  private final List<AutoCloseable> open = new ArrayList<>();
  private final Map<String, AtomicInteger> loadsByKey = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> loadsByKeyAndNode = new ConcurrentHashMap<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static String url(int port) {
    return "http://127.0.0.1:" + port;
  }

  private Loader counting(String node) {
    return key -> {
      loadsByKey.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
      loadsByKeyAndNode
          .computeIfAbsent(node + "/" + key, k -> new AtomicInteger())
          .incrementAndGet();
      return Loaded.of(("v-" + key).getBytes(StandardCharsets.UTF_8));
    };
  }

  /** Static groups on the given ports; {@code lists.get(i)} is the membership node i believes. */
  private List<GroupEngine> staticGroups(
      int[] ports, List<List<Integer>> lists, GroupOptions.Builder base) {
    List<GroupEngine> gs = new ArrayList<>();
    for (int i = 0; i < ports.length; i++) {
      List<String> urls = lists.get(i).stream().map(GroupPeersTest::url).toList();
      GroupOptions o = base.staticPeers(url(ports[i]), urls).listenPort(ports[i]).build();
      GroupEngine g = GroupEngine.openStatic("data", counting("n" + i), o);
      open.add(g);
      gs.add(g);
    }
    return gs;
  }

  private List<GroupEngine> threeNodes(GroupOptions.Builder base) throws IOException {
    int[] ports = {freePort(), freePort(), freePort()};
    List<Integer> all = List.of(ports[0], ports[1], ports[2]);
    return staticGroups(ports, List.of(all, all, all), base);
  }

  private static String str(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void everyKeyIsLoadedOnceAcrossTheInstances() throws Exception {
    List<GroupEngine> gs = threeNodes(GroupOptions.builder());
    for (int round = 0; round < 2; round++) {
      for (int k = 0; k < 60; k++) {
        for (GroupEngine g : gs) {
          assertThat(str(g.get("key " + k + "/é+").get(5, TimeUnit.SECONDS)))
              .isEqualTo("v-key " + k + "/é+");
        }
      }
    }
    assertThat(loadsByKey).hasSize(60);
    assertThat(loadsByKey.values()).allSatisfy(c -> assertThat(c).hasValue(1));
    // each key was loaded on its owner
    for (String key : loadsByKey.keySet()) {
      String owner = gs.get(0).ownerOf(key);
      int idx = -1;
      for (int i = 0; i < gs.size(); i++) {
        if (gs.get(i).listenUrl().toString().equals(owner)) {
          idx = i;
        }
      }
      assertThat(loadsByKeyAndNode.get("n" + idx + "/" + key)).as(key).hasValue(1);
    }
    long peerLoads = gs.stream().mapToLong(g -> g.stats().peerLoads()).sum();
    long served = gs.stream().mapToLong(g -> g.stats().serverRequests()).sum();
    assertThat(peerLoads).isEqualTo(served).isGreaterThanOrEqualTo(60);
    assertThat(gs.stream().mapToLong(g -> g.stats().peerErrors()).sum()).isZero();
    assertThat(gs.stream().mapToLong(g -> g.stats().hot().hits()).sum()).isPositive();
  }

  /** The first key {@code wanted} accepts, among k0..k99999. */
  static String findKey(java.util.function.Predicate<String> wanted) {
    for (int i = 0; i < 100_000; i++) {
      if (wanted.test("k" + i)) {
        return "k" + i;
      }
    }
    throw new AssertionError("no such key");
  }

  @Test
  void staleMemberLists_doNotLoop_theForwardedRequestIsLoadedWhereItLands() throws Exception {
    int a = freePort();
    int b = freePort();
    int deadC = freePort(); // nobody listens there
    // With the same ids rendezvous hashing cannot make two views point at each other, so B's view
    // names A by another URL (a stale or differently written list, as a rename or a DNS change
    // gives): A believes {A, B}; B believes {A', B, C}, where A' reaches A. A key that A gives to
    // B and B gives to A' would bounce A -> B -> A -> ... without the forwarded mark.
    String aAlias = "http://localhost:" + a;
    Rendezvous viewA = new Rendezvous(List.of(url(a), url(b)));
    Rendezvous viewB = new Rendezvous(List.of(aAlias, url(b), url(deadC)));
    String key = findKey(k -> viewA.owner(k).equals(url(b)) && viewB.owner(k).equals(aAlias));
    String other = findKey(k -> viewA.owner(k).equals(url(b)) && viewB.owner(k).equals(url(deadC)));
    GroupOptions.Builder o = GroupOptions.builder().peerDeadline(Duration.ofSeconds(2));
    GroupEngine ga =
        GroupEngine.openStatic(
            "data",
            counting("n0"),
            o.staticPeers(url(a), List.of(url(a), url(b))).listenPort(a).build());
    open.add(ga);
    GroupEngine gb =
        GroupEngine.openStatic(
            "data",
            counting("n1"),
            o.staticPeers(url(b), List.of(aAlias, url(b), url(deadC))).listenPort(b).build());
    open.add(gb);
    long t0 = System.nanoTime();
    assertThat(str(ga.get(key).get(5, TimeUnit.SECONDS))).isEqualTo("v-" + key);
    assertThat(str(ga.get(other).get(5, TimeUnit.SECONDS))).isEqualTo("v-" + other);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(2000);
    // both loaded on B, once, and B asked nobody
    assertThat(loadsByKeyAndNode.get("n1/" + key)).hasValue(1);
    assertThat(loadsByKeyAndNode.get("n1/" + other)).hasValue(1);
    assertThat(loadsByKeyAndNode).doesNotContainKeys("n0/" + key, "n0/" + other);
    assertThat(ga.stats().peerLoads()).isEqualTo(2);
    assertThat(gb.stats().serverRequests()).isEqualTo(2);
    assertThat(gb.stats().peerLoads() + gb.stats().peerErrors()).isZero();
    assertThat(ga.stats().serverRequests()).isZero();
  }

  @Test
  void ownerDown_requestsStillSucceed_byLoadingLocally() throws Exception {
    int a = freePort();
    int down = freePort();
    List<GroupEngine> gs =
        staticGroups(
            new int[] {a},
            List.of(List.of(a, down)),
            GroupOptions.builder().peerDeadline(Duration.ofMillis(500)));
    GroupEngine g = gs.get(0);
    int owned = 0;
    for (int k = 0; k < 20; k++) {
      String key = "k" + k;
      assertThat(str(g.get(key).get(5, TimeUnit.SECONDS))).isEqualTo("v-" + key);
      if (g.ownerOf(key).equals(url(down))) {
        owned++;
      }
    }
    assertThat(owned).isPositive();
    var s = g.stats();
    assertThat(s.peerErrors()).isEqualTo(owned);
    assertThat(s.localLoads()).isEqualTo(20);
    assertThat(s.hot().items()).isEqualTo(owned); // kept as hot copies, not as owned keys
  }

  @Test
  void removeDropsAKeyEverywhere_andTheNextGetLoadsAgain() throws Exception {
    List<GroupEngine> gs = threeNodes(GroupOptions.builder());
    for (GroupEngine g : gs) {
      g.get("hot").get(5, TimeUnit.SECONDS);
    }
    for (GroupEngine g : gs) {
      long before = g.stats().cacheHits();
      g.get("hot").get(5, TimeUnit.SECONDS);
      assertThat(g.stats().cacheHits()).as("cached on every node").isEqualTo(before + 1);
    }
    assertThat(loadsByKey.get("hot")).hasValue(1);
    RemoveResult r = gs.get(1).remove("hot").get(5, TimeUnit.SECONDS);
    assertThat(r.complete()).isTrue();
    assertThat(r.reached()).hasSize(2);
    for (GroupEngine g : gs) {
      // the only key is gone from every cache, the owner's main and the others' hot copies
      assertThat(g.stats().main().items() + g.stats().hot().items()).isZero();
    }
    for (GroupEngine g : gs) {
      assertThat(str(g.get("hot").get(5, TimeUnit.SECONDS))).isEqualTo("v-hot");
    }
    assertThat(loadsByKey.get("hot")).hasValue(2);
  }

  @Test
  void removeNamesTheMembersThatDidNotAnswer() throws Exception {
    int a = freePort();
    int down = freePort();
    List<GroupEngine> gs =
        staticGroups(
            new int[] {a},
            List.of(List.of(a, down)),
            GroupOptions.builder().peerDeadline(Duration.ofMillis(300)));
    RemoveResult r = gs.get(0).remove("k").get(5, TimeUnit.SECONDS);
    assertThat(r.missed()).containsExactly(url(down));
    assertThat(r.complete()).isFalse();
  }

  @Test
  void aFetchRacingARemoval_doesNotResurrectTheOldValueOnEitherSide() throws Exception {
    int a = freePort();
    int b = freePort();
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    Loader gated =
        key -> {
          if (calls.incrementAndGet() == 1) {
            release.await();
            return Loaded.of("old".getBytes(StandardCharsets.UTF_8));
          }
          return Loaded.of("new".getBytes(StandardCharsets.UTF_8));
        };
    List<String> both = List.of(url(a), url(b));
    GroupEngine ga =
        GroupEngine.openStatic(
            "data", gated, GroupOptions.builder().staticPeers(url(a), both).listenPort(a).build());
    open.add(ga);
    GroupEngine gb =
        GroupEngine.openStatic(
            "data", gated, GroupOptions.builder().staticPeers(url(b), both).listenPort(b).build());
    open.add(gb);
    String key = findKey(k -> ga.ownerOf(k).equals(url(b)));
    var racing = ga.get(key); // A asks B; B's load waits on the gate
    await().until(() -> calls.get() == 1);
    assertThat(ga.remove(key).get(5, TimeUnit.SECONDS).complete()).isTrue();
    release.countDown();
    assertThat(str(racing.get(5, TimeUnit.SECONDS))).isEqualTo("old");
    assertThat(str(ga.get(key).get(5, TimeUnit.SECONDS))).isEqualTo("new");
    assertThat(str(gb.get(key).get(5, TimeUnit.SECONDS))).isEqualTo("new");
    assertThat(calls).hasValue(2);
  }

  @Test
  void expiryTravelsWithTheValue_hotCopiesExpireToo() throws Exception {
    int a = freePort();
    int b = freePort();
    AtomicInteger calls = new AtomicInteger();
    Loader ttl =
        key ->
            Loaded.of(
                ("v" + calls.incrementAndGet()).getBytes(StandardCharsets.UTF_8),
                Duration.ofMillis(400));
    List<String> both = List.of(url(a), url(b));
    GroupEngine ga =
        GroupEngine.openStatic(
            "data", ttl, GroupOptions.builder().staticPeers(url(a), both).listenPort(a).build());
    open.add(ga);
    GroupEngine gb =
        GroupEngine.openStatic(
            "data", ttl, GroupOptions.builder().staticPeers(url(b), both).listenPort(b).build());
    open.add(gb);
    String key = findKey(k -> ga.ownerOf(k).equals(url(b)));
    assertThat(str(ga.get(key).get(5, TimeUnit.SECONDS))).isEqualTo("v1");
    assertThat(str(ga.get(key).get(5, TimeUnit.SECONDS))).isEqualTo("v1");
    assertThat(ga.stats().hot().hits()).isEqualTo(1);
    Thread.sleep(600);
    assertThat(str(ga.get(key).get(5, TimeUnit.SECONDS))).isEqualTo("v2");
    assertThat(ga.stats().peerLoads()).isEqualTo(2);
  }

  @Test
  void withASecret_peersAuthenticate_andOthersGet401() throws Exception {
    int a = freePort();
    int b = freePort();
    List<GroupEngine> gs =
        staticGroups(
            new int[] {a, b},
            List.of(List.of(a, b), List.of(a, b)),
            GroupOptions.builder().peerSecret("s3cret"));
    for (int k = 0; k < 10; k++) {
      gs.get(0).get("k" + k).get(5, TimeUnit.SECONDS);
    }
    assertThat(gs.get(0).stats().peerLoads()).isPositive();
    assertThat(gs.get(0).stats().peerErrors()).isZero();
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> noAuth =
        http.send(
            HttpRequest.newBuilder(URI.create(url(b) + "/_lockstep/groups/data/k1")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(noAuth.statusCode()).isEqualTo(401);
    assertThat(noAuth.body()).contains("\"error\":\"unauthorized\"");
    HttpResponse<String> wrong =
        http.send(
            HttpRequest.newBuilder(URI.create(url(b) + "/_lockstep/groups/data/k1"))
                .DELETE()
                .header("Authorization", "Bearer nope")
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(wrong.statusCode()).isEqualTo(401);
    HttpResponse<byte[]> ok =
        http.send(
            HttpRequest.newBuilder(URI.create(url(b) + "/_lockstep/groups/data/k%201"))
                .header("Authorization", "Bearer s3cret")
                .header(GroupAnswer.FORWARDED_HEADER, "1")
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(str(ok.body())).isEqualTo("v-k 1");
    assertThat(ok.headers().firstValue("Content-Type")).hasValue("application/octet-stream");
    HttpResponse<String> post =
        http.send(
            HttpRequest.newBuilder(URI.create(url(b) + "/_lockstep/groups/data/k1"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .header("Authorization", "Bearer s3cret")
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
  }

  @Test
  void aLoaderErrorOnTheOwner_travelsAsStatusAndMessage() throws Exception {
    int b = freePort();
    GroupEngine gb =
        GroupEngine.openStatic(
            "data",
            key -> {
              throw new IllegalStateException("row \"" + key + "\" missing");
            },
            GroupOptions.builder().staticPeers(url(b), List.of()).listenPort(b).build());
    open.add(gb);
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(url(b) + "/_lockstep/groups/data/x")).build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(r.body())
        .isEqualTo("{\"error\":\"load_failed\",\"message\":\"row \\\"x\\\" missing\"}");
    assertThat(r.headers().firstValue(GroupAnswer.ERROR_HEADER).map(PeerClient::decode))
        .hasValue("row \"x\" missing");
  }

  @Test
  void nodesFollowTheirLiveMembership() throws Exception {
    try (InMemoryNodes nodes = new InMemoryNodes()) {
      InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
      int pa = freePort();
      int pb = freePort();
      Lockstep a = nodes.node(s, b -> b.instanceId("a").advertiseUrl(url(pa)));
      Lockstep b = nodes.node(s, x -> x.instanceId("b").advertiseUrl(url(pb)));
      GroupOptions.Builder o = GroupOptions.builder().membershipPollInterval(Duration.ofMillis(50));
      GroupEngine ga = (GroupEngine) a.group("data", counting("a"), o.listenPort(pa).build());
      GroupEngine gb = (GroupEngine) b.group("data", counting("b"), o.listenPort(pb).build());
      await().until(() -> ga.members().size() == 2 && gb.members().size() == 2);
      for (int k = 0; k < 30; k++) {
        ga.get("k" + k).get(5, TimeUnit.SECONDS);
        gb.get("k" + k).get(5, TimeUnit.SECONDS);
      }
      assertThat(loadsByKey.values()).allSatisfy(c -> assertThat(c).hasValue(1));
      assertThat(ga.stats().peerLoads()).isPositive();
      assertThat(gb.stats().peerLoads()).isPositive();
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> a.group("data", counting("a"), GroupOptions.defaults()))
          .isInstanceOf(IllegalStateException.class);
      // b leaves: a takes over b's keys
      b.leaveMembership();
      await().until(() -> ga.members().equals(List.of("a")));
      gb.close();
      LoadingGroup again = b.group("data", counting("b"), GroupOptions.defaults());
      again.close();
      for (int k = 0; k < 30; k++) {
        ga.get("k" + k).get(5, TimeUnit.SECONDS);
      }
      assertThat(ga.stats().peerErrors()).isZero();
    }
  }
}
