package io.lockstep.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;
import javax.net.ssl.SSLContext;

/**
 * N real Lockstep server processes on free loopback ports, sharing one backend and key prefix. Used
 * by the cluster tests and by {@code lockstep demo}. {@link #close()} kills every process and
 * deletes the log folder (which also holds the nodes' Vert.x file cache); a shutdown hook does the
 * same if the JVM exits first, and each child exits on its own when this JVM dies.
 *
 * <pre>{@code
 * try (ServerCluster c = ServerCluster.builder("etcd://127.0.0.1:2379").instances(3).start()) {
 *   String url = c.node(0).url();
 * }
 * }</pre>
 */
public final class ServerCluster implements AutoCloseable {
  private final List<ServerProcess> nodes;
  private final Path dir;
  private final boolean keepLogs;
  private final Thread hook;

  private ServerCluster(List<ServerProcess> nodes, Path dir, boolean keepLogs) {
    this.nodes = List.copyOf(nodes);
    this.dir = dir;
    this.keepLogs = keepLogs;
    this.hook = new Thread(this::destroy, "lockstep-cluster-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  public static Builder builder(String backendUri) {
    return new Builder(backendUri);
  }

  public ServerProcess node(int index) {
    return nodes.get(index);
  }

  public List<ServerProcess> nodes() {
    return nodes;
  }

  public int size() {
    return nodes.size();
  }

  /** The folder holding each node's log. */
  public Path logDir() {
    return dir;
  }

  /** The log tails of every node, for failure messages. */
  public String logTails() {
    StringBuilder sb = new StringBuilder();
    for (ServerProcess p : nodes) {
      sb.append(p.logTail()).append('\n');
    }
    return sb.toString();
  }

  @Override
  public void close() {
    destroy();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // already shutting down
    }
  }

  private void destroy() {
    nodes.parallelStream().forEach(ServerProcess::close);
    if (!keepLogs) {
      TempDirs.deleteTree(dir);
    }
  }

  /**
   * Settings of a cluster; defaults: 3 instances, key prefix {@code lockstep}, ids {@code
   * node-1..N}.
   */
  public static final class Builder {
    private final String backendUri;
    private int instances = 3;
    private String keyPrefix = "lockstep";
    private String idPrefix = "node-";
    private final List<String> extraArgs = new ArrayList<>();
    private final List<String> javaOptions =
        new ArrayList<>(
            List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k"));
    private Duration readyTimeout = Duration.ofSeconds(60);
    private boolean keepLogs;
    private IntFunction<Map<String, String>> env = index -> Map.of();
    private IntFunction<String> backendFor;
    private Hosts lab;
    private int startNow = -1;
    private boolean bindEverywhere;
    private SSLContext tls;
    private List<Integer> httpPorts;
    private IntFunction<List<Path>> classpathFor = index -> List.of();

    private Builder(String backendUri) {
      this.backendUri = backendUri;
    }

    public Builder instances(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("instances: must be >= 1, was " + n);
      }
      this.instances = n;
      return this;
    }

    public Builder keyPrefix(String prefix) {
      this.keyPrefix = prefix;
      return this;
    }

    public Builder idPrefix(String prefix) {
      this.idPrefix = prefix;
      return this;
    }

    /**
     * The nodes' HTTP ports, one per instance, chosen by the caller (e.g. from {@link FreePorts})
     * so that it can name every node's URL before the cluster starts, as a static peer list does.
     * Default: a free port per node, chosen at start.
     */
    public Builder httpPorts(List<Integer> ports) {
      this.httpPorts = List.copyOf(ports);
      return this;
    }

    /** Extra {@code serve} arguments for every node, e.g. {@code --token-file /path}. */
    public Builder args(String... args) {
      extraArgs.addAll(List.of(args));
      return this;
    }

    /**
     * Environment variables for each node, by its index in the cluster (0 to N-1, the order of
     * {@link ServerCluster#nodes()}), added to what the node inherits from this JVM; e.g. {@code
     * env(i -> Map.of("CF_INSTANCE_INDEX", Integer.toString(i)))} numbers the nodes as Cloud
     * Foundry numbers the instances of an app (node ids stay {@code <idPrefix>1..N}: the id flag
     * wins over that variable). Default: nothing added.
     */
    /** A backend URI per node (0-based index), instead of the one given to {@link #builder}. */
    public Builder backend(IntFunction<String> perNode) {
      this.backendFor = java.util.Objects.requireNonNull(perNode, "perNode");
      return this;
    }

    /**
     * Runs node i (0-based) on host i of {@code hosts} (for example inside its network namespace of
     * the testkit's NetLab, so partitions can be made), bound to its address.
     */
    public Builder hosts(Hosts lab) {
      this.lab = lab;
      return this;
    }

    /**
     * Starts only the first {@code n} nodes; start the others later with {@link
     * ServerProcess#start()}.
     */
    public Builder startOnly(int n) {
      this.startNow = n;
      return this;
    }

