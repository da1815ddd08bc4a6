package io.lockstep.peer;

import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The settings of one peer backend, parsed from its URI; {@link PeerBackend} documents the grammar
 * and every key.
 *
 * @param discovery how members find each other
 * @param voters the Raft members' ids, in the order given: {@code host:port} for a static list, the
 *     names in {@code voters=} otherwise
 * @param initialHosts the endpoints probed by static discovery (the voters'), empty otherwise
 * @param bind this instance's JGroups endpoint; port 0 means any free port
 * @param selfVoter this instance's Raft id when it is a voter, else null
 * @param cluster the JGroups cluster name
 * @param dataDir the folder of this voter's Raft log (unused by a non-voter)
 * @param folder the shared folder of {@link Discovery#FILE}, else null
 * @param dnsQuery the DNS name of {@link Discovery#DNS}, else null
 * @param failureTimeout how long a silent member stays in the view
 * @param operationTimeout the node's bound on one operation
 * @param secret the group's shared secret ({@code secret_file}): the traffic is encrypted with it;
 *     null: plain
 */
record PeerSettings(
    Discovery discovery,
    List<String> voters,
    List<HostPort> initialHosts,
    HostPort bind,
    String selfVoter,
    String cluster,
    Path dataDir,
    Path folder,
    String dnsQuery,
    Duration failureTimeout,
    Duration operationTimeout,
    PeerSecret secret) {

  /** How members find each other. */
  enum Discovery {
    /** {@code peer:} alone: this instance is the whole group. */
    SINGLE,
    /** {@code peer://h:p,...}: the voters' endpoints, probed over TCP (JGroups TCPPING). */
    STATIC,
    /** {@code peer:file:/dir}: a folder every instance can read and write (JGroups FILE_PING). */
    FILE,
    /**
     * {@code peer:dns:name}: the A records of a DNS name, e.g. a Kubernetes headless service
     * (DNS_PING).
     */
    DNS
  }

  /** A host and a port; port 0 means any free port. */
  record HostPort(String host, int port) {
    @Override
    public String toString() {
      return host + ":" + port;
    }

    static HostPort parse(String key, String s, String raw) {
      String v = s.trim();
      int colon = v.lastIndexOf(':');
      if (colon <= 0 || colon == v.length() - 1 || v.startsWith("[")) {
        throw new IllegalArgumentException(
            "backend URI: " + key + " must be host:port, was '" + s + "' in '" + raw + "'");
      }
      int port;
      try {
        port = Integer.parseInt(v.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "backend URI: " + key + " has a bad port in '" + s + "' in '" + raw + "'");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException(
            "backend URI: "
                + key
                + " port must be in [0, 65535], was "
                + port
                + " in '"
                + raw
                + "'");
      }
      return new HostPort(v.substring(0, colon).toLowerCase(Locale.ROOT), port);
    }
  }

  static final String BIND = "bind";
  static final String VOTERS = "voters";
  static final String CLUSTER = "cluster";
  static final String DATA = "data";
  static final String FAILURE_TIMEOUT = "failure_timeout";
  static final String SECRET_FILE = "secret_file";
  static final Set<String> KNOWN =
      Set.of(BIND, VOTERS, CLUSTER, DATA, FAILURE_TIMEOUT, SECRET_FILE);
  static final String BIND_ENV = "LOCKSTEP_PEER_BIND";
  static final String DEFAULT_DATA_ROOT = "lockstep-peer-data";
  static final int DNS_DEFAULT_PORT = 7800;
  static final Duration DEFAULT_FAILURE_TIMEOUT = Duration.ofSeconds(10);
  static final int MAX_VOTERS = 9;
  private static final String NAME = "[A-Za-z0-9._:-]{1,128}";

  PeerSettings {
    voters = List.copyOf(voters);
    initialHosts = List.copyOf(initialHosts);
  }

  boolean isVoter() {
    return selfVoter != null;
  }

  /** Votes needed to commit: a majority of the voters. */
  int majority() {
    return voters.size() / 2 + 1;
  }

  static PeerSettings parse(BackendUri uri, BackendContext context) {
    return parse(uri, context, System::getenv);
  }

  static PeerSettings parse(BackendUri uri, BackendContext context, UnaryOperator<String> env) {
    if (!"peer".equals(uri.scheme())) {
      throw new IllegalArgumentException(
          "backend URI: scheme must be peer, was '" + uri.scheme() + "'");
    }
    uri.requireOnlyParams(KNOWN);
    String raw = uri.raw();
    if (!uri.path().isEmpty()) {
      throw new IllegalArgumentException(
          "backend URI: peer takes no path, was '/"
              + uri.path()
              + "' in '"
              + raw
              + "' (expected peer:, peer://host:port,..., peer:file:/folder or peer:dns:name)");
    }
    String bindText = uri.params().get(BIND);
    if (bindText == null || bindText.isBlank()) {
      bindText = env.apply(BIND_ENV);
    }
    HostPort bind =
        bindText == null || bindText.isBlank() ? null : HostPort.parse(BIND, bindText, raw);
    String cluster = uri.param(CLUSTER, context.keyPrefix());
    if (cluster.isBlank() || cluster.length() > 200) {
      throw new IllegalArgumentException(
          "backend URI: cluster must be 1 to 200 characters, was '" + cluster + "'");
    }
    Duration failureTimeout =
        uri.params().containsKey(FAILURE_TIMEOUT)
            ? BackendUri.parseDuration(FAILURE_TIMEOUT, uri.params().get(FAILURE_TIMEOUT))
            : DEFAULT_FAILURE_TIMEOUT;
    if (failureTimeout.compareTo(Duration.ofSeconds(1)) < 0
        || failureTimeout.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new IllegalArgumentException(
          "backend URI: "
              + FAILURE_TIMEOUT
              + " must be in [1s, 10m], was '"
              + uri.params().get(FAILURE_TIMEOUT)
              + "'");
    }

    List<String> hosts = uri.hosts();
    Discovery discovery;
    List<String> voters;
    List<HostPort> initial = List.of();
    Path folder = null;
    String dns = null;
    String self;
    String first = hosts.isEmpty() ? "" : hosts.get(0);
    if (first.startsWith("file:") || first.startsWith("dns:")) {
      if (hosts.size() > 1) {
        throw new IllegalArgumentException(
            "backend URI: one folder or DNS name only, was " + hosts + " in '" + raw + "'");
      }
      boolean file = first.startsWith("file:");
      discovery = file ? Discovery.FILE : Discovery.DNS;
      String target = first.substring(file ? 5 : 4);
      if (target.isBlank()) {
        throw new IllegalArgumentException(
            "backend URI: no "
                + (file ? "folder after peer:file:" : "name after peer:dns:")
                + " in '"
                + raw
                + "'");
      }
      if (file) {
        folder = Path.of(target);
        if (!folder.isAbsolute()) {
          throw new IllegalArgumentException(
              "backend URI: the discovery folder must be absolute, was '"
                  + target
                  + "' in '"
                  + raw
                  + "'");
        }
      } else {
        dns = target;
      }
      voters = names(uri.params().get(VOTERS), raw);
      self = voters.contains(context.instanceId()) ? context.instanceId() : null;
      if (bind == null) {
        bind = file ? new HostPort("127.0.0.1", 0) : new HostPort("site_local", DNS_DEFAULT_PORT);
      }
    } else {
      if (uri.params().containsKey(VOTERS)) {
        throw new IllegalArgumentException(
            "backend URI: "
                + VOTERS
                + " is only for peer:file: and peer:dns:; in '"
                + raw
                + "' the voters are the listed endpoints");
      }
      if (hosts.isEmpty()) {
        discovery = Discovery.SINGLE;
        self = context.instanceId();
        voters = List.of(self);
        if (bind == null) {
          bind = new HostPort("127.0.0.1", 0);
        }
      } else {
        discovery = Discovery.STATIC;
        Set<String> seen = new LinkedHashSet<>();
        List<HostPort> eps = new ArrayList<>();
        for (String h : hosts) {
          HostPort hp = HostPort.parse("voter endpoint", h, raw);
          if (hp.port() == 0) {
            throw new IllegalArgumentException(
                "backend URI: voter endpoint '" + h + "' needs a port in '" + raw + "'");
          }
          if (!seen.add(hp.toString())) {
            throw new IllegalArgumentException(
                "backend URI: voter endpoint '" + h + "' listed twice in '" + raw + "'");
          }
          eps.add(hp);
        }
        initial = eps;
        voters = List.copyOf(seen);
        if (bind == null) {
          boolean loopback = eps.stream().allMatch(e -> isLoopback(e.host()));
          bind = new HostPort(loopback ? "127.0.0.1" : "site_local", 0);
        }
        self = voters.contains(bind.toString()) ? bind.toString() : null;
      }
    }
    if (voters.size() > MAX_VOTERS) {
      throw new IllegalArgumentException(
          "backend URI: at most "
              + MAX_VOTERS
              + " voters (3 or 5 is the usual), was "
              + voters.size()
              + " in '"
              + raw
              + "'");
    }
    Path data;
    if (uri.params().containsKey(DATA)) {
      String d = uri.params().get(DATA);
      if (d.isBlank()) {
        throw new IllegalArgumentException(
            "backend URI: " + DATA + " must name a folder in '" + raw + "'");
      }
      data = Path.of(d);
    } else {
      String who = self != null ? self : context.instanceId();
      data = defaultDataDir(cluster, who);
    }
    return new PeerSettings(
        discovery,
        voters,
        initial,
        bind,
        self,
        cluster,
        data,
        folder,
        dns,
        failureTimeout,
        context.operationTimeout(),
        secret(uri, cluster));
  }

  private static PeerSecret secret(BackendUri uri, String cluster) {
    String file = uri.params().get(SECRET_FILE);
    if (file == null) {
      return null;
    }
    if (file.isBlank()) {
      throw new IllegalArgumentException(
          "backend URI: " + SECRET_FILE + " must name a file in '" + uri.raw() + "'");
    }
    return PeerSecret.read(Path.of(file), cluster);
  }

  /**
   * A voter's folder when {@code data} is not given: {@code lockstep-peer-data/<cluster>-<voter
   * id>} under the working directory (as etcd keeps {@code <name>.etcd} there), made absolute here,
   * so the same command in the same folder finds it again after a restart. Characters other than
   * letters, digits and {@code ._-} become {@code _}.
   */
  static Path defaultDataDir(String cluster, String voter) {
    return Path.of(DEFAULT_DATA_ROOT, safe(cluster) + "-" + safe(voter)).toAbsolutePath();
  }

  private static List<String> names(String list, String raw) {
    if (list == null || list.isBlank()) {
      throw new IllegalArgumentException(
          "backend URI: "
              + VOTERS
              + "=name,name,... is required with peer:file: and "
              + "peer:dns: (the instance ids of the Raft voters, 3 or 5 of them), in '"
              + raw
              + "'");
    }
    Set<String> seen = new LinkedHashSet<>();
    for (String n : list.split(",")) {
      String name = n.trim();
      if (!name.matches(NAME)) {
        throw new IllegalArgumentException(
            "backend URI: voter name '"
                + name
                + "' must be 1 to 128 letters, digits or ._:-, in '"
                + raw
                + "'");
      }
      if (!seen.add(name)) {
        throw new IllegalArgumentException(
            "backend URI: voter '" + name + "' listed twice in '" + raw + "'");
      }
    }
    return List.copyOf(seen);
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  private static String safe(String s) {
    return s.replaceAll("[^A-Za-z0-9._-]", "_");
  }
}
