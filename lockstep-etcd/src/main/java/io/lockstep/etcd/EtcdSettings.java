package io.lockstep.etcd;

import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The settings of one etcd backend, parsed from its URI; {@link EtcdBackend} documents every key.
 *
 * @param endpoints the client URLs, {@code http://host:port}
 * @param requestTimeout the deadline of each unary etcd request
 * @param pageSize keys per page of a listing
 * @param memberTtlSeconds the TTL of the membership lease
 * @param auth TLS and the user, see {@link EtcdAuth}
 */
record EtcdSettings(
    List<URI> endpoints,
    Duration requestTimeout,
    int pageSize,
    long memberTtlSeconds,
    Duration idempotencyTtl,
    EtcdAuth auth) {

  static final String TIMEOUT = "timeout";
  static final String PAGE_SIZE = "page_size";
  static final String MEMBER_TTL = "member_ttl";
  static final String IDEMPOTENCY_TTL = "idempotency_ttl";
  static final Set<String> KNOWN = known();

  private static Set<String> known() {
    Set<String> k =
        new java.util.HashSet<>(Set.of(TIMEOUT, PAGE_SIZE, MEMBER_TTL, IDEMPOTENCY_TTL));
    k.addAll(EtcdAuth.KNOWN);
    return Set.copyOf(k);
  }

  static final Duration DEFAULT_IDEMPOTENCY_TTL = Duration.ofHours(24);
  static final int DEFAULT_PAGE_SIZE = 1000;
  static final long DEFAULT_MEMBER_TTL_SECONDS = 10;
  static final int DEFAULT_PORT = 2379;

  EtcdSettings {
    endpoints = List.copyOf(endpoints);
  }

  static EtcdSettings parse(BackendUri uri, BackendContext context) {
    if (!"etcd".equals(uri.scheme())) {
      throw new IllegalArgumentException(
          "backend URI: scheme must be etcd, was '" + uri.scheme() + "'");
    }
    uri.requireOnlyParams(KNOWN);
    if (uri.hosts().isEmpty()) {
      throw new IllegalArgumentException(
          "backend URI: no etcd endpoint in '"
              + uri.raw()
              + "' (expected etcd://host:port[,host:port...])");
    }
    if (!uri.path().isEmpty()) {
      throw new IllegalArgumentException(
          "backend URI: etcd takes no path, was '/"
              + uri.path()
              + "' in '"
              + uri.raw()
              + "' (the namespace is the node's keyPrefix)");
    }
    List<String> hosts = new ArrayList<>(uri.hosts());
    String userInfo = null;
    int at = hosts.get(0).lastIndexOf('@');
    if (at >= 0) {
      userInfo = hosts.get(0).substring(0, at);
      hosts.set(0, hosts.get(0).substring(at + 1));
    }
    EtcdAuth auth = EtcdAuth.parse(uri, userInfo);
    List<URI> endpoints = new ArrayList<>();
    for (String host : hosts) {
      endpoints.add(endpoint(host, uri.raw(), auth.tls()));
    }
    Duration timeout = uri.durationParam(TIMEOUT, context.operationTimeout());
    int pageSize = (int) uri.longParam(PAGE_SIZE, DEFAULT_PAGE_SIZE, 1, 100_000);
    Duration ttl = uri.durationParam(MEMBER_TTL, Duration.ofSeconds(DEFAULT_MEMBER_TTL_SECONDS));
    if (ttl.toMillis() % 1000 != 0 || ttl.getSeconds() < 2 || ttl.getSeconds() > 3600) {
      throw new IllegalArgumentException(
          "backend URI: "
              + MEMBER_TTL
              + " must be whole seconds from 2s to 3600s"
              + " (etcd leases count in seconds), was '"
              + uri.params().get(MEMBER_TTL)
              + "'");
    }
    Duration idem = uri.durationParam(IDEMPOTENCY_TTL, DEFAULT_IDEMPOTENCY_TTL);
    if (idem.toMillis() < 2000) {
      throw new IllegalArgumentException(
          "backend URI: "
              + IDEMPOTENCY_TTL
              + " must be at least 2s (an etcd lease counts seconds), was '"
              + uri.params().get(IDEMPOTENCY_TTL)
              + "'");
    }
    return new EtcdSettings(endpoints, timeout, pageSize, ttl.getSeconds(), idem, auth);
  }

  private static URI endpoint(String host, String raw, boolean tls) {
    String h = host.contains("://") ? host : "http://" + host;
    URI u;
    try {
      u = URI.create(h);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "backend URI: bad endpoint '" + host + "' in '" + raw + "'", e);
    }
    if (!"http".equals(u.getScheme())) {
      throw new IllegalArgumentException(
          "backend URI: endpoint '"
              + host
              + "' in '"
              + raw
              + "': give host:port (TLS is chosen with tls=true or ca_file)");
    }
    if (u.getHost() == null || (u.getPath() != null && !u.getPath().isEmpty())) {
      throw new IllegalArgumentException(
          "backend URI: bad endpoint '" + host + "' in '" + raw + "' (expected host:port)");
    }
    return URI.create(
        (tls ? "https://" : "http://")
            + u.getHost()
            + ":"
            + (u.getPort() == -1 ? DEFAULT_PORT : u.getPort()));
  }
}
