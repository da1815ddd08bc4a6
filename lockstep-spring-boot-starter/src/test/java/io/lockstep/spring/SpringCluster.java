package io.lockstep.spring;

import io.lockstep.process.FreePorts;
import io.lockstep.process.TempDirs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Application contexts of {@link TestApp} in this JVM forming one Lockstep cluster on the peer
 * backend: {@code voters} voters on free loopback ports with throwaway Raft folders, started
 * together (a voter is ready only once a majority is up); {@link #nonVoter} adds more. {@link
 * #close()} closes every context and deletes the folder.
 */
final class SpringCluster implements AutoCloseable {
  static final String SECRET = "spring-test-peer-secret-0123456789";

  final String cluster = "spring-" + System.nanoTime();
  final List<Integer> ports;
  final Path root = TempDirs.create("lockstep-spring-");
  final List<ConfigurableApplicationContext> contexts =
      Collections.synchronizedList(new ArrayList<>());

  SpringCluster(int voters) {
    this.ports = FreePorts.take(voters);
  }

  private String list() {
    return ports.stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
  }

  /** Starts the voters' contexts, in parallel; each waits for its first listing. */
  List<ConfigurableApplicationContext> start(String... extraProperties) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(ports.size());
    try {
      List<Future<ConfigurableApplicationContext>> started = new ArrayList<>();
      for (int i = 0; i < ports.size(); i++) {
        String uri =
            "peer://"
                + list()
                + "?bind=127.0.0.1:"
                + ports.get(i)
                + "&data="
                + root.resolve("voter-" + i)
                + "&failure_timeout=3s";
        String id = "n" + i;
        started.add(pool.submit(() -> context(uri, id, extraProperties)));
      }
      List<ConfigurableApplicationContext> out = new ArrayList<>();
      for (Future<ConfigurableApplicationContext> f : started) {
        out.add(f.get(90, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  /** One more context, a non-voter of the same group. */
  ConfigurableApplicationContext nonVoter(String id, String... extraProperties) {
    return context(
        "peer://" + list() + "?bind=127.0.0.1:" + FreePorts.one() + "&failure_timeout=3s",
        id,
        extraProperties);
  }

  private ConfigurableApplicationContext context(String uri, String id, String... extra) {
    List<String> props = new ArrayList<>();
    props.add("lockstep.backend=" + uri);
    props.add("lockstep.key-prefix=" + cluster);
    props.add("lockstep.instance-id=" + id);
    props.add("lockstep.startup-timeout=60s");
    props.add("lockstep.listen.port=0"); // the node's own listener, for fleet()
    props.add("lockstep.peer-secret=" + SECRET); // fleet() sends it, the listeners require it
    props.add("spring.main.banner-mode=off");
    props.add("spring.main.register-shutdown-hook=false");
    Collections.addAll(props, extra);
    ConfigurableApplicationContext ctx =
        new SpringApplicationBuilder(TestApp.class)
            .web(WebApplicationType.NONE)
            .properties(props.toArray(String[]::new))
            .run();
    contexts.add(ctx);
    return ctx;
  }

  @Override
  public void close() {
    List<ConfigurableApplicationContext> all = new ArrayList<>(contexts);
    Collections.reverse(all);
    for (ConfigurableApplicationContext c : all) {
      try {
        c.close();
      } catch (RuntimeException ignored) {
        // best effort: the rest must still close
      }
    }
    contexts.clear();
    TempDirs.deleteTree(root);
  }
}
