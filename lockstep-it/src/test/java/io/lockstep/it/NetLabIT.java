package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.testkit.NetLab;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The partition harness really cuts traffic between namespaces, and heals it. */
class NetLabIT {

  private static int curl(NetLab lab, int from, String url) throws Exception {
    List<String> cmd = new ArrayList<>(lab.exec(from));
    cmd.addAll(
        List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", url));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    p.waitFor(10, TimeUnit.SECONDS);
    return out.matches("\\d+") ? Integer.parseInt(out) : -1;
  }

  @Test
  void partition_cutsTrafficBetweenSides_andHealRestoresIt() throws Exception {
    try (NetLab lab = NetLab.create(3)) {
      List<String> cmd = new ArrayList<>(lab.exec(1));
      cmd.addAll(
          List.of(
              Path.of(System.getProperty("java.home"), "bin", "jwebserver").toString(),
              "-b",
              lab.address(1),
              "-p",
              "8000",
              "-d",
              "/tmp"));
      Process server =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      try {
        String url = "http://" + lab.address(1) + ":8000/";
        await()
            .atMost(Duration.ofSeconds(20))
            .pollInterval(Duration.ofMillis(100))
            .until(() -> curl(lab, 0, url) == 200);
        lab.partition(Set.of(0), Set.of(1, 2));
        assertThat(curl(lab, 0, url)).as("cut").isNotEqualTo(200);
        assertThat(curl(lab, 2, url)).as("same side").isEqualTo(200);
        lab.heal();
        assertThat(curl(lab, 0, url)).as("healed").isEqualTo(200);
      } finally {
        server.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }
}
