package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.it.GroupNginxIT.Answer;
import io.lockstep.process.NginxProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The owner of some ids dies (SIGKILL) behind nginx: requests for its ids keep succeeding (nginx
 * skips the dead upstream, the others load its ids themselves when its connection is refused), and
 * once membership has dropped it no request fails either.
 */
class GroupOwnerKilledIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void ownerKilled_itsIdsKeepBeingServed_beforeAndAfterMembershipSettles() throws Exception {
    Path data = Files.createTempDirectory("lockstep-group-kill-it-");
    try (ServerCluster cluster =
            PeerClusterIT.loopbackPeers(data, 3)
                .keyPrefix("group-kill-it")
                .args("--data-peer-deadline", "10s")
                .start();
        NginxProcess nginx =
            new NginxProcess(cluster.nodes().stream().map(ServerProcess::url).toList())) {
      List<ServerProcess> nodes = cluster.nodes();
      GroupNginxIT.awaitMembership(nodes);
      Map<String, Long> before = GroupNginxIT.loaderCalls(nodes);
      assertThat(GroupNginxIT.burst(nginx.url(), "id-")).allMatch(Answer::ok);
      Map<String, Long> after = GroupNginxIT.loaderCalls(nodes);
      ServerProcess owner = nodes.get(1);
      long owned = after.get(owner.id()) - before.get(owner.id());
      System.out.println("ids owned by " + owner.id() + ": " + owned);
      assertThat(owned).as("the instance to kill owns some of the ids").isPositive();

      owner.kill();
      List<ServerProcess> alive = List.of(nodes.get(0), nodes.get(2));
      // ids nobody holds yet: those the dead instance owns must be loaded by the asker
      List<Answer> during = GroupNginxIT.burst(nginx.url(), "during-");
      during.addAll(GroupNginxIT.burst(nginx.url(), "id-")); // and those it held
      assertThat(during.stream().filter(a -> !a.ok()).toList())
          .as("failed requests right after the owner's death")
          .isEmpty();
      assertThat(during).noneMatch(a -> a.instance().equals(owner.id()));
      for (ServerProcess n : alive) { // how many asks of the dead owner failed over to a load
        System.out.println(
            n.id()
                + " peerErrors after the kill: "
                + JSON.readTree(Http.raw(n.url(), "GET", "/stats", null).body())
                    .path("groups")
                    .path("data")
                    .path("peerErrors"));
      }

      long killedAt = System.nanoTime();
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () -> {
                for (ServerProcess n : alive) {
                  JsonNode members =
                      JSON.readTree(Http.raw(n.url(), "GET", "/cluster", null).body());
                  assertThat(members.path("members")).hasSize(2);
                }
              });
      System.out.println(
          "membership dropped the killed owner after "
              + Duration.ofNanos(System.nanoTime() - killedAt).toMillis()
              + " ms");
      await() // and the groups route over the two left
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                for (ServerProcess n : alive) {
                  assertThat(
                          JSON.readTree(Http.raw(n.url(), "GET", "/stats", null).body())
                              .path("groups")
                              .path("data")
                              .path("members")
                              .asInt())
                      .isEqualTo(2);
                }
              });
      for (int round = 0; round < 3; round++) {
        List<Answer> settled = GroupNginxIT.burst(nginx.url(), "id-");
        assertThat(settled.stream().filter(a -> !a.ok()).toList())
            .as("failed requests once membership settled")
            .isEmpty();
      }
      // A new id after settling: loaded once, on its new owner.
      Map<String, Long> beforeNew = GroupNginxIT.loaderCalls(alive);
      assertThat(GroupNginxIT.burst(nginx.url(), "fresh-")).allMatch(Answer::ok);
      long loads =
          GroupNginxIT.loaderCalls(alive).entrySet().stream()
              .mapToLong(e -> e.getValue() - beforeNew.get(e.getKey()))
              .sum();
      assertThat(loads).as("loader calls for 10 new ids over the two left").isEqualTo(10);
    } finally {
      TempDirs.deleteTree(data);
    }
  }
}
