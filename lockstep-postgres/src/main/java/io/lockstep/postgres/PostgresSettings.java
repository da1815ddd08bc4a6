package io.lockstep.postgres;

import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The settings of one PostgreSQL backend, parsed from its URI; {@link PostgresBackend} documents
 * every key.
 *
 * @param host the server's host
 * @param port the server's port
 * @param database the database
 * @param user the database user
 * @param password the password, or null for none (trust, peer or a {@code .pgpass})
 * @param schema the schema of Lockstep's own tables
 * @param table the key-value table (in {@code schema}) when not mirroring
 * @param mirror the mirrored table, as given ({@code student} or {@code app.student}), or null
 * @param timeout the bound of connecting and of one statement's answer
 * @param poolSize the connections (and threads) for operations
 * @param pollInterval how often feeds read the change log without a doorbell
 * @param logRetention how many changes the log keeps
 * @param compactInterval how often the log is compacted
 * @param memberTtl how long a membership record outlives its instance
 * @param idempotencyTtl how long a request id is remembered
 */
record PostgresSettings(
    String host,
    int port,
    String database,
    String user,
    @Nullable String password,
    String schema,
    String table,
    @Nullable String mirror,
    Duration timeout,
    int poolSize,
    Duration pollInterval,
    long logRetention,
    Duration compactInterval,
    Duration memberTtl,
    Duration idempotencyTtl) {

  static final String MIRROR = "mirror";
  static final String TABLE = "table";
  static final String SCHEMA = "schema";
  static final String TIMEOUT = "timeout";
  static final String POOL_SIZE = "pool_size";
  static final String POLL_INTERVAL = "poll_interval";
  static final String LOG_RETENTION = "log_retention";
  static final String COMPACT_INTERVAL = "compact_interval";
  static final String MEMBER_TTL = "member_ttl";
  static final String IDEMPOTENCY_TTL = "idempotency_ttl";
  static final String USER = "user";
  static final String PASSWORD = "password";
  static final String PASSWORD_FILE = "password_file";
  static final Set<String> KNOWN =
      Set.of(
          MIRROR,
          TABLE,
          SCHEMA,
          TIMEOUT,
          POOL_SIZE,
          POLL_INTERVAL,
          LOG_RETENTION,
          COMPACT_INTERVAL,
          MEMBER_TTL,
          IDEMPOTENCY_TTL,
          USER,
          PASSWORD,
          PASSWORD_FILE);
  static final int DEFAULT_PORT = 5432;
  static final String DEFAULT_SCHEMA = "lockstep";
  static final int DEFAULT_POOL_SIZE = 4;
  static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
  static final long DEFAULT_LOG_RETENTION = 10_000;
  static final Duration DEFAULT_COMPACT_INTERVAL = Duration.ofSeconds(30);
  static final Duration DEFAULT_MEMBER_TTL = Duration.ofSeconds(10);
  static final Duration DEFAULT_IDEMPOTENCY_TTL = Duration.ofHours(24);

  /** PostgreSQL's limit on identifiers, in bytes. */
  static final int MAX_IDENTIFIER_BYTES = 63;

  /** Parses and validates; fails naming the part that is wrong. */
  static PostgresSettings parse(BackendUri uri, BackendContext context) {
    uri.requireOnlyParams(KNOWN);
    if (uri.hosts().size() != 1) {
      throw new IllegalArgumentException(
          "backend URI: "
              + uri.scheme()
              + " takes exactly one host:port, was "
              + (uri.hosts().isEmpty() ? "none" : uri.hosts()));
    }
    String authority = uri.hosts().get(0);
    String userInfo = null;
    int at = authority.lastIndexOf('@');
    if (at >= 0) {
      userInfo = authority.substring(0, at);
      authority = authority.substring(at + 1);
    }
    String host = authority;
    int port = DEFAULT_PORT;
    int colon = authority.lastIndexOf(':');
    if (colon >= 0 && !authority.endsWith("]")) {
      host = authority.substring(0, colon);
      port = (int) BackendUri.parseLong("port", authority.substring(colon + 1), 1, 65535);
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException("backend URI: no host in '" + uri.raw() + "'");
    }
    String user = null;
    String password = null;
    if (userInfo != null) {
      int c = userInfo.indexOf(':');
      user = decode(c >= 0 ? userInfo.substring(0, c) : userInfo);
      password = c >= 0 ? decode(userInfo.substring(c + 1)) : null;
    }
    if (uri.params().containsKey(USER)) {
      user = uri.param(USER, "");
    }
    if (user == null || user.isEmpty()) {
      user = "postgres";
    }
    if (uri.params().containsKey(PASSWORD) && uri.params().containsKey(PASSWORD_FILE)) {
      throw new IllegalArgumentException("backend URI: give password or password_file, not both");
    }
    if (uri.params().containsKey(PASSWORD)) {
      password = uri.param(PASSWORD, "");
    }
    Path passwordFile = uri.fileParam(PASSWORD_FILE);
    if (passwordFile != null) {
      password = BackendUri.firstLineOf(PASSWORD_FILE, passwordFile);
    }
    String database = uri.path().isEmpty() ? "postgres" : decode(uri.path());
    String schema = uri.param(SCHEMA, DEFAULT_SCHEMA);
    checkIdentifier(SCHEMA, schema);
    String mirror = uri.params().get(MIRROR);
    if (mirror != null && mirror.isBlank()) {
      throw new IllegalArgumentException("backend URI: mirror must name a table, was empty");
    }
    if (mirror != null && uri.params().containsKey(TABLE)) {
      throw new IllegalArgumentException(
          "backend URI: give mirror (an existing table) or table (Lockstep's own), not both");
    }
    String table = uri.param(TABLE, context.keyPrefix());
    if (mirror == null) {
      checkIdentifier(
          uri.params().containsKey(TABLE) ? TABLE : TABLE + " (default: the key prefix)", table);
    }
    return new PostgresSettings(
        host,
        port,
        database,
        user,
        password,
        schema,
        table,
        mirror,
        uri.durationParam(TIMEOUT, context.operationTimeout()),
        (int) uri.longParam(POOL_SIZE, DEFAULT_POOL_SIZE, 1, 100),
        uri.durationParam(POLL_INTERVAL, DEFAULT_POLL_INTERVAL),
        uri.longParam(LOG_RETENTION, DEFAULT_LOG_RETENTION, 1, Long.MAX_VALUE),
        uri.durationParam(COMPACT_INTERVAL, DEFAULT_COMPACT_INTERVAL),
        atLeastOneSecond(MEMBER_TTL, uri.durationParam(MEMBER_TTL, DEFAULT_MEMBER_TTL)),
        atLeastOneSecond(
            IDEMPOTENCY_TTL, uri.durationParam(IDEMPOTENCY_TTL, DEFAULT_IDEMPOTENCY_TTL)));
  }

  /** The JDBC URL, without credentials. */
  String jdbcUrl() {
    String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    return "jdbc:postgresql://" + h + ":" + port + "/" + database;
  }

  /** {@code host:port/database} for messages. */
  String address() {
    return host + ":" + port + "/" + database;
  }

  private static Duration atLeastOneSecond(String key, Duration d) {
    if (d.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("backend URI: " + key + " must be at least 1s, was " + d);
    }
    return d;
  }

  private static void checkIdentifier(String key, String name) {
    if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > MAX_IDENTIFIER_BYTES) {
      throw new IllegalArgumentException(
          "backend URI: "
              + key
              + " must be 1 to "
              + MAX_IDENTIFIER_BYTES
              + " bytes (a PostgreSQL identifier), was '"
              + name
              + "'");
    }
    if (name.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("backend URI: " + key + " holds a NUL character");
    }
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }
}
