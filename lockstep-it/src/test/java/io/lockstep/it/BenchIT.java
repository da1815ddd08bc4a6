package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lockstep.bench.BenchConfig;
import io.lockstep.bench.BenchResult;
import io.lockstep.bench.LoadRun;
import io.lockstep.bench.Report;
import io.lockstep.bench.RequestStats;
import io.lockstep.process.EtcdProcess;
import io.lockstep.process.ServerCluster;
import io.lockstep.process.ServerProcess;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * {@code lockstep bench} for 10 s against 3 real instances on real etcd: the table's totals equal
 * the request counts the servers kept, nothing failed (the strict scenario: values change every
 * cycle and reads after deletes must be 404), and the history checks hold on a healthy cluster.
 */
class BenchIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void bench_tenSecondsOnThreeInstances_tableTotalsMatchServerCounts_andHistoryHolds()
      throws Exception {
    try (EtcdProcess etcd = new EtcdProcess();
        ServerCluster cluster =
            ServerCluster.builder(etcd.backendUri()).instances(3).keyPrefix("bench").start()) {
      List<URI> targets = cluster.nodes().stream().map(n -> URI.create(n.url())).toList();
      BenchConfig cfg =
          new BenchConfig(
              targets,
              12,
              12,
              Duration.ofSeconds(10),
              42,
              BenchConfig.Scenario.STRICT,
              Duration.ZERO,
              Duration.ofMillis(100),
              true,
              null,
              null);
      BenchResult r = LoadRun.run(cfg, null);
      String table = Report.table(r);

      Map<String, Long> bench = new TreeMap<>();
      for (RequestStats.Row row : r.stats().rows()) {
        bench.merge(row.type(), row.requests(), Long::sum);
      }
      Map<String, Long> servers = new TreeMap<>();
      for (ServerProcess n : cluster.nodes()) {
        JsonNode counts = JSON.readTree(Http.raw(n.url(), "GET", "/stats/requests", null).body());
        for (String method : List.of("GET", "PUT", "DELETE")) {
          servers.merge(
              method, counts.path(method + " /config/<key>").path("total").asLong(), Long::sum);
        }
      }
      assertThat(r.stats().totalFailures()).as(table).isZero();
      assertThat(bench.get("PUT")).as(table).isGreaterThan(50);
      assertThat(servers).as("server counts vs the table\n" + table).isEqualTo(bench);
      assertThat(r.violations()).as("history violations").isEmpty();
      assertThat(r.readsChecked()).isGreaterThan(100);
    }
  }
}
