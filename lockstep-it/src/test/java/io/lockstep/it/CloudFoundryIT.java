package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The Cloud Foundry demo on three real server processes over one real etcd, numbered as Cloud
 * Foundry numbers an app's instances ({@code CF_INSTANCE_INDEX} 0, 1, 2, and a {@code
 * VCAP_APPLICATION} each). {@code update} changes the instance it hits and no other; {@code
 * refresh} changes all three before it answers. The tests run in order: the last ones pause and
 * kill an instance.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CloudFoundryIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String APP_ID = "4f1c2a9e-" + UUID.randomUUID().toString().substring(0, 8);
  static EtcdProcess etcd;
  static ServerCluster cluster;

  @BeforeAll
  static void startCluster() {
    etcd = new EtcdProcess();
    cluster =
        ServerCluster.builder(etcd.backendUri())
            .instances(3)
            .keyPrefix("cf-" + UUID.randomUUID().toString().substring(0, 8))
            .env(
                i ->
                    Map.of(
                        "CF_INSTANCE_INDEX",
                        Integer.toString(i),
                        "VCAP_APPLICATION",
                        "{\"application_id\": \""
                            + APP_ID
                            + "\", \"application_name\": \"refresh-demo\","
                            + " \"application_uris\": [\"refresh-demo.apps.example.com\"], \"instance_index\": "
                            + i
                            + "}"))
            .start();
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  static String body(String value) {
    return "{\"MY_CACHE\": \"" + value + "\"}";
  }

  static JsonNode call(
      ServerProcess n, String method, String route, String body, int expectedStatus)
      throws Exception {
    Http.Resp r =
        Http.raw(n.url(), method, "/api/v1/" + route, body, "Content-Type", "application/json");
    assertThat(r.status())
        .as("%s /api/v1/%s on %s: %s", method, route, n.id(), r.body())
        .isEqualTo(expectedStatus);
    return JSON.readTree(r.body());
  }

  /**
   * {@code MY_CACHE3} as {@code /current} shows it on {@code n}, or null; checks the rest of the
   * answer.
   */
  static String myCache3(ServerProcess n) throws Exception {
    JsonNode current = call(n, "GET", "current", null, 200);
    assertThat(current.get("Instance").asText())
        .isEqualTo(Integer.toString(cluster.nodes().indexOf(n)));
    JsonNode object = current.get("Cache Object");
    assertThat(object.get("MY_CACHE1").asText()).isEqualTo("OBJECT1");
    assertThat(object.get("MY_CACHE2").asText()).isEqualTo("OBJECT2");
    return object.has("MY_CACHE3") ? object.get("MY_CACHE3").asText() : null;
  }

  static List<String> myCache3Everywhere() throws Exception {
    List<String> values = new ArrayList<>();
    for (ServerProcess n : cluster.nodes()) {
      values.add(myCache3(n));
    }
    return values;
  }

  @Test
  @Order(1)
  void current_onEachInstance_showsItsIndexAndTheInitialObject_onGetAndPost() throws Exception {
    for (int i = 0; i < 3; i++) {
      for (String method : List.of("GET", "POST")) {
        JsonNode current = call(cluster.node(i), method, "current", null, 200);
        assertThat(current.toString())
            .isEqualTo(
                "{\"Instance\":\""
                    + i
                    + "\",\"Cache Object\":{\"MY_CACHE1\":\"OBJECT1\",\"MY_CACHE2\":\"OBJECT2\"}}");
      }
    }
  }

  @Test
  @Order(2)
  void update_onOneInstance_leavesTheOtherTwoUnchanged() throws Exception {
    JsonNode answer = call(cluster.node(1), "POST", "update", body("ONLY_ON_1"), 200);
    assertThat(answer.get("Instance").asText()).isEqualTo("1");
    assertThat(answer.get("Cache Object").get("MY_CACHE3").asText()).isEqualTo("ONLY_ON_1");
    assertThat(myCache3Everywhere()).containsExactly(null, "ONLY_ON_1", null);

    assertThat(call(cluster.node(2), "GET", "refresh_all", body("ONLY_ON_2"), 200).toString())
        .isEqualTo("{\"Refreshing\":\"Instance\"}");
    assertThat(myCache3Everywhere()).containsExactly(null, "ONLY_ON_1", "ONLY_ON_2");
  }

  @Test
  @Order(3)
  void refresh_changesEveryInstanceBeforeItAnswers_andReportsThree() throws Exception {
    JsonNode answer = call(cluster.node(0), "POST", "refresh", body("EVERYWHERE"), 200);
    assertThat(answer.get("Refreshing").asText()).isEqualTo("Done");
    assertThat(answer.get("Instances_Refreshed").asInt()).isEqualTo(3);
    assertThat(answer.get("Revision").asLong()).isPositive();
    // No waiting: every instance confirmed it applied the write before the answer was sent, and
    // the refresh supersedes the earlier local updates on 1 and 2.
    assertThat(myCache3Everywhere()).containsExactly("EVERYWHERE", "EVERYWHERE", "EVERYWHERE");

    // A later update wins on its own instance, until the next refresh, through any instance.
    call(cluster.node(0), "POST", "update", body("LATER_ON_0"), 200);
    assertThat(myCache3Everywhere()).containsExactly("LATER_ON_0", "EVERYWHERE", "EVERYWHERE");
    answer = call(cluster.node(2), "GET", "refresh", body("AGAIN"), 200);
    assertThat(answer.get("Instances_Refreshed").asInt()).isEqualTo(3);
    assertThat(myCache3Everywhere()).containsExactly("AGAIN", "AGAIN", "AGAIN");
  }

  @Test
  @Order(4)
  void badBody_is400AndChangesNothing() throws Exception {
    List<String> before = myCache3Everywhere();
    for (String bad : new String[] {null, "{\"MY_CACHE\": 5}", "MY_CACHE=x"}) {
      JsonNode error = call(cluster.node(0), "POST", "refresh", bad, 400);
      assertThat(error.get("error").asText()).isEqualTo("bad_request");
      call(cluster.node(1), "POST", "update", bad, 400);
    }
    assertThat(myCache3Everywhere()).isEqualTo(before);
  }

  @Test
  @Order(5)
  void cluster_showsTheApplicationFromVcapApplication() throws Exception {
    for (int i = 0; i < 3; i++) {
      Http.Resp r = Http.raw(cluster.node(i).url(), "GET", "/cluster", null);
      assertThat(r.status()).isEqualTo(200);
      JsonNode app = JSON.readTree(r.body()).get("application");
      assertThat(app.get("application_id").asText()).isEqualTo(APP_ID);
      assertThat(app.get("application_name").asText()).isEqualTo("refresh-demo");
      assertThat(app.get("application_uris").toString())
          .isEqualTo("[\"refresh-demo.apps.example.com\"]");
      assertThat(app.get("instance_index").asInt()).isEqualTo(i);
    }
  }

  /**
   * A frozen instance (SIGSTOP) is still a member but answers nothing: refresh waits for it no
   * longer than the refresh timeout (3 s) plus the peer timeout (1 s), names it, and the write
   * still reaches it once it runs again.
   */
  @Test
  @Order(6)
  void refresh_withAFrozenInstance_isBounded_namesIt_andTheInstanceCatchesUpLater()
      throws Exception {
    ServerProcess frozen = cluster.node(1);
    frozen.pause();
    try {
      long t0 = System.nanoTime();
      Http.Resp r =
          Http.raw(cluster.node(0).url(), "POST", "/api/v1/refresh", body("WHILE_FROZEN"));
      long tookMillis = (System.nanoTime() - t0) / 1_000_000;
      assertThat(r.status()).as(r.body()).isEqualTo(504);
      JsonNode answer = JSON.readTree(r.body());
      assertThat(answer.get("Refreshing").asText()).isEqualTo("Incomplete");
      assertThat(answer.get("Instances_Refreshed").asInt()).isEqualTo(2);
      assertThat(answer.get("Not_Refreshed").toString()).isEqualTo("[\"" + frozen.id() + "\"]");
      assertThat(tookMillis).as("bounded by the refresh timeout").isBetween(2_500L, 8_000L);
      assertThat(myCache3(cluster.node(0))).isEqualTo("WHILE_FROZEN");
      assertThat(myCache3(cluster.node(2))).isEqualTo("WHILE_FROZEN");
    } finally {
      frozen.resume();
    }
    await()
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(() -> assertThat(myCache3(frozen)).isEqualTo("WHILE_FROZEN"));
  }

  /**
   * A killed instance (SIGKILL) stays registered until its etcd lease expires (10 s by default).
   * Until then refresh names it as not refreshed, at once (its port refuses connections); after it
   * has left the membership, refresh no longer counts it and answers Done for the two that are
   * left.
   */
  @Test
  @Order(7)
  void refresh_afterAnInstanceIsKilled_namesItUntilItLeavesMembership_thenExcludesIt()
      throws Exception {
    ServerProcess victim = cluster.node(2);
    victim.kill();
    assertThat(victim.isAlive()).isFalse();

    Http.Resp r = Http.raw(cluster.node(0).url(), "POST", "/api/v1/refresh", body("AFTER_KILL"));
    assertThat(r.status()).as(r.body()).isEqualTo(504);
    JsonNode answer = JSON.readTree(r.body());
    assertThat(answer.get("Instances_Refreshed").asInt()).isEqualTo(2);
    assertThat(answer.get("Not_Refreshed").toString()).isEqualTo("[\"" + victim.id() + "\"]");
    assertThat(myCache3(cluster.node(0))).isEqualTo("AFTER_KILL");
    assertThat(myCache3(cluster.node(1))).isEqualTo("AFTER_KILL");

    // The lease expires within its TTL of the last keep-alive; allow for a slow machine.
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(250))
        .untilAsserted(
            () -> {
              JsonNode members =
                  JSON.readTree(Http.raw(cluster.node(1).url(), "GET", "/cluster", null).body())
                      .get("members");
              assertThat(members.findValuesAsText("id"))
                  .containsExactly(cluster.node(0).id(), cluster.node(1).id());
            });
    answer = call(cluster.node(1), "POST", "refresh", body("AFTER_LEAVE"), 200);
    assertThat(answer.get("Refreshing").asText()).isEqualTo("Done");
    assertThat(answer.get("Instances_Refreshed").asInt()).isEqualTo(2);
    assertThat(myCache3(cluster.node(0))).isEqualTo("AFTER_LEAVE");
    assertThat(myCache3(cluster.node(1))).isEqualTo("AFTER_LEAVE");
  }
}
