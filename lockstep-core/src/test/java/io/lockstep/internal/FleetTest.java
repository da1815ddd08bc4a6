package io.lockstep.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.BackendUnavailableException;
import io.lockstep.FleetNotConvergedException;
import io.lockstep.FleetStatus;
import io.lockstep.FleetStatus.MemberRevision;
import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.ForwardingBackend;
import io.lockstep.spi.ForwardingFeedListener;
import io.lockstep.spi.Membership;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Lockstep#fleet()} and {@link Lockstep#awaitFleet} over real HTTP: nodes on one in-memory
 * source, each serving {@code /_lockstep/replica} on its own listener ({@code
 * LockstepBuilder.listen} on a free loopback port), asking each other.
 */
class FleetTest {
  private static final String SECRET = "fleet-secret-0123456789";
  private final InMemoryNodes nodes = new InMemoryNodes();
  private final HttpClient http = HttpClient.newHttpClient();

  @AfterEach
  void close() throws Exception {
    nodes.close();
    http.close();
  }

  private Lockstep node(InMemorySource s, String id) {
    return nodes.node(s, b -> b.instanceId(id).listen("127.0.0.1", 0).peerSecret(SECRET));
  }

  private static long put(Lockstep n, String key) {
    WriteResult w = n.map().put(key, key.getBytes(UTF_8), "text/plain");
    return w.revision();
  }

