package io.lockstep.internal;

import io.lockstep.BackendUnavailableException;
import io.lockstep.ClusterCounter;
import io.lockstep.Codec;
import io.lockstep.CounterOptions;
import io.lockstep.DriftReport;
import io.lockstep.DriftTarget;
import io.lockstep.FleetStatus;
import io.lockstep.GroupOptions;
import io.lockstep.Loader;
import io.lockstep.LoadingGroup;
import io.lockstep.Lockstep;
import io.lockstep.LockstepConfig;
import io.lockstep.Member;
import io.lockstep.Registration;
import io.lockstep.ReplicaMode;
import io.lockstep.ReplicatedMap;
import io.lockstep.TypedMap;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.Backoff;
import io.lockstep.spi.Membership;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** One node: a backend, the replicated map over it, and this instance's membership registration. */
public final class LockstepNode implements Lockstep {
  private static final System.Logger LOG = System.getLogger(LockstepNode.class.getName());
  private static final Backoff REGISTRATION_BACKOFF =
      Backoff.of(Duration.ofMillis(100), Duration.ofSeconds(5));

  private final LockstepConfig config;
  private final Backend backend;
  private final Replicator map;
  private final Reconciler reconciler;
  private final Member self;
  private final ScheduledExecutorService retry;
  private final ScheduledExecutorService timer;
  private final Counters counters;
  private final Backoff.Attempts registrationBackoff; // one registration loop at a time
  private final Set<Registration> memberWatches = ConcurrentHashMap.newKeySet();
  private final ConcurrentHashMap<String, GroupEngine> groups = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, CodecMap<?>> typedMaps = new ConcurrentHashMap<>();
  private final @Nullable EmbeddedListener listener; // the node's own, with LockstepBuilder.listen
  private final byte @Nullable [] expectedAuthorization; // "Bearer <peerSecret>"
  private final Fleet fleet;
  private volatile Membership.Registration registration;
  private volatile boolean closed;
  private volatile boolean left; // left membership: register no more

  public LockstepNode(LockstepConfig config) {
    this.config = config;
    // The listener binds first, so that the URL this instance registers names the port bound; it
    // serves once start() runs.
    this.listener =
        config.listens() ? new EmbeddedListener(config.listenAddress(), config.listenPort()) : null;
    this.expectedAuthorization =
        config.peerSecret() == null
            ? null
            : ("Bearer " + config.peerSecret()).getBytes(StandardCharsets.UTF_8);
    try {
      this.backend =
          config.backend() != null
              ? config.backend()
              : Backends.open(
                  config.backendUri(),
                  new BackendContext(
                      config.keyPrefix(), config.instanceId(), config.operationTimeout()));
    } catch (RuntimeException | Error e) {
      if (listener != null) {
        listener.close();
      }
      throw e;
    }
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> daemon(r, "lockstep-timer-" + config.instanceId()));
    this.map = new Replicator(backend, config, Ticker.system(), Scheduler.of(timer));
    this.reconciler = new Reconciler(map, backend, config);
    String url =
        !config.advertiseUrl().isEmpty() || listener == null
            ? config.advertiseUrl()
            : listener.url().toString();
    this.self = new Member(config.instanceId(), url, Instant.now());
    this.retry =
        Executors.newSingleThreadScheduledExecutor(
            r -> daemon(r, "lockstep-membership-" + config.instanceId()));
    this.counters =
        new Counters(
            backend::counters, config.operationTimeout(), retry, config.backendCallObserver());
    this.registrationBackoff =
        REGISTRATION_BACKOFF.attempts(new SplittableRandom(config.randomSeed()).split());
    this.fleet = new Fleet(config, self, this::members, map::appliedRevision);
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  public void start() {
    if (listener != null) {
      listener.serveReplica(this::peerAuthorized, this::replicaAnswer);
      listener.start();
    }
    map.start();
    register();
  }

