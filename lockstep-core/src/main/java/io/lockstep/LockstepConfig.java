package io.lockstep;

import io.lockstep.spi.Backend;
import java.time.Duration;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * The validated, immutable settings of one node. Build it with {@link LockstepBuilder}, which
 * documents each field and its default. The constructor checks every field, so an invalid
 * configuration cannot exist: it fails with an {@link IllegalArgumentException} naming the field
 * and the value.
 */
public record LockstepConfig(
    @Nullable String backendUri,
    @Nullable Backend backend,
    String keyPrefix,
    String instanceId,
    String advertiseUrl,
    Duration operationTimeout,
    Duration applyTimeout,
    Duration reconnectBackoffMin,
    Duration reconnectBackoffMax,
    Duration progressInterval,
    int maxKeyBytes,
    int maxValueBytes,
    long randomSeed,
    Executor callbackExecutor,
    int maxPendingChanges,
    BackendCallObserver backendCallObserver,
    int maxTotalKeys,
    long maxTotalBytes,
    ReplicaMode mode,
    long nearMaxKeys,
    long nearMaxBytes,
    NearOnChange nearOnChange,
    String listenAddress,
    int listenPort,
    @Nullable String peerSecret) {

  /** The address a node's listener binds when {@link LockstepBuilder#listen} is not given one. */
  public static final String DEFAULT_LISTEN_ADDRESS = "127.0.0.1";

  /** The bound of a near-mode replica given neither a count nor a weight. */
  public static final long DEFAULT_NEAR_MAX_KEYS = 10_000;

  /** Checks every field; see {@link LockstepBuilder} for what each means. */
  public LockstepConfig {
    if (backend == null && (backendUri == null || backendUri.isBlank())) {
      throw new IllegalArgumentException("backend: a backend URI or instance is required");
    }
    if (keyPrefix == null || keyPrefix.isEmpty() || keyPrefix.endsWith("/")) {
      throw new IllegalArgumentException(
          "keyPrefix: must be non-empty and not end with '/', was '" + keyPrefix + "'");
    }
    if (instanceId == null || !instanceId.matches("[A-Za-z0-9._:-]{1,128}")) {
      throw new IllegalArgumentException(
          "instanceId: only letters, digits and ._:- up to 128, was '" + instanceId + "'");
    }
    advertiseUrl = advertiseUrl == null ? "" : advertiseUrl;
    positive("operationTimeout", operationTimeout);
    positive("applyTimeout", applyTimeout);
    positive("reconnectBackoffMin", reconnectBackoffMin);
    positive("progressInterval", progressInterval);
    if (reconnectBackoffMax == null || reconnectBackoffMax.compareTo(reconnectBackoffMin) < 0) {
      throw new IllegalArgumentException(
          "reconnectBackoffMax: must be >= reconnectBackoffMin ("
              + reconnectBackoffMin
              + "), was "
              + reconnectBackoffMax);
    }
    if (maxKeyBytes < 1) {
      throw new IllegalArgumentException("maxKeyBytes: must be >= 1, was " + maxKeyBytes);
    }
    if (maxValueBytes < 0) {
      throw new IllegalArgumentException("maxValueBytes: must be >= 0, was " + maxValueBytes);
    }
    if (callbackExecutor == null) {
      throw new IllegalArgumentException("callbackExecutor: null");
    }
    if (backendCallObserver == null) {
      throw new IllegalArgumentException("backendCallObserver: null");
    }
    if (maxPendingChanges < 1) {
      throw new IllegalArgumentException(
          "maxPendingChanges: must be >= 1, was " + maxPendingChanges);
    }
    if (maxTotalKeys < 1) {
      throw new IllegalArgumentException("maxTotalKeys: must be >= 1, was " + maxTotalKeys);
    }
    if (maxTotalBytes < 1) {
      throw new IllegalArgumentException("maxTotalBytes: must be >= 1, was " + maxTotalBytes);
    }
    if (mode == null) {
      throw new IllegalArgumentException("mode: null");
    }
    if (nearOnChange == null) {
      throw new IllegalArgumentException("nearOnChange: null");
    }
    if (nearMaxKeys < 0) {
      throw new IllegalArgumentException("nearMaxKeys: must be >= 1, was " + nearMaxKeys);
    }
    if (nearMaxBytes < 0) {
      throw new IllegalArgumentException("nearMaxBytes: must be >= 1, was " + nearMaxBytes);
    }
    if (mode == ReplicaMode.FULL && (nearMaxKeys != 0 || nearMaxBytes != 0)) {
      throw new IllegalArgumentException(
          "nearMaxKeys: a near-mode bound needs mode NEAR, was "
              + (nearMaxKeys != 0 ? nearMaxKeys : nearMaxBytes + " bytes")
              + " in mode FULL");
    }
    if (mode == ReplicaMode.NEAR) {
      if (nearMaxKeys != 0 && nearMaxBytes != 0) {
        throw new IllegalArgumentException(
            "nearMaxBytes: bound near mode by count or by weight, not both; was nearMaxKeys "
                + nearMaxKeys
                + " and nearMaxBytes "
                + nearMaxBytes);
      }
      if (nearMaxKeys == 0 && nearMaxBytes == 0) {
        nearMaxKeys = DEFAULT_NEAR_MAX_KEYS;
      }
      if (!(maxTotalKeys == Integer.MAX_VALUE && maxTotalBytes == Long.MAX_VALUE)) {
        throw new IllegalArgumentException(
            "maxTotalKeys: the map totals are checked against the full copy and cannot be kept in"
                + " mode NEAR, was maxTotalKeys "
                + maxTotalKeys
                + ", maxTotalBytes "
                + maxTotalBytes);
      }
    }
    if (listenPort < -1 || listenPort > 65535) {
      throw new IllegalArgumentException("listenPort: -1 (none) or 0..65535, was " + listenPort);
    }
    if (listenAddress == null || listenAddress.isBlank()) {
      throw new IllegalArgumentException(
          "listenAddress: must be an address, was '" + listenAddress + "'");
    }
    listenAddress = listenAddress.strip();
    if (listenPort >= 0 && advertiseUrl.isEmpty() && isWildcard(listenAddress)) {
      throw new IllegalArgumentException(
          "advertiseUrl: a listener on the wildcard address "
              + listenAddress
              + " has no URL other members can use; give advertiseUrl (or listen on one address)");
    }
    if (peerSecret != null && (peerSecret.isBlank() || !peerSecret.matches("[\\x21-\\x7e]+"))) {
      throw new IllegalArgumentException("peerSecret: printable ASCII without spaces");
    }
  }

  private static boolean isWildcard(String address) {
    String a =
        address.startsWith("[") && address.endsWith("]")
            ? address.substring(1, address.length() - 1)
            : address;
    return a.equals("0.0.0.0") || a.matches("[0:]*::[0:]*") || a.equals("*");
  }

  /** Every field but the node listener's and the peer secret's: no listener, no secret. */
  public LockstepConfig(
      @Nullable String backendUri,
      @Nullable Backend backend,
      String keyPrefix,
      String instanceId,
      String advertiseUrl,
      Duration operationTimeout,
      Duration applyTimeout,
      Duration reconnectBackoffMin,
      Duration reconnectBackoffMax,
      Duration progressInterval,
      int maxKeyBytes,
      int maxValueBytes,
      long randomSeed,
      Executor callbackExecutor,
      int maxPendingChanges,
      BackendCallObserver backendCallObserver,
      int maxTotalKeys,
      long maxTotalBytes,
      ReplicaMode mode,
      long nearMaxKeys,
      long nearMaxBytes,
      NearOnChange nearOnChange) {
    this(
        backendUri,
        backend,
        keyPrefix,
        instanceId,
        advertiseUrl,
        operationTimeout,
        applyTimeout,
        reconnectBackoffMin,
        reconnectBackoffMax,
        progressInterval,
        maxKeyBytes,
        maxValueBytes,
        randomSeed,
        callbackExecutor,
        maxPendingChanges,
        backendCallObserver,
        maxTotalKeys,
        maxTotalBytes,
        mode,
        nearMaxKeys,
        nearMaxBytes,
        nearOnChange,
        DEFAULT_LISTEN_ADDRESS,
        -1,
        null);
  }

  /** A full-mode configuration ({@link ReplicaMode#FULL}): every field but the near-mode ones. */
  public LockstepConfig(
      @Nullable String backendUri,
      @Nullable Backend backend,
      String keyPrefix,
      String instanceId,
      String advertiseUrl,
      Duration operationTimeout,
      Duration applyTimeout,
      Duration reconnectBackoffMin,
      Duration reconnectBackoffMax,
      Duration progressInterval,
      int maxKeyBytes,
      int maxValueBytes,
      long randomSeed,
      Executor callbackExecutor,
      int maxPendingChanges,
      BackendCallObserver backendCallObserver,
      int maxTotalKeys,
      long maxTotalBytes) {
    this(
        backendUri,
        backend,
        keyPrefix,
        instanceId,
        advertiseUrl,
        operationTimeout,
        applyTimeout,
        reconnectBackoffMin,
        reconnectBackoffMax,
        progressInterval,
        maxKeyBytes,
        maxValueBytes,
        randomSeed,
        callbackExecutor,
        maxPendingChanges,
        backendCallObserver,
        maxTotalKeys,
        maxTotalBytes,
        ReplicaMode.FULL,
        0,
        0,
        NearOnChange.UPDATE,
        DEFAULT_LISTEN_ADDRESS,
        -1,
        null);
  }

  /**
   * The settings of a node before backend call observers and map totals existed: no observer
   * ({@link BackendCallObserver#NONE}), no bound on the number of keys nor on their total size.
   */
  public LockstepConfig(
      @Nullable String backendUri,
      @Nullable Backend backend,
      String keyPrefix,
      String instanceId,
      String advertiseUrl,
      Duration operationTimeout,
      Duration applyTimeout,
      Duration reconnectBackoffMin,
      Duration reconnectBackoffMax,
      Duration progressInterval,
      int maxKeyBytes,
      int maxValueBytes,
      long randomSeed,
      Executor callbackExecutor,
      int maxPendingChanges) {
    this(
        backendUri,
        backend,
        keyPrefix,
        instanceId,
        advertiseUrl,
        operationTimeout,
        applyTimeout,
        reconnectBackoffMin,
        reconnectBackoffMax,
        progressInterval,
        maxKeyBytes,
        maxValueBytes,
        randomSeed,
        callbackExecutor,
        maxPendingChanges,
        BackendCallObserver.NONE,
        Integer.MAX_VALUE,
        Long.MAX_VALUE);
  }

  /** Every field, as a record shows them, but the peer secret, which shows as {@code ***}. */
  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("LockstepConfig[");
    java.lang.reflect.RecordComponent[] fields = LockstepConfig.class.getRecordComponents();
    for (int i = 0; i < fields.length; i++) {
      Object v;
      try {
        v = fields[i].getAccessor().invoke(this);
      } catch (ReflectiveOperationException e) {
        v = "?";
      }
      if (fields[i].getName().equals("peerSecret") && v != null) {
        v = "***";
      }
      b.append(i == 0 ? "" : ", ").append(fields[i].getName()).append('=').append(v);
    }
    return b.append(']').toString();
  }

  /** True when the node starts a listener of its own ({@link LockstepBuilder#listen}). */
  public boolean listens() {
    return listenPort >= 0;
  }

  /** True in near mode ({@link ReplicaMode#NEAR}). */
  public boolean near() {
    return mode == ReplicaMode.NEAR;
  }

  /** True when neither map total is bounded (the library's default). */
  public boolean unboundedTotals() {
    return maxTotalKeys == Integer.MAX_VALUE && maxTotalBytes == Long.MAX_VALUE;
  }

  /** Keys under this prefix are reserved for membership records and refused by the map. */
  public static final String RESERVED_PREFIX = "_members/";

  /**
   * Keys under this prefix are reserved for cluster counters (where a backend keeps them as keys)
   * and refused by the map.
   */
  public static final String COUNTERS_PREFIX = "_counters/";

  /**
   * Keys under this prefix are reserved for remembered request ids (where a backend keeps them as
   * keys, as etcd does) and refused by the map.
   */
  public static final String IDEMPOTENCY_PREFIX = "_idem/";

  /** The reserved prefixes, in the order messages name them. */
  public static final java.util.List<String> RESERVED_SEGMENTS =
      java.util.List.of(RESERVED_PREFIX, COUNTERS_PREFIX, IDEMPOTENCY_PREFIX);

  /**
   * True for a key the map refuses because a reserved prefix starts one of its {@code /}-separated
   * segments: at the start ({@code _members/x}) or anywhere after a {@code /} ({@code
   * prod/_members/x}). Refusing them anywhere matters because key prefixes nest: with prefix {@code
   * app}, the key {@code prod/_members/x} would be the backend key {@code app/prod/_members/x}, a
   * membership record of the node with prefix {@code app/prod}.
   */
  public static boolean isReservedKey(String key) {
    for (String reserved : RESERVED_SEGMENTS) {
      if (key.startsWith(reserved) || key.contains("/" + reserved)) {
        return true;
      }
    }
    return false;
  }

  private static void positive(String field, Duration d) {
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(field + ": must be a positive duration, was " + d);
    }
  }
}