  private HttpResponse<String> get(URI base, @Nullable String authorization) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(FleetStatus.REPLICA_PATH));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void threeListeningNodes_eachAdvertiseTheirListener_andAwaitFleetSeesAllOfThemApplyAWrite()
      throws Exception {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep a = node(s, "a");
    Lockstep b = node(s, "b");
    Lockstep c = node(s, "c");
    for (Lockstep n : List.of(a, b, c)) {
      URI listen = ((LockstepNode) n).listenUrl();
      assertThat(listen).isNotNull();
      assertThat(listen.getPort()).isPositive();
      assertThat(n.self().url()).isEqualTo(listen.toString()); // no advertiseUrl: the listener's
    }
    long rev = put(a, "k");
    FleetStatus st = a.awaitFleet(rev, Duration.ofSeconds(10)).join();
    assertThat(st.converged(rev)).isTrue();
    assertThat(st.members()).extracting(r -> r.member().id()).containsExactly("a", "b", "c");
    assertThat(st.members())
        .allSatisfy(r -> assertThat(r.appliedRevision()).isGreaterThanOrEqualTo(rev));
    assertThat(st.minApplied()).isGreaterThanOrEqualTo(rev);
    // and every other node reads the same from its side
    FleetStatus fromC = c.fleet().join();
    assertThat(fromC.members()).extracting(MemberRevision::error).containsOnlyNulls();
    assertThat(fromC.converged(rev)).isTrue();
  }

  @Test
  void theListener_answersTheAppliedRevision_onlyWithThePeerCredential() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep a = node(s, "a");
    long rev = put(a, "k");
    URI base = ((LockstepNode) a).listenUrl();
    HttpResponse<String> ok = get(base, "Bearer " + SECRET);
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.headers().firstValue("Content-Type")).hasValue("application/json");
    ReplicaWire.Answer answer = ReplicaWire.parse(ok.body());
    assertThat(answer.member()).isEqualTo("a");
    assertThat(answer.appliedRevision())
        .isEqualTo(a.map().replica().appliedRevision())
        .isGreaterThanOrEqualTo(rev);
    assertThat(answer.headRevision()).isGreaterThanOrEqualTo(answer.appliedRevision());
    assertThat(get(base, null).statusCode()).isEqualTo(401);
    assertThat(get(base, "Bearer wrong-secret-0123456789").statusCode()).isEqualTo(401);
    assertThat(get(base, SECRET).statusCode()).isEqualTo(401);
    HttpResponse<String> post =
        http.send(
            HttpRequest.newBuilder(base.resolve(FleetStatus.REPLICA_PATH))
                .header("Authorization", "Bearer " + SECRET)
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(
            http.send(
                    HttpRequest.newBuilder(base.resolve(FleetStatus.REPLICA_PATH + "x"))
                        .header("Authorization", "Bearer " + SECRET)
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .statusCode())
        .isEqualTo(404);
  }

  @Test
  void aMemberWithTheWrongSecret_isReportedUnreachable_notTrusted() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep a = node(s, "a");
    Lockstep other =
        nodes.node(
            s, x -> x.instanceId("z").listen("127.0.0.1", 0).peerSecret("another-secret-012345"));
    FleetStatus st = a.fleet().join();
    MemberRevision z = st.members().get(1);
    assertThat(z.member().id()).isEqualTo("z");
    assertThat(z.reachable()).isFalse();
    assertThat(z.error()).contains("401");
    assertThat(st.converged(0)).isFalse();
    // z sends its own secret to a, which a refuses too; z answers for itself
    FleetStatus fromZ = other.fleet().join();
    assertThat(fromZ.members().get(0).error()).contains("401");
    assertThat(fromZ.members().get(1).reachable()).isTrue();
  }

  @Test
  void aClosedListener_anEmptyUrl_andAnotherInstanceAtTheUrl_areUnreachable_withTheReason()
      throws Exception {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep a = node(s, "a");
    Lockstep b = node(s, "b");
    int deadPort;
    try (ServerSocket free = new ServerSocket(0)) {
      deadPort = free.getLocalPort();
    }
    // Records as a source keeps them for instances that died without leaving, or misconfigured.
    Backend raw = s.backend();
    nodes.closeLater(raw::close);
    raw.membership()
        .register(new Member("dead", "http://127.0.0.1:" + deadPort, Instant.now()))
        .join();
    raw.membership().register(new Member("silent", "", Instant.now())).join();
    raw.membership()
        .register(new Member("imposter", ((LockstepNode) b).listenUrl().toString(), Instant.now()))
        .join();
    FleetStatus st = a.fleet().join();
    assertThat(st.members())
        .extracting(r -> r.member().id())
        .containsExactly("a", "b", "dead", "imposter", "silent");
    assertThat(st.members().get(0).reachable()).isTrue();
    assertThat(st.members().get(1).reachable()).isTrue();
    assertThat(st.members().get(2).error()).isEqualTo("connection refused");
    assertThat(st.members().get(3).error()).contains("answered as instance 'b'");
    assertThat(st.members().get(4).error()).isEqualTo("no advertised URL");
    assertThat(st.converged(0)).isFalse();
    assertThat(st.unreachable()).hasSize(3);
    // once the source forgets them (their lease ran out), the fleet converges
    s.dropMember("dead");
    s.dropMember("silent");
    s.dropMember("imposter");
    long rev = put(b, "k");
    assertThat(a.awaitFleet(rev, Duration.ofSeconds(10)).join().converged(rev)).isTrue();
  }

  @Test
  void aMemberHeldBehind_makesAwaitFleetTimeOut_withTheLastStatusNamingIt_untilItCatchesUp()
      throws Exception {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep a = node(s, "a");
    Steered held = new Steered(s.backend());
    Lockstep slow =
        nodes.node(
            s, x -> x.backend(held).instanceId("slow").listen("127.0.0.1", 0).peerSecret(SECRET));
    nodes.closeLater(held::release); // runs before the nodes close: frees the feed thread
    long before = put(a, "k0");
    a.awaitFleet(before, Duration.ofSeconds(10)).join();
    held.hold();
    long rev = put(a, "k1");
    long t0 = System.nanoTime();
    CompletableFuture<FleetStatus> wait = a.awaitFleet(rev, Duration.ofMillis(400));
    assertThatThrownBy(wait::join)
        .isInstanceOf(CompletionException.class)
        .cause()
        .isInstanceOf(FleetNotConvergedException.class)
        .hasCauseInstanceOf(java.util.concurrent.TimeoutException.class)
        .hasMessageContaining("slow@" + before)
        .satisfies(
            e -> {
              FleetNotConvergedException f = (FleetNotConvergedException) e;
              assertThat(f.revision()).isEqualTo(rev);
              assertThat(f.lastStatus().behind(rev))
                  .extracting(r -> r.member().id())
                  .containsExactly("slow");
              assertThat(f.lastStatus().unreachable()).isEmpty();
              assertThat(f.lastStatus().minApplied()).isEqualTo(before);
            });
    long waitedMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(waitedMs).as("gave up at its timeout").isBetween(350L, 5_000L);
    // a wait that outlives the hold completes as soon as the member catches up
    CompletableFuture<FleetStatus> longer = a.awaitFleet(rev, Duration.ofSeconds(10));
    assertThat(longer).isNotDone();
    held.release();
    FleetStatus st = longer.get(10, TimeUnit.SECONDS);
    assertThat(st.converged(rev)).isTrue();
    assertThat(st.minApplied()).isGreaterThanOrEqualTo(rev);
  }

  @Test
  void aRevisionNoOneHas_timesOut_andARevisionAllHave_completesAtOnce() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep a = node(s, "a");
    node(s, "b");
    long rev = put(a, "k");
    assertThatThrownBy(() -> a.awaitFleet(rev + 1_000, Duration.ofMillis(200)).join())
        .cause()
        .isInstanceOf(FleetNotConvergedException.class)
        .satisfies(
            e ->
                assertThat(((FleetNotConvergedException) e).lastStatus().behind(rev + 1_000))
                    .hasSize(2));
    assertThat(a.awaitFleet(rev, Duration.ofSeconds(10)).join().minApplied())
        .isGreaterThanOrEqualTo(rev);
    assertThatThrownBy(() -> a.awaitFleet(rev, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aMemberThatNeverAnswers_isGivenUpOnAtTheTimeout_notAtTheOperationTimeout() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep a = nodes.node(s, x -> x.instanceId("a").operationTimeout(Duration.ofSeconds(20)));
    try (ServerSocket stalled =
        new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      // connections complete in the backlog and are never answered
      Backend raw = s.backend();
      nodes.closeLater(raw::close);
      raw.membership()
          .register(new Member("hung", "http://127.0.0.1:" + stalled.getLocalPort(), Instant.now()))
          .join();
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> a.awaitFleet(0, Duration.ofMillis(300)).join())
          .cause()
          .isInstanceOf(FleetNotConvergedException.class)
          .satisfies(
              e -> {
                FleetStatus last = ((FleetNotConvergedException) e).lastStatus();
                assertThat(last.unreachable())
                    .extracting(r -> r.member().id())
                    .containsExactly("hung");
                assertThat(last.unreachable().get(0).error()).startsWith("no answer within");
                assertThat(last.members().get(0).appliedRevision()).isGreaterThanOrEqualTo(0);
              });
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertThat(ms).as("gave up after %d ms", ms).isBetween(250L, 5_000L);
    }
  }

  @Test
  void closingTheNode_failsAWaitInProgress_andCancellingAWaitStopsIt() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep a = node(s, "a");
    node(s, "b");
    long rev = put(a, "k");
    CompletableFuture<FleetStatus> cancelled = a.awaitFleet(rev + 1_000, Duration.ofSeconds(30));
    assertThat(cancelled.cancel(false)).isTrue();
    CompletableFuture<FleetStatus> waiting = a.awaitFleet(rev + 1_000, Duration.ofSeconds(30));
    // it keeps polling, undone, for a while
    await()
        .during(Duration.ofMillis(100))
        .atMost(Duration.ofSeconds(5))
        .until(() -> !waiting.isDone());
    a.close();
    assertThatThrownBy(() -> waiting.get(10, TimeUnit.SECONDS))
        .hasCauseInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed while awaiting the fleet");
  }

  @Test
  void aNodeWithoutAListener_stillAnswersForItself_andIsUnreachableToOthersWithoutAUrl() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep plain = nodes.node(s, x -> x.instanceId("plain"));
    Lockstep a = node(s, "a");
    long rev = put(a, "k");
    await().until(() -> plain.map().replica().appliedRevision() >= rev);
    FleetStatus fromPlain = plain.fleet().join();
    assertThat(fromPlain.members().get(1).member().id()).isEqualTo("plain");
    assertThat(fromPlain.members().get(1).appliedRevision()).isGreaterThanOrEqualTo(rev);
    assertThat(fromPlain.members().get(0).error()).contains("401"); // a wants the secret
    assertThat(a.fleet().join().members().get(1).error()).isEqualTo("no advertised URL");
  }

  @Test
  void theMemberListFailing_failsFleet_withBackendUnavailable() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Steered steered = new Steered(s.backend());
    Lockstep a = nodes.node(s, x -> x.backend(steered).instanceId("a"));
    assertThat(a.fleet().join().members()).hasSize(1);
    steered.failMembers = true;
    assertThatThrownBy(() -> a.fleet().join())
        .cause()
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining("members down (injected)");
    // awaitFleet keeps trying, and fails with it when the list was never read
    assertThatThrownBy(() -> a.awaitFleet(0, Duration.ofMillis(200)).join())
        .cause()
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining("members down (injected)");
    // a list that comes back within the timeout is enough
    CompletableFuture<FleetStatus> wait = a.awaitFleet(0, Duration.ofSeconds(10));
    steered.failMembers = false;
    assertThat(wait.join().converged(0)).isTrue();
  }

  @Test
  void anExplicitAdvertiseUrl_wins_andClosingTheNodeClosesItsListener() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep a =
        nodes.node(
            s, x -> x.instanceId("a").listen("127.0.0.1", 0).advertiseUrl("http://proxy.test:80"));
    URI listen = ((LockstepNode) a).listenUrl();
    assertThat(a.self().url()).isEqualTo("http://proxy.test:80");
    assertThat(get(listen, null).statusCode()).isEqualTo(200); // no secret set: open
    a.close();
    assertThatThrownBy(() -> get(listen, null)).isInstanceOf(java.io.IOException.class);
  }

  @Test
  void aGroupWithoutAListenerOfItsOwn_isServedOnTheNodesListener_untilItCloses() throws Exception {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    Lockstep a = node(s, "a");
    Lockstep b = node(s, "b");
    java.util.Map<String, java.util.concurrent.atomic.AtomicInteger> loads =
        new java.util.concurrent.ConcurrentHashMap<>();
    List<io.lockstep.LoadingGroup> groups = new java.util.ArrayList<>();
    for (Lockstep n : List.of(a, b)) {
      io.lockstep.LoadingGroup g =
          n.group(
              "users",
              key -> {
                loads
                    .computeIfAbsent(key, k -> new java.util.concurrent.atomic.AtomicInteger())
                    .incrementAndGet();
                return io.lockstep.Loaded.of(("v-" + key).getBytes(UTF_8));
              },
              io.lockstep.GroupOptions.builder()
                  .peerSecret(SECRET)
                  .membershipPollInterval(Duration.ofMillis(50))
                  .build());
      groups.add(g);
      assertThat(g.listenUrl()).isNull(); // no listener of its own
    }
    await().until(() -> groups.stream().allMatch(g -> g.members().size() == 2));
    for (int k = 0; k < 30; k++) {
      for (io.lockstep.LoadingGroup g : groups) {
        assertThat(new String(g.getBlocking("k" + k), UTF_8)).isEqualTo("v-k" + k);
      }
    }
    assertThat(loads).hasSize(30);
    assertThat(loads.values()).allSatisfy(c -> assertThat(c).hasValue(1));
    assertThat(groups.get(0).stats().peerLoads() + groups.get(1).stats().peerLoads()).isPositive();
    assertThat(groups.get(0).stats().peerErrors() + groups.get(1).stats().peerErrors()).isZero();
    // closed, the group is no longer served there; the fleet route still is; a new one can open
    URI base = ((LockstepNode) a).listenUrl();
    HttpRequest peerGet =
        HttpRequest.newBuilder(base.resolve("/_lockstep/groups/users/k1"))
            .header("Authorization", "Bearer " + SECRET)
            .build();
    assertThat(http.send(peerGet, HttpResponse.BodyHandlers.ofString()).statusCode())
        .isEqualTo(200);
    groups.get(0).close();
    assertThat(http.send(peerGet, HttpResponse.BodyHandlers.ofString()).statusCode())
        .isEqualTo(404);
    assertThat(get(base, "Bearer " + SECRET).statusCode()).isEqualTo(200);
    a.group("users", key -> io.lockstep.Loaded.of(new byte[0]), io.lockstep.GroupOptions.defaults())
        .close();
  }

  @Test
  void aNodeThatCannotOpenItsBackend_releasesTheListenersPort() throws Exception {
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    int bound = port;
    assertThatThrownBy(
            () -> Lockstep.builder().backend("nosuch://x").listen("127.0.0.1", bound).build())
        .isInstanceOf(IllegalArgumentException.class);
    try (ServerSocket again = new ServerSocket(port)) {
      assertThat(again.getLocalPort()).isEqualTo(port);
    }
    // and a port that is taken fails the build, naming it
    try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
      assertThatThrownBy(
              () ->
                  Lockstep.builder()
                      .backend(s.backend())
                      .listen("127.0.0.1", taken.getLocalPort())
                      .build())
          .isInstanceOf(java.io.UncheckedIOException.class)
          .hasMessageContaining("127.0.0.1:" + taken.getLocalPort());
    }
  }

  @Test
  void aListenerOnTheWildcardAddress_needsAnAdvertisedUrl() {
    InMemorySource s = nodes.source(RevisionModel.CONTIGUOUS);
    assertThatThrownBy(() -> Lockstep.builder().backend(s.backend()).listen("0.0.0.0", 0).config())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("advertiseUrl:");
    assertThatThrownBy(() -> Lockstep.builder().backend(s.backend()).listen("::", 0).config())
        .hasMessageStartingWith("advertiseUrl:");
    assertThatThrownBy(
            () -> Lockstep.builder().backend(s.backend()).listen("127.0.0.1", 70000).config())
        .hasMessageStartingWith("listenPort:");
    assertThatThrownBy(
            () -> Lockstep.builder().backend(s.backend()).peerSecret("has space").config())
        .hasMessageStartingWith("peerSecret:");
    assertThat(
            Lockstep.builder()
                .backend(s.backend())
                .listen("0.0.0.0", 0)
                .advertiseUrl("http://10.0.0.1:8080")
                .peerSecret(SECRET)
                .config()
                .toString())
        .contains("peerSecret=***", "listenPort=0")
        .doesNotContain(SECRET);
  }

  /**
   * A view of a source whose feeds can be held (while held, a delivery waits on the feed's thread,
   * so the replica's applied revision stays where it was; released, they go on) and whose member
   * list can fail.
   */
  private static final class Steered extends ForwardingBackend {
    private volatile CountDownLatch gate = new CountDownLatch(0);
    volatile boolean failMembers;

    Steered(Backend delegate) {
      super(delegate);
    }

    void hold() {
      gate = new CountDownLatch(1);
    }

    void release() {
      gate.countDown();
    }

    private void pass() {
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public Feed watch(long fromRevision, FeedListener listener) {
      return delegate()
          .watch(
              fromRevision,
              new ForwardingFeedListener(listener) {
                @Override
                public void onChanges(long revision, List<Change> changes, long headRevision) {
                  pass();
                  super.onChanges(revision, changes, headRevision);
                }

                @Override
                public void onProgress(long revision) {
                  pass();
                  super.onProgress(revision);
                }
              });
    }

    @Override
    public Membership membership() {
      Membership m = delegate().membership();
      return new Membership() {
        @Override
        public CompletableFuture<Registration> register(Member self) {
          return m.register(self);
        }

        @Override
        public CompletableFuture<List<Member>> members() {
          return failMembers
              ? CompletableFuture.failedFuture(
                  new BackendUnavailableException("members down (injected)", null))
              : m.members();
        }
      };
    }
  }
}