  /** True when a request with this {@code Authorization} value may ask this node as a peer. */
  private boolean peerAuthorized(@Nullable String authorizationHeader) {
    byte[] expected = expectedAuthorization;
    return expected == null
        || (authorizationHeader != null
            && MessageDigest.isEqual(
                expected, authorizationHeader.getBytes(StandardCharsets.UTF_8)));
  }

  /** The body of this node's {@code GET /_lockstep/replica}. */
  private String replicaAnswer() {
    return ReplicaWire.write(self.id(), map.appliedRevision(), map.headRevision());
  }

  /**
   * The embedded listener's base URL, or null without {@link io.lockstep.LockstepBuilder#listen}.
   */
  public @Nullable URI listenUrl() {
    return listener == null ? null : listener.url();
  }

  @Override
  public CompletableFuture<FleetStatus> fleet() {
    return fleet.status();
  }

  @Override
  public CompletableFuture<FleetStatus> awaitFleet(long revision, Duration timeout) {
    return fleet.await(revision, timeout);
  }

  /** Registers this instance, retrying with backoff until it succeeds or the node closes. */
  private void register() {
    if (closed || left) {
      return;
    }
    CompletableFuture<Membership.Registration> f;
    try {
      f = backend.membership().register(self);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    // No timeout of our own here: a registration that succeeds late must still be kept (or closed).
    // The backend bounds its own operations.
    f.whenComplete(
        (reg, err) -> {
          if (err == null) {
            boolean keep;
            synchronized (this) {
              keep = !closed && !left;
              if (keep) {
                registration = reg;
              }
            }
            if (!keep) {
              // Not on this thread: it is the backend client's (e.g. Lettuce's event loop), and a
              // registration's close talks to the backend through that same client.
              Thread.ofPlatform()
                  .daemon()
                  .name("lockstep-late-deregistration-" + self.id())
                  .start(reg::close);
            }
            return;
          }
          long delay = registrationBackoff.nextNanos();
          LOG.log(
              Level.WARNING,
              "{0}: membership registration failed, retrying in {1} ms: {2}",
              self.id(),
              delay / 1_000_000,
              err.toString());
          try {
            retry.schedule(this::register, delay, TimeUnit.NANOSECONDS);
          } catch (RuntimeException rejected) {
            // closed
          }
        });
  }

  @Override
  public LockstepConfig config() {
    return config;
  }

  @Override
  public ReplicatedMap map() {
    return map;
  }

  private static final Pattern MAP_NAME = Pattern.compile("[A-Za-z0-9.-][A-Za-z0-9._-]{0,127}");

  @Override
  @SuppressWarnings("unchecked")
  public <V> TypedMap<V> map(String name, Codec<V> codec) {
    if (!MAP_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "map name '"
              + name
              + "': must be 1 to 128 letters, digits or ._-, not starting with _ (reserved)");
    }
    if (config.mode() != ReplicaMode.FULL) {
      throw new IllegalStateException(
          "typed map '" + name + "': needs mode FULL, the node runs " + config.mode());
    }
    if (closed) {
      throw new IllegalStateException("node " + self.id() + " is closed");
    }
    synchronized (typedMaps) {
      CodecMap<?> open = typedMaps.get(name);
      if (open == null) {
        open =
            CodecMap.open(name, codec, map, config.callbackExecutor(), config.operationTimeout());
        typedMaps.put(name, open);
      } else if (!open.codec().equals(codec)) {
        throw new IllegalStateException(
            "typed map '" + name + "' is open with " + open.codec() + ", not " + codec);
      }
      return (TypedMap<V>) open;
    }
  }

  @Override
  public CompletableFuture<List<Member>> members() {
    return members(config.operationTimeout());
  }

  /** {@link #members()} bounded by {@code bound}. */
  private CompletableFuture<List<Member>> members(Duration bound) {
    return backend
        .membership()
        .members()
        .orTimeout(bound.toNanos(), TimeUnit.NANOSECONDS)
        .exceptionally(
            err -> {
              Throwable cause =
                  err instanceof java.util.concurrent.CompletionException && err.getCause() != null
                      ? err.getCause()
                      : err;
              if (cause instanceof BackendUnavailableException b) {
                throw b;
              }
              throw new BackendUnavailableException("membership listing failed: " + cause, cause);
            });
  }

