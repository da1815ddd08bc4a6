package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import io.lockstep.process.TempDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Honest membership on real processes over a real etcd: three instances bound to every interface
 * with no advertised URL, as on a platform where each gets its own address ({@code
 * CF_INSTANCE_INTERNAL_IP} 127.0.0.2, .3, .4; all of 127/8 reaches loopback on Linux); an instance
 * whose registered URL answers as another instance; and a node whose key prefix nests the
 * cluster's, trying to write and read the cluster's membership records.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MembershipIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String TOKEN = "it-token-" + UUID.randomUUID();
  static final String SECRET = "it-secret-" + UUID.randomUUID();
  static Path secrets;
  static String[] access; // --token-file and --cluster-secret-file
  static final String PARENT = "mb-" + UUID.randomUUID().toString().substring(0, 8);
  static final String PREFIX = PARENT + "/prod";
  static EtcdProcess etcd;
  static ServerCluster cluster;

  @BeforeAll
  static void start() throws Exception {
    secrets = TempDirs.create("lockstep-membership-it-");
    Path tokens = Files.writeString(secrets.resolve("tokens"), "admin " + TOKEN + "\n");
    Path secret = Files.writeString(secrets.resolve("cluster-secret"), SECRET + "\n");
    access =
        new String[] {
          "--token-file", tokens.toString(), "--cluster-secret-file", secret.toString()
        };
    etcd = new EtcdProcess();
    cluster =
        ServerCluster.builder(etcd.backendUri())
            .instances(3)
            .keyPrefix(PREFIX)
            .bindEverywhere()
            .args(access)
            .env(i -> Map.of("CF_INSTANCE_INTERNAL_IP", "127.0.0." + (i + 2)))
            .start();
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
    if (etcd != null) {
      etcd.close();
    }
    if (secrets != null) {
      TempDirs.deleteTree(secrets);
    }
  }

  static JsonNode members(ServerProcess n) throws Exception {
    Http.Resp r = Http.raw(n.url(), "GET", "/cluster", null, "Authorization", "Bearer " + TOKEN);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body()).get("members");
  }

  static Map<String, JsonNode> byId(JsonNode members) {
    Map<String, JsonNode> m = new TreeMap<>();
    members.forEach(v -> m.put(v.get("id").asText(), v));
    return m;
  }

  @Test
  @Order(1)
  void boundEverywhere_eachInstanceAdvertisesItsPlatformAddress_andEveryMemberIsConfirmed()
      throws Exception {
    for (ServerProcess n : cluster.nodes()) {
      Map<String, JsonNode> members =
          await().atMost(Duration.ofSeconds(15)).until(() -> byId(members(n)), m -> m.size() == 3);
      List<String> urls = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        ServerProcess member = cluster.node(i);
        JsonNode view = members.get(member.id());
        assertThat(view).as("member %s in %s", member.id(), members).isNotNull();
        assertThat(view.get("url").asText())
            .isEqualTo("http://127.0.0." + (i + 2) + ":" + member.port());
        assertThat(view.get("reachable").asBoolean()).as(view.toString()).isTrue();
        urls.add(view.get("url").asText());
      }
      assertThat(urls).doesNotHaveDuplicates().noneMatch(u -> u.contains("127.0.0.1"));
    }
    Http.Resp refreshed =
        Http.raw(
            cluster.node(0).url(),
            "POST",
            "/api/v1/refresh",
            "{\"MY_CACHE\": \"all-three\"}",
            "Content-Type",
            "application/json",
            "Authorization",
            "Bearer " + TOKEN);
    assertThat(refreshed.status()).as(refreshed.body()).isEqualTo(200);
    assertThat(JSON.readTree(refreshed.body()).get("Instances_Refreshed").asInt()).isEqualTo(3);
  }

  @Test
  @Order(3) // last: the liar's record outlives it by the member TTL
  void aMemberWhoseUrlAnswersAsAnotherInstance_isNotConfirmed_andRefreshDoesNotCountIt()
      throws Exception {
    ServerProcess target = cluster.node(1);
    // A real instance registering another instance's URL as its own.
    try (ServerCluster liar =
        ServerCluster.builder(etcd.backendUri())
            .instances(1)
            .idPrefix("liar-")
            .keyPrefix(PREFIX)
            .bindEverywhere()
            .args(access)
            .args("--advertise-url", "http://127.0.0.3:" + target.port())
            .start()) {
      String liarId = liar.node(0).id();
      Map<String, JsonNode> members =
          await()
              .atMost(Duration.ofSeconds(15))
              .until(() -> byId(members(cluster.node(0))), m -> m.containsKey(liarId));
      JsonNode view = members.get(liarId);
      assertThat(view.get("reachable").asBoolean()).as(view.toString()).isFalse();
      assertThat(view.get("error").asText())
          .contains("answered as instance '" + target.id() + "'", "not as member '" + liarId);
      assertThat(members.get(target.id()).get("reachable").asBoolean()).isTrue();

      Http.Resp r =
          Http.raw(
              cluster.node(0).url(),
              "POST",
              "/api/v1/refresh",
              "{\"MY_CACHE\": \"with-a-liar\"}",
              "Content-Type",
              "application/json",
              "Authorization",
              "Bearer " + TOKEN);
      assertThat(r.status()).as(r.body()).isEqualTo(504);
      JsonNode body = JSON.readTree(r.body());
      assertThat(body.get("Instances_Refreshed").asInt()).isEqualTo(3);
      assertThat(body.get("Not_Refreshed").toString()).isEqualTo("[\"" + liarId + "\"]");
      assertThat(body.get("message").asText()).contains("answered as instance '" + target.id());
    }
  }

  @Test
  @Order(2)
  void aNodeWhosePrefixNestsTheClusters_cannotWriteNorReadItsReservedRecords() throws Exception {
    // A counter of the cluster, kept in etcd under <PREFIX>/_counters/.
    Http.Resp inc =
        Http.raw(
            cluster.node(0).url(),
            "POST",
            "/counters/hits",
            null,
            "Authorization",
            "Bearer " + TOKEN);
    assertThat(inc.status()).as(inc.body()).isEqualTo(200);
    try (ServerCluster parent =
        ServerCluster.builder(etcd.backendUri())
            .instances(1)
            .idPrefix("parent-")
            .keyPrefix(PARENT)
            .args(access)
            .start()) {
      String url = parent.node(0).url();
      String auth = "Bearer " + TOKEN;
      for (String key : List.of("prod/_members/evil", "prod/_counters/hits", "prod/_idem/x")) {
        Http.Resp put = Http.put(url, key, "{\"url\":\"http://evil\"}", "Authorization", auth);
        assertThat(put.status()).as(key + ": " + put.body()).isEqualTo(400);
        assertThat(put.body()).contains("reserved");
        assertThat(Http.get(url, key, "use_cache=false", "Authorization", auth).status())
            .isEqualTo(400);
      }
      // An ordinary key of the cluster is a key of the parent too (prefixes nest); its records
      // are not.
      Http.Resp put = Http.put(cluster.node(0).url(), "shared", "1", "Authorization", auth);
      assertThat(put.status()).isEqualTo(200);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> Http.get(url, "prod/shared", "", "Authorization", auth).status() == 200);
      Http.Resp listing = Http.raw(url, "GET", "/config?prefix=prod/", null, "Authorization", auth);
      assertThat(listing.status()).isEqualTo(200);
      List<String> keys = JSON.readTree(listing.body()).get("keys").findValuesAsText("key");
      assertThat(keys)
          .contains("prod/shared")
          .noneMatch(k -> k.contains("_members/"))
          .noneMatch(k -> k.contains("_counters/"));
      // The cluster still has exactly its own members.
      assertThat(byId(members(cluster.node(0))).keySet())
          .containsExactlyInAnyOrder(
              cluster.node(0).id(), cluster.node(1).id(), cluster.node(2).id());
    }
  }
}
