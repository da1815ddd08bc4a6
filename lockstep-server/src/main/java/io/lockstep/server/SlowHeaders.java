package io.lockstep.server;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConnection;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.component.AbstractLifeCycle;

/**
 * Closes connections whose request line and headers take longer than a bound to arrive (the
 * slowloris attack: a header byte every few seconds keeps a connection's idle timeout from ever
 * firing, and Jetty 11 has no bound of its own on the time a request's headers take). A sweep every
 * quarter of the bound (at most 1 s) looks at each connection's parser: one caught in the middle of
 * the same request's headers for longer than the bound is closed. A connection waiting between
 * requests is left to the idle timeout. A Jetty bean: it runs while the server runs.
 */
final class SlowHeaders extends AbstractLifeCycle {
  private static final System.Logger LOG = System.getLogger(SlowHeaders.class.getName());

  private final Server server;
  private final long boundNanos;
  private final long periodNanos;
  private final long minBytesPerSecond;
  private final Map<EndPoint, Seen> seen = new ConcurrentHashMap<>();
  private final AtomicLong closed = new AtomicLong();
  private volatile ScheduledExecutorService timer;

  /**
   * A connection first seen in the middle of a request's headers (or its body) at {@code since},
   * with {@code messages} requests read before and {@code bytes} read so far.
   */
  private record Seen(long messages, boolean body, long since, long bytes) {}

  SlowHeaders(Server server, Duration bound, long minBytesPerSecond) {
    this.server = server;
    this.minBytesPerSecond = minBytesPerSecond;
    this.boundNanos = bound.toNanos();
    long quarter = bound.toNanos() / 4;
    this.periodNanos =
        Math.max(TimeUnit.MILLISECONDS.toNanos(50), Math.min(quarter, TimeUnit.SECONDS.toNanos(1)));
  }

  @Override
  protected void doStart() {
    ScheduledExecutorService t =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("lockstep-slow-headers").unstarted(r));
    t.scheduleWithFixedDelay(this::sweep, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
    timer = t;
  }

  @Override
  protected void doStop() {
    ScheduledExecutorService t = timer;
    if (t != null) {
      t.shutdownNow();
    }
    seen.clear();
  }

  /** Connections closed so far for taking too long over their headers. */
  long closedCount() {
    return closed.get();
  }

  void sweep() {
    try {
      long now = System.nanoTime();
      Set<EndPoint> live = new HashSet<>();
      for (Connector c : server.getConnectors()) {
        for (EndPoint ep : c.getConnectedEndPoints()) {
          live.add(ep);
          if (!(ep.getConnection() instanceof HttpConnection http)) {
            continue;
          }
          HttpParser parser = http.getParser();
          boolean headers = parser.inHeaderState() && !parser.isState(HttpParser.State.START);
          boolean body = !headers && parser.inContentState() && minBytesPerSecond > 0;
          if (!headers && !body) {
            seen.remove(ep); // between requests, or the request read: not this bound's business
            continue;
          }
          long messages = http.getMessagesIn();
          long bytes = http.getBytesIn();
          Seen s =
              seen.compute(
                  ep,
                  (k, old) ->
                      old != null && old.messages() == messages && old.body() == body
                          ? old
                          : new Seen(messages, body, now, bytes));
          long elapsed = now - s.since();
          boolean tooSlow =
              headers
                  ? elapsed > boundNanos
                  : elapsed > boundNanos
                      && bytes - s.bytes()
                          < minBytesPerSecond * ((elapsed - boundNanos) / 1_000_000) / 1000;
          if (tooSlow) {
            seen.remove(ep);
            closed.incrementAndGet();
            ep.close();
          }
        }
      }
      seen.keySet().retainAll(live);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "the sweep of slow request headers failed", e);
    }
  }
}