  @Override
  public Registration watchMembers(Consumer<List<Member>> listener) {
    java.util.Objects.requireNonNull(listener, "listener");
    if (closed) {
      throw new IllegalStateException("node " + self.id() + " is closed");
    }
    MemberWatch w = new MemberWatch(backend.membership().watch(listener));
    memberWatches.add(w);
    if (closed) { // close() may have run before the add
      w.close();
      throw new IllegalStateException("node " + self.id() + " is closed");
    }
    return w;
  }

  /** A membership watch of this node's, closed with it. */
  private final class MemberWatch implements Registration {
    private final Registration watch;

    MemberWatch(Registration watch) {
      this.watch = watch;
    }

    @Override
    public void close() {
      if (memberWatches.remove(this)) {
        watch.close();
      }
    }
  }

  @Override
  public ClusterCounter counter(String name) {
    return counters.counter(name, CounterOptions.UNBATCHED);
  }

  @Override
  public ClusterCounter counter(String name, CounterOptions options) {
    return counters.counter(name, options);
  }

  @Override
  public AtomicLong localCounter(String name) {
    return counters.local(name);
  }

  @Override
  public void leaveMembership() {
    Membership.Registration reg;
    synchronized (this) {
      if (left) {
        return;
      }
      left = true;
      reg = registration;
      registration = null;
    }
    deregister(reg);
  }

  private static void deregister(Membership.Registration reg) {
    if (reg != null) {
      try {
        reg.close();
      } catch (RuntimeException e) {
        LOG.log(Level.DEBUG, "deregistration failed", e);
      }
    }
  }

  @Override
  public Member self() {
    return self;
  }

  @Override
  public LoadingGroup group(String name, Loader loader, GroupOptions options) {
    if (closed) {
      throw new IllegalStateException("node closed");
    }
    Object[] made = new Object[1];
    // Without a listener of its own or a fixed membership, a group is served on the node's
    // listener, which is where the node's advertised URL points.
    EmbeddedListener serving =
        options.listenPort() < 0 && options.staticPeerUrls() == null ? listener : null;
    GroupEngine g =
        groups.computeIfAbsent(
            name,
            n -> {
              GroupEngine[] self = new GroupEngine[1];
              String selfId =
                  options.staticSelfUrl() != null
                      ? StaticMemberSource.normalise(options.staticSelfUrl())
                      : this.self.id();
              self[0] =
                  new GroupEngine(
                      n,
                      loader,
                      options,
                      selfId,
                      timer ->
                          options.staticPeerUrls() != null
                              ? new StaticMemberSource(selfId, options.staticPeerUrls())
                              : new PollingMemberSource(
                                  this::members,
                                  this::watchMembers,
                                  this.self,
                                  options.membershipPollInterval(),
                                  options.peerDeadline(),
                                  timer),
                      () -> {
                        groups.remove(n, self[0]);
                        if (serving != null) {
                          serving.stopServingGroup(n);
                        }
                      });
              made[0] = self[0];
              return self[0];
            });
    if (made[0] != g) {
      throw new IllegalStateException("group '" + name + "' is already open on this node");
    }
    if (serving != null) {
      serving.serveGroup(g);
    }
    return g;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (GroupEngine g : List.copyOf(groups.values())) {
      g.close();
    }
    for (Registration w : List.copyOf(memberWatches)) {
      w.close();
    }
    counters.close(); // sends waiting batches while the backend is still open
    retry.shutdownNow();
    Membership.Registration reg;
    synchronized (this) {
      reg = registration;
      registration = null;
    }
    deregister(reg);
    if (listener != null) {
      listener.close();
    }
    fleet.close();
    map.close();
    timer.shutdownNow();
    backend.close();
  }

  @Override
  public DriftReport reconcile(boolean repair) {
    return reconciler.reconcile(repair);
  }

  @Override
  public DriftTarget driftTarget() {
    return reconciler;
  }
}
