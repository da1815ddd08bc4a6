package io.lockstep;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The settings of a {@link LoadingGroup}. Build with {@link #builder()}; every field has a default.
 *
 * @param mainCacheBytes bound of the main cache (keys this instance owns), in weight units: value
 *     length + key length + {@value #ENTRY_OVERHEAD} per entry. Default 64 MiB.
 * @param hotCacheBytes bound of the hot cache (copies of keys owned by others), same units; 0 turns
 *     the hot cache off. Default 8 MiB. Admission is by observed frequency: both caches are
 *     Caffeine caches bounded by weight, whose W-TinyLFU policy keeps a new key only when it is
 *     asked for more often than the entry it would evict, so one-off keys do not flush the hot
 *     ones.
 * @param defaultTtl expiry of a value whose loader gave none, or {@code null} for none
 * @param peerDeadline bound of every call to another member (fetch, removal), and of each
 *     membership poll. Default 1 s.
 * @param loadDeadline bound of one loader call; past it the load is abandoned. Default 10 s.
 * @param listenPort when {@code >= 0}, the group serves the peer protocol itself on this port (0:
 *     any free port; see {@link LoadingGroup#listenUrl()}); {@code -1} (the default): the node's
 *     own listener serves them, when it has one ({@link LockstepBuilder#listen}), else the
 *     application's own HTTP server routes the requests to {@link LoadingGroup#serve}
 * @param bindAddress the address of that listener; default {@code 127.0.0.1}
 * @param peerSecret when set, peer requests carry {@code Authorization: Bearer <secret>} and the
 *     serving side refuses requests without it (401)
 * @param staticSelfUrl with {@code staticPeerUrls}: a fixed membership (groupcache's {@code
 *     PEERS_SELF}); each member's id is its URL
 * @param staticPeerUrls every member's URL, this one's included or not (groupcache's {@code
 *     PEERS_SET}); {@code null} to follow the node's live membership
 * @param membershipPollInterval how often the group reads the node's membership. Default 250 ms.
 * @param maxKeyBytes longest key, in UTF-8 bytes. Default 1024.
 */
public record GroupOptions(
    long mainCacheBytes,
    long hotCacheBytes,
    @Nullable Duration defaultTtl,
    Duration peerDeadline,
    Duration loadDeadline,
    int listenPort,
    String bindAddress,
    @Nullable String peerSecret,
    @Nullable String staticSelfUrl,
    @Nullable List<String> staticPeerUrls,
    Duration membershipPollInterval,
    int maxKeyBytes) {

  /** Weight added to each cache entry for its bookkeeping. */
  public static final int ENTRY_OVERHEAD = 64;

  public GroupOptions {
    if (mainCacheBytes < 1) {
      throw new IllegalArgumentException("mainCacheBytes: must be >= 1, was " + mainCacheBytes);
    }
    if (hotCacheBytes < 0) {
      throw new IllegalArgumentException("hotCacheBytes: must be >= 0, was " + hotCacheBytes);
    }
    if (defaultTtl != null) {
      positive("defaultTtl", defaultTtl);
    }
    positive("peerDeadline", peerDeadline);
    positive("loadDeadline", loadDeadline);
    positive("membershipPollInterval", membershipPollInterval);
    if (listenPort < -1 || listenPort > 65535) {
      throw new IllegalArgumentException("listenPort: -1 (none) or 0..65535, was " + listenPort);
    }
    Objects.requireNonNull(bindAddress, "bindAddress");
    if (peerSecret != null && (peerSecret.isBlank() || !peerSecret.matches("[\\x21-\\x7e]+"))) {
      throw new IllegalArgumentException("peerSecret: printable ASCII without spaces");
    }
    if ((staticSelfUrl == null) != (staticPeerUrls == null)) {
      throw new IllegalArgumentException(
          "staticPeers: give both the own URL and the list, or neither");
    }
    if (staticPeerUrls != null) {
      staticPeerUrls = List.copyOf(staticPeerUrls);
    }
    if (maxKeyBytes < 1) {
      throw new IllegalArgumentException("maxKeyBytes: must be >= 1, was " + maxKeyBytes);
    }
  }

  private static void positive(String name, @Nullable Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + ": must be positive, was " + d);
    }
  }

  /** A builder with every default. */
  public static Builder builder() {
    return new Builder();
  }

  /** The defaults. */
  public static GroupOptions defaults() {
    return builder().build();
  }

  /** Builds {@link GroupOptions}; see the record's components for meaning and defaults. */
  public static final class Builder {
    private long mainCacheBytes = 64L << 20;
    private long hotCacheBytes = 8L << 20;
    private @Nullable Duration defaultTtl;
    private Duration peerDeadline = Duration.ofSeconds(1);
    private Duration loadDeadline = Duration.ofSeconds(10);
    private int listenPort = -1;
    private String bindAddress = "127.0.0.1";
    private @Nullable String peerSecret;
    private @Nullable String staticSelfUrl;
    private @Nullable List<String> staticPeerUrls;
    private Duration membershipPollInterval = Duration.ofMillis(250);
    private int maxKeyBytes = 1024;

    private Builder() {}

    public Builder mainCacheBytes(long bytes) {
      this.mainCacheBytes = bytes;
      return this;
    }

    public Builder hotCacheBytes(long bytes) {
      this.hotCacheBytes = bytes;
      return this;
    }

    public Builder defaultTtl(@Nullable Duration ttl) {
      this.defaultTtl = ttl;
      return this;
    }

    public Builder peerDeadline(Duration d) {
      this.peerDeadline = d;
      return this;
    }

    public Builder loadDeadline(Duration d) {
      this.loadDeadline = d;
      return this;
    }

    /** Serve the peer protocol on this port (0: any free port); see {@link GroupOptions}. */
    public Builder listenPort(int port) {
      this.listenPort = port;
      return this;
    }

    public Builder bindAddress(String address) {
      this.bindAddress = address;
      return this;
    }

    public Builder peerSecret(@Nullable String secret) {
      this.peerSecret = secret;
      return this;
    }

    /** A fixed membership: this instance's URL and every member's URL (ids are the URLs). */
    public Builder staticPeers(String selfUrl, List<String> peerUrls) {
      this.staticSelfUrl = selfUrl;
      this.staticPeerUrls = List.copyOf(peerUrls);
      return this;
    }

    public Builder membershipPollInterval(Duration d) {
      this.membershipPollInterval = d;
      return this;
    }

    public Builder maxKeyBytes(int bytes) {
      this.maxKeyBytes = bytes;
      return this;
    }

    public GroupOptions build() {
      return new GroupOptions(
          mainCacheBytes,
          hotCacheBytes,
          defaultTtl,
          peerDeadline,
          loadDeadline,
          listenPort,
          bindAddress,
          peerSecret,
          staticSelfUrl,
          staticPeerUrls,
          membershipPollInterval,
          maxKeyBytes);
    }
  }
}