    public Builder env(IntFunction<Map<String, String>> perNode) {
      this.env = java.util.Objects.requireNonNull(perNode, "perNode");
      return this;
    }

    /**
     * The nodes serve HTTPS: {@code --tls-cert} and the other TLS flags are the caller's to pass
     * with {@link #args}; the advertised URLs and {@link ServerProcess#url()} become {@code
     * https://}, and readiness is probed with {@code probe} (trusting the nodes' CA, with a client
     * certificate when they ask for one).
     */
    public Builder tls(SSLContext probe) {
      this.tls = java.util.Objects.requireNonNull(probe, "probe");
      return this;
    }

    /**
     * Class path entries added after {@code lockstep.jar} for each node, by index (0 to N-1): a
     * test-only backend on some nodes (the testkit's drift hook). Default: none.
     */
    public Builder classpath(IntFunction<List<Path>> perNode) {
      this.classpathFor = java.util.Objects.requireNonNull(perNode, "perNode");
      return this;
    }

    /** Replaces the JVM options of every node. */
    public Builder javaOptions(String... options) {
      javaOptions.clear();
      javaOptions.addAll(List.of(options));
      return this;
    }

    public Builder readyTimeout(Duration timeout) {
      this.readyTimeout = timeout;
      return this;
    }

    /**
     * Every node listens on {@code 0.0.0.0} and is given no {@code --advertise-url}, so it derives
     * its advertised URL itself (from its environment, see {@link #env}), as on a platform. The
     * harness still reaches each node at 127.0.0.1.
     */
    public Builder bindEverywhere() {
      this.bindEverywhere = true;
      return this;
    }

    /** Keeps the log folder after close (for the demo, or to read a failure). */
    public Builder keepLogs(boolean keep) {
      this.keepLogs = keep;
      return this;
    }

    /** Starts every node at once and waits until all are ready; on failure kills them all. */
    public ServerCluster start() {
      Path dir;
      try {
        dir = Files.createTempDirectory("lockstep-cluster-");
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      // Vert.x (under jetcd, in etcd-backed servers) keeps a file cache folder in java.io.tmpdir
      // and
      // removes it only on a clean exit; nodes are killed, so keep it inside the cluster's folder.
      List<String> jvm = new ArrayList<>(javaOptions);
      jvm.add("-Dvertx.cacheDirBase=" + dir.resolve("vertx-cache"));
      List<ServerProcess> nodes = new ArrayList<>();
      if (lab != null && lab.size() < instances) {
        throw new IllegalArgumentException(
            "hosts: " + lab.size() + " hosts for " + instances + " instances");
      }
      if (httpPorts != null && httpPorts.size() != instances) {
        throw new IllegalArgumentException(
            "httpPorts: " + httpPorts.size() + " ports for " + instances + " instances");
      }
      for (int i = 1; i <= instances; i++) {
        int port = httpPorts == null ? FreePorts.one() : httpPorts.get(i - 1);
        String id = idPrefix + i;
        String host = lab == null ? "127.0.0.1" : lab.address(i - 1);
        String uri = backendFor == null ? backendUri : backendFor.apply(i - 1);
        List<String> args =
            new ArrayList<>(
                List.of(
                    "--port",
                    Integer.toString(port),
                    "--bind",
                    bindEverywhere ? "0.0.0.0" : host,
                    "--backend",
                    uri,
                    "--key-prefix",
                    keyPrefix,
                    "--instance-id",
                    id));
        if (!bindEverywhere) {
          args.addAll(
              List.of(
                  "--advertise-url", (tls == null ? "http://" : "https://") + host + ":" + port));
        }
        if ((lab != null || bindEverywhere) && !extraArgs.contains("--token-file")) {
          // Lab hosts are private addresses in network namespaces of this machine; bound to every
          // interface, the test chose to be reachable. Either needs tokens or --insecure.
          args.add("--insecure");
        }
        args.addAll(extraArgs);
        Map<String, String> vars = env.apply(i - 1);
        nodes.add(
            new ServerProcess(
                id,
                host,
                port,
                lab == null ? List.of() : lab.exec(i - 1),
                args,
                dir.resolve(id + ".log"),
                jvm,
                vars == null ? Map.of() : vars,
                tls,
                classpathFor.apply(i - 1)));
      }
      ServerCluster cluster = new ServerCluster(nodes, dir, keepLogs);
      try {
        List<ServerProcess> first =
            startNow < 0 ? nodes : nodes.subList(0, Math.min(startNow, nodes.size()));
        first.forEach(ServerProcess::start);
        CompletableFuture.allOf(
                first.stream()
                    .map(n -> CompletableFuture.runAsync(() -> n.awaitReady(readyTimeout)))
                    .toArray(CompletableFuture[]::new))
            .join();
        return cluster;
      } catch (RuntimeException e) {
        String tails = cluster.logTails();
        cluster.close();
        throw new IllegalStateException(
            "cluster did not start: " + e.getMessage() + "\n" + tails, e);
      }
    }
  }
}
