package io.lockstep.redis;

import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.time.Duration;
import java.util.Set;

/**
 * The settings of one Redis backend, parsed from its URI; {@link RedisBackend} documents every key.
 *
 * @param host the server's host
 * @param port the server's port
 * @param database the logical database ({@code SELECT}), 0 to 15 by default configuration
 * @param tls whether the connection uses TLS ({@code rediss://})
 * @param timeout the bound of every command and of connecting
 * @param streamMaxLen the approximate number of changes the stream keeps ({@code XADD MAXLEN ~})
 * @param memberTtl how long a membership record outlives its instance
 * @param idempotencyTtl how long a client's request id (an HTTP {@code Idempotency-Key}) is
 *     remembered with its answer
 * @param pageSize fields asked for per page of a listing ({@code HSCAN ... COUNT})
 * @param auth the ACL user and password ({@code AUTH}), or null for none
 * @param tlsFiles the CA bundle and client certificate of a {@code rediss} connection
 */
record RedisSettings(
    String host,
    int port,
    int database,
    boolean tls,
    Duration timeout,
    long streamMaxLen,
    Duration memberTtl,
    Duration idempotencyTtl,
    int pageSize,
    RedisAuth.Credentials auth,
    RedisAuth.TlsFiles tlsFiles) {

  static final String TIMEOUT = "timeout";
  static final String STREAM_MAX_LEN = "stream_max_len";
  static final String MEMBER_TTL = "member_ttl";
  static final String IDEMPOTENCY_TTL = "idempotency_ttl";
  static final String PAGE_SIZE = "page_size";
  static final Set<String> KNOWN =
      Set.of(
          TIMEOUT,
          STREAM_MAX_LEN,
          MEMBER_TTL,
          IDEMPOTENCY_TTL,
          PAGE_SIZE,
          RedisAuth.USER,
          RedisAuth.PASSWORD,
          RedisAuth.PASSWORD_FILE,
          RedisAuth.CA_FILE,
          RedisAuth.CERT_FILE,
          RedisAuth.KEY_FILE);
  static final Duration DEFAULT_IDEMPOTENCY_TTL = Duration.ofHours(24);
  static final int DEFAULT_PORT = 6379;
  static final long DEFAULT_STREAM_MAX_LEN = 10_000;
  static final Duration DEFAULT_MEMBER_TTL = Duration.ofSeconds(10);
  static final int DEFAULT_PAGE_SIZE = 1000;

  static RedisSettings parse(BackendUri uri, BackendContext context) {
    boolean tls =
        switch (uri.scheme()) {
          case "redis" -> false;
          case "rediss" -> true;
          default ->
              throw new IllegalArgumentException(
                  "backend URI: scheme must be redis or rediss, was '" + uri.scheme() + "'");
        };
    uri.requireOnlyParams(KNOWN);
    if (uri.hosts().size() != 1) {
      throw new IllegalArgumentException(
          "backend URI: expected exactly one host:port in '"
              + uri.raw()
              + "' (redis://host:port[/db]; Sentinel and Cluster are not supported), found "
              + uri.hosts().size());
    }
    String hostPort = uri.hosts().get(0);
    String userInfo = null;
    int at = hostPort.lastIndexOf('@');
    if (at >= 0) {
      userInfo = hostPort.substring(0, at);
      hostPort = hostPort.substring(at + 1);
    }
    RedisAuth.Credentials auth = RedisAuth.credentials(uri, userInfo);
    RedisAuth.TlsFiles tlsFiles = RedisAuth.tlsFiles(uri, tls);
    String host = hostPort;
    int port = DEFAULT_PORT;
    int colon = hostPort.lastIndexOf(':');
    if (colon >= 0 && !hostPort.endsWith("]")) {
      host = hostPort.substring(0, colon);
      port = (int) BackendUri.parseLong("port", hostPort.substring(colon + 1), 1, 65535);
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException("backend URI: no host in '" + uri.raw() + "'");
    }
    int db =
        uri.path().isEmpty()
            ? 0
            : (int) BackendUri.parseLong("database (path)", uri.path(), 0, 1_000_000);
    Duration timeout = uri.durationParam(TIMEOUT, context.operationTimeout());
    long maxLen = uri.longParam(STREAM_MAX_LEN, DEFAULT_STREAM_MAX_LEN, 1, Long.MAX_VALUE / 2);
    Duration ttl = uri.durationParam(MEMBER_TTL, DEFAULT_MEMBER_TTL);
    if (ttl.toMillis() < 1000) {
      throw new IllegalArgumentException(
          "backend URI: "
              + MEMBER_TTL
              + " must be at least 1s, was '"
              + uri.params().get(MEMBER_TTL)
              + "'");
    }
    Duration idem = uri.durationParam(IDEMPOTENCY_TTL, DEFAULT_IDEMPOTENCY_TTL);
    if (idem.toMillis() < 1000) {
      throw new IllegalArgumentException(
          "backend URI: "
              + IDEMPOTENCY_TTL
              + " must be at least 1s, was '"
              + uri.params().get(IDEMPOTENCY_TTL)
              + "'");
    }
    int pageSize = (int) uri.longParam(PAGE_SIZE, DEFAULT_PAGE_SIZE, 1, 100_000);
    return new RedisSettings(
        host, port, db, tls, timeout, maxLen, ttl, idem, pageSize, auth, tlsFiles);
  }

  /** {@code host:port/db}, for messages. */
  String address() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/" + database;
  }
}
