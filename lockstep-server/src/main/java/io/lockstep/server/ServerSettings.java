package io.lockstep.server;

import java.time.Duration;
import java.util.Map;

/**
 * The HTTP side of one server: where it listens, how it is reached, and its request limits. The
 * node's own settings (backend, key prefix, instance id, key and value limits) live in its {@link
 * io.lockstep.LockstepConfig}. Immutable and always valid: the constructor checks every field;
 * build one with {@link #builder()} (or {@link #toBuilder()}).
 *
 * @param bindHost the address to listen on; default {@code 127.0.0.1} (loopback: this host only).
 *     Any other address (including {@code 0.0.0.0}, every interface) needs access tokens, or {@link
 *     AccessSettings#insecure()}
 * @param port the TCP port; 0 picks a free one; default 8080
 * @param advertiseUrl the base URL other instances reach this one at, registered in membership;
 *     null: derived by {@link #advertiseUrlFor(int)} (never loopback when listening on every
 *     interface)
 * @param access tokens, cluster secret and allowed host names; default {@link AccessSettings#NONE}
 * @param maxValueBytes the largest request body accepted by the value routes, refused with 413
 *     before it is read in full; give the node the same limit; default 1 MiB
 * @param maxWait the longest a {@code min_revision} read or a refresh waits; default 10 s
 * @param peerTimeout how long {@code /cluster} waits for each member's {@code /stats}; default 1 s
 * @param refreshTimeout how long {@code /api/v1/refresh} waits, once its write is applied here, for
 *     every live member to confirm that it applied it too; default 3 s
 * @param counterBatch the batching window of the counters behind {@code /count} and {@code
 *     /counters}; zero (the default) sends every increment to the backend at once
 * @param environment the environment variables the server reads its platform identity from ({@code
 *     CF_INSTANCE_INDEX}, {@code VCAP_APPLICATION}); default {@link System#getenv()}; replaceable
 *     so tests need not change the process environment; also where {@code CF_INSTANCE_INTERNAL_IP}
 *     and {@code POD_IP} are read for the advertised URL
 * @param shutdownTimeout how long a stop lets requests in flight finish once HTTP stops taking new
 *     connections, before it cuts them off; default 5 s
 * @param limits the resource bounds of the HTTP side; default {@link ServerLimits#defaults()}
 * @param tls HTTPS on the port (plain HTTP is then refused) and for calls to other members; null:
 *     plain HTTP; with it the derived advertised URL is {@code https://}
 * @param dataGroup the demo loading group behind {@code /data/<id>}; default {@link
 *     DataGroupSettings#DEFAULTS}
 * @param students whether the student service of db-cache-sync is served ({@code /students}, {@code
 *     /student/...}) over the node's map: on for a mirror of the table {@code student}, or asked
 *     for on any backend; default off
 * @param reconcileEvery how often this instance checks its replica against the source and repairs
 *     drift (anti-entropy, docs/drift.md), each run after this period plus up to a fifth of it at
 *     random; zero (the default) never, {@code POST /admin/reconcile} still does on demand
 */
