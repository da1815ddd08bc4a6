package io.lockstep.server;

import io.javalin.router.Endpoint;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * What the server tells its operator about who can reach it: a warning at start and then every
 * {@link #INTERVAL} while it listens on an address other than loopback without access tokens (only
 * possible with {@link AccessSettings#insecure()}), and a note at start when tokens are set but no
 * cluster secret, so fan-out to other members will be refused.
 */
final class Exposure implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(Exposure.class.getName());

  /** How often the warning of an insecure server repeats. */
  static final Duration INTERVAL = Duration.ofMinutes(1);

  private final ServerSettings settings;
  private final Supplier<String> url;
  private final Duration interval;
  private @Nullable ScheduledExecutorService timer;

  Exposure(ServerSettings settings, Supplier<String> url) {
    this(settings, url, INTERVAL);
  }

  Exposure(ServerSettings settings, Supplier<String> url, Duration interval) {
    this.settings = settings;
    this.url = url;
    this.interval = interval;
  }

  /** Whether anyone who reaches the port may use every route. */
  boolean insecure() {
    return !HostCheck.isLoopback(settings.bindHost()) && !settings.access().authRequired();
  }

  /** Logs what needs saying now, and starts repeating the warning of an insecure server. */
  synchronized void start() {
    if (settings.access().authRequired() && settings.access().clusterSecret() == null) {
      LOG.log(
          Level.WARNING,
          "access tokens are set but no cluster secret: other members will refuse this one's"
              + " calls, so /cluster shows them unreachable and /api/v1/refresh cannot confirm"
              + " them; give every member the same --cluster-secret-file or"
              + " LOCKSTEP_CLUSTER_SECRET");
    }
    if (!insecure()) {
      return;
    }
    warn();
    ScheduledExecutorService t =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("lockstep-insecure-warning").unstarted(r));
    t.scheduleAtFixedRate(
        this::warn, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    timer = t;
  }

  private void warn() {
    LOG.log(
        Level.WARNING,
        "INSECURE: listening on "
            + settings.bindHost()
            + " ("
            + url.get()
            + ") without access tokens: anyone who can reach this port can read, change and"
            + " delete every value. Give tokens (--token-file or LOCKSTEP_TOKENS) or listen on"
            + " 127.0.0.1; see docs/security.md");
  }

  @Override
  public synchronized void close() {
    if (timer != null) {
      timer.shutdownNow();
      timer = null;
    }
  }

  /** Fails unless every route carries its {@link Rule}: a route without one is a mistake. */
  static void requireRules(List<Endpoint> endpoints) {
    for (Endpoint e : endpoints) {
      if (e.getRoles().stream().noneMatch(r -> r instanceof Rule)) {
        throw new IllegalStateException(
            "route " + e.getMethod() + " " + e.getPath() + " has no access rule (Rule role)");
      }
    }
  }
}
