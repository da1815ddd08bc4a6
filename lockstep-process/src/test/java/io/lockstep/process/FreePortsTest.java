package io.lockstep.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Ports that stay free until a server binds them: distinct, bindable, outside the kernel's
 * ephemeral range.
 */
class FreePortsTest {
  @Test
  void distinctBindablePorts_belowTheEphemeralRange() throws Exception {
    List<Integer> ports = new ArrayList<>(FreePorts.take(5));
    ports.add(FreePorts.one());
    assertThat(new HashSet<>(ports)).hasSize(6);
    Path range = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    if (Files.isReadable(range)) {
      int low = Integer.parseInt(Files.readAllLines(range).get(0).trim().split("\\s+")[0]);
      assertThat(ports).allSatisfy(p -> assertThat(p).isLessThan(low));
    }
    for (int p : ports) {
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(p));
      }
    }
  }
}
