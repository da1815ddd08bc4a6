package io.lockstep.server;

import static io.lockstep.server.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.FleetStatus;
import io.lockstep.FleetStatus.MemberRevision;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /_lockstep/replica}: a member's applied revision, the route the members' {@code
 * Lockstep.fleet()} asks; for members only when access control is on.
 */
class ReplicaRouteTest {
  private static final String SECRET = "cluster-secret-0123456789abcdef";
  private static final String ADMIN = "admin-token-0123456789abcdef";

  private static ServerSettings withAccess() {
    return TestServer.settings(
        b ->
            b.access(
                AccessSettings.NONE
                    .withTokens(List.of(new AccessToken(Scope.ADMIN, ADMIN)))
                    .withClusterSecret(SECRET)));
  }

  @Test
  void replica_answersTheAppliedRevision_andTheHead() {
    try (TestServer ts = TestServer.start()) {
      long rev = TestServer.revisionHeader(ts.put("/config/k", "{\"v\":1}"));
      JsonNode body = json(ts.get(FleetStatus.REPLICA_PATH));
      assertThat(TestServer.fieldNames(body))
          .containsExactly("member", "appliedRevision", "headRevision");
      assertThat(body.path("member").asText()).isEqualTo(ts.server.node().self().id());
      long applied = body.path("appliedRevision").asLong();
      assertThat(applied).isGreaterThanOrEqualTo(rev);
      assertThat(applied).isLessThanOrEqualTo(ts.server.node().map().replica().appliedRevision());
      assertThat(body.path("headRevision").asLong()).isGreaterThanOrEqualTo(applied);
      assertThat(TestServer.header(ts.get(FleetStatus.REPLICA_PATH), "Cache-Control"))
          .isEqualTo("no-store");
      TestServer.assertError(
          ts.get(FleetStatus.REPLICA_PATH + "?x=1"), 400, ErrorMapper.BAD_REQUEST);
    }
  }

  @Test
  void replica_needsTheClusterSecret_whenAccessIsOn() {
    try (TestServer ts = TestServer.start(withAccess())) {
      TestServer.assertError(ts.get(FleetStatus.REPLICA_PATH), 401, "unauthorized");
      TestServer.assertError(
          ts.get(FleetStatus.REPLICA_PATH, "Authorization", "Bearer " + ADMIN), 403, "forbidden");
      JsonNode body = json(ts.get(FleetStatus.REPLICA_PATH, "Authorization", "Bearer " + SECRET));
      assertThat(body.path("member").asText()).isEqualTo(ts.server.node().self().id());
    }
  }

  /**
   * Two servers on one source, access on, each node given the cluster secret as its peer secret (as
   * {@code lockstep serve} does): each one's fleet() reaches the other through its server.
   */
  @Test
  void twoServers_seeEachOthersAppliedRevision_throughTheRoute_withTheClusterSecret() {
    ServerSettings settings = withAccess();
    try (TestServer a = TestServer.start(settings, b -> b.peerSecret(SECRET));
        TestServer b =
            TestServer.start(a.source, false, settings, n -> n.peerSecret(SECRET), true);
        TestServer noSecret = TestServer.start(a.source, false, settings, n -> {}, true)) {
      long rev =
          TestServer.revisionHeader(
              a.put("/config/k", "{\"v\":1}", "Authorization", "Bearer " + ADMIN));
      FleetStatus st = a.server.node().awaitFleet(rev, Duration.ofSeconds(10)).join();
      // the third one is reached too: the route needs the secret, not the asking node's settings
      assertThat(st.members()).hasSize(3).allSatisfy(m -> assertThat(m.reachable()).isTrue());
      assertThat(st.minApplied()).isGreaterThanOrEqualTo(rev);
      // a node without the secret is refused by every other member's route
      FleetStatus fromNoSecret = noSecret.server.node().fleet().join();
      String self = noSecret.server.node().self().id();
      for (MemberRevision m : fromNoSecret.members()) {
        if (m.member().id().equals(self)) {
          assertThat(m.reachable()).isTrue();
        } else {
          assertThat(m.error()).contains("HTTP 401");
        }
      }
      assertThat(fromNoSecret.converged(rev)).isFalse();
    }
  }
}