public record ServerSettings(
    String bindHost,
    int port,
    String advertiseUrl,
    AccessSettings access,
    int maxValueBytes,
    Duration maxWait,
    Duration peerTimeout,
    Duration refreshTimeout,
    Duration counterBatch,
    Map<String, String> environment,
    Duration shutdownTimeout,
    ServerLimits limits,
    TlsSettings tls,
    DataGroupSettings dataGroup,
    boolean students,
    Duration reconcileEvery) {

  public ServerSettings {
    if (reconcileEvery == null || reconcileEvery.isNegative()) {
      throw new IllegalArgumentException(
          "reconcileEvery: must be zero (off) or positive, was " + reconcileEvery);
    }
    if (dataGroup == null) {
      dataGroup = DataGroupSettings.DEFAULTS;
    }
    if (bindHost == null || bindHost.isBlank()) {
      throw new IllegalArgumentException("bindHost: must be non-empty, was '" + bindHost + "'");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: must be 0..65535, was " + port);
    }
    if (advertiseUrl != null && advertiseUrl.isBlank()) {
      advertiseUrl = null;
    }
    if (advertiseUrl != null && !advertiseUrl.matches("(?i)https?://\\S+")) {
      throw new IllegalArgumentException(
          "advertiseUrl: must be an http:// or https:// URL, was '" + advertiseUrl + "'");
    }
    if (access == null) {
      throw new IllegalArgumentException("access: must not be null (give AccessSettings.NONE)");
    }
    if (!HostCheck.isLoopback(bindHost) && !access.authRequired() && !access.insecure()) {
      throw new IllegalArgumentException(
          "bindHost: "
              + bindHost
              + " is not a loopback address, and no access token is set: anyone who reaches the"
              + " port could read and change every value; give tokens, listen on 127.0.0.1, or"
              + " set access.insecure to accept that");
    }
    if (maxValueBytes < 0 || maxValueBytes > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException(
          "maxValueBytes: must be 0.." + (Integer.MAX_VALUE - 16) + ", was " + maxValueBytes);
    }
    positive("maxWait", maxWait);
    positive("peerTimeout", peerTimeout);
    positive("refreshTimeout", refreshTimeout);
    if (environment == null) {
      throw new IllegalArgumentException("environment: must not be null (give Map.of() for none)");
    }
    if (counterBatch == null || counterBatch.isNegative()) {
      throw new IllegalArgumentException(
          "counterBatch: must be zero or positive, was " + counterBatch);
    }
    environment = Map.copyOf(environment);
    positive("shutdownTimeout", shutdownTimeout);
    if (limits == null) {
      throw new IllegalArgumentException("limits: must not be null");
    }
  }

  /**
   * A builder holding the defaults: loopback (127.0.0.1), port 8080, no tokens, 1 MiB values, 10 s
   * waits, 1 s peer timeout, 3 s refresh timeout, no counter batching, the process environment.
   */
  public static Builder builder() {
    return new Builder();
  }

  /** The defaults, validated; the same as {@code builder().build()}. */
  public static ServerSettings defaults() {
    return builder().build();
  }

  /** A builder starting from these settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.bindHost = bindHost;
    b.port = port;
    b.advertiseUrl = advertiseUrl;
    b.access = access;
    b.maxValueBytes = maxValueBytes;
    b.maxWait = maxWait;
    b.peerTimeout = peerTimeout;
    b.refreshTimeout = refreshTimeout;
    b.counterBatch = counterBatch;
    b.environment = environment;
    b.shutdownTimeout = shutdownTimeout;
    b.limits = limits;
    b.tls = tls;
    b.dataGroup = dataGroup;
    b.students = students;
    b.reconcileEvery = reconcileEvery;
    return b;
  }

  /**
   * Collects settings; {@link #build()} validates them all at once (the record's constructor),
   * failing with a message that names the field. Not thread safe.
   */
  public static final class Builder {
    private String bindHost = "127.0.0.1";
    private int port = 8080;
    private String advertiseUrl;
    private AccessSettings access = AccessSettings.NONE;
    private int maxValueBytes = 1 << 20;
    private Duration maxWait = Duration.ofSeconds(10);
    private Duration peerTimeout = Duration.ofSeconds(1);
    private Duration refreshTimeout = Duration.ofSeconds(3);
    private Duration counterBatch = Duration.ZERO;
    private DataGroupSettings dataGroup = DataGroupSettings.DEFAULTS;
    private Duration reconcileEvery = Duration.ZERO;
    private Map<String, String> environment = System.getenv();
    private Duration shutdownTimeout = Duration.ofSeconds(5);
    private ServerLimits limits = ServerLimits.defaults();
    private TlsSettings tls;
    private boolean students;

    private Builder() {}

    /** The resource bounds of the HTTP side. */
    public Builder limits(ServerLimits limits) {
      this.limits = limits;
      return this;
    }

    /** The address to listen on. */
    public Builder bindHost(String bindHost) {
      this.bindHost = bindHost;
      return this;
    }

    /** The TCP port; 0 picks a free one. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** The URL other instances reach this one at; null or blank: derived from the bound address. */
    public Builder advertiseUrl(String advertiseUrl) {
      this.advertiseUrl = advertiseUrl;
      return this;
    }

    /** Tokens, cluster secret and allowed host names. */
    public Builder access(AccessSettings access) {
      this.access = access;
      return this;
    }

    /** The largest value body accepted. */
    public Builder maxValueBytes(int maxValueBytes) {
      this.maxValueBytes = maxValueBytes;
      return this;
    }

    /** The longest a {@code min_revision} read or a refresh waits. */
    public Builder maxWait(Duration maxWait) {
      this.maxWait = maxWait;
      return this;
    }

    /** How long {@code /cluster} waits for each member. */
    public Builder peerTimeout(Duration peerTimeout) {
      this.peerTimeout = peerTimeout;
      return this;
    }

    /** How long {@code /api/v1/refresh} waits for every member to confirm. */
    public Builder refreshTimeout(Duration refreshTimeout) {
      this.refreshTimeout = refreshTimeout;
      return this;
    }

    /** The batching window of the counters; zero: none. */
    public Builder counterBatch(Duration counterBatch) {
      this.counterBatch = counterBatch;
      return this;
    }

    /** The demo loading group behind {@code /data/<id>}: its loader's delay and entries' TTL. */
    /** See {@link ServerSettings#reconcileEvery()}; zero: off. */
    public Builder reconcileEvery(Duration reconcileEvery) {
      this.reconcileEvery = reconcileEvery;
      return this;
    }

    public Builder dataGroup(DataGroupSettings dataGroup) {
      this.dataGroup = dataGroup;
      return this;
    }

    /** The environment the platform identity is read from. */
    public Builder environment(Map<String, String> environment) {
      this.environment = environment;
      return this;
    }

    /** How long a stop lets requests in flight finish before it cuts them off. */
    public Builder shutdownTimeout(Duration shutdownTimeout) {
      this.shutdownTimeout = shutdownTimeout;
      return this;
    }

    /** HTTPS on the port and for calls to other members; null: plain HTTP. */
    public Builder tls(TlsSettings tls) {
      this.tls = tls;
      return this;
    }

    /** Whether the student routes ({@code /students}, {@code /student/...}) are served. */
    public Builder students(boolean students) {
      this.students = students;
      return this;
    }

    /** Validates and returns the settings. */
    public ServerSettings build() {
      return new ServerSettings(
          bindHost,
          port,
          advertiseUrl,
          access,
          maxValueBytes,
          maxWait,
          peerTimeout,
          refreshTimeout,
          counterBatch,
          environment,
          shutdownTimeout,
          limits,
          tls,
          dataGroup,
          students,
          reconcileEvery);
    }
  }

  /**
   * The advertised URL once the server listens on {@code boundPort}: {@link #advertiseUrl()} when
   * set; else, listening on one address, {@code http://<bindHost>:<port>}; else (every interface),
   * the first of {@code CF_INSTANCE_INTERNAL_IP} and {@code POD_IP} in {@link #environment()} that
   * is set, else this host's first non-loopback address ({@link AdvertisedAddress}), with the port.
   * Never loopback when listening on every interface: every instance would then register an address
   * that, from any other instance, leads back to itself.
   *
   * @throws IllegalStateException when listening on every interface, with nothing set and no
   *     non-loopback address on this host: give an advertised URL
   */
  public String advertiseUrlFor(int boundPort) {
    if (advertiseUrl != null) {
      return advertiseUrl.endsWith("/")
          ? advertiseUrl.substring(0, advertiseUrl.length() - 1)
          : advertiseUrl;
    }
    boolean everywhere =
        bindHost.equals("0.0.0.0") || bindHost.equals("::") || bindHost.equals("[::]");
    String host = everywhere ? AdvertisedAddress.find(environment) : bindHost;
    if (host.contains(":") && !host.startsWith("[")) {
      host = "[" + host + "]"; // an IPv6 literal
    }
    return (tls == null ? "http://" : "https://") + host + ":" + boundPort;
  }

  @Override
  public String toString() { // never print the token, nor the environment (it may hold secrets)
    return "ServerSettings[bindHost="
        + bindHost
        + ", port="
        + port
        + ", advertiseUrl="
        + advertiseUrl
        + ", access="
        + access
        + ", maxValueBytes="
        + maxValueBytes
        + ", maxWait="
        + maxWait
        + ", peerTimeout="
        + peerTimeout
        + ", refreshTimeout="
        + refreshTimeout
        + ", shutdownTimeout="
        + shutdownTimeout
        + ", environment="
        + environment.size()
        + " variables, limits="
        + limits
        + (tls == null ? "" : ", tls=" + tls.certificate() + (tls.mutual() ? " (mutual)" : ""))
        + (students ? ", students" : "")
        + "]";
  }

  private static void positive(String field, Duration d) {
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(field + ": must be a positive duration, was " + d);
    }
  }
}
