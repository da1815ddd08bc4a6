package io.lockstep.spring;

import io.lockstep.Lockstep;
import io.lockstep.ReplicaStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/**
 * The replica's meters, with the names, types and (no) tags of {@code lockstep serve}'s {@code GET
 * /metrics} (its {@code ServerMetrics}; the list is in {@code docs/operations.md}, "Replica"): read
 * from {@link ReplicaStats} when the registry reads them, one stats snapshot per 100 ms at most.
 * The names are repeated here rather than shared: the server's registration lives in a module a
 * Spring application does not depend on. Thread safe.
 */
public final class LockstepMeterBinder implements MeterBinder {
  private static final long STATS_MAX_AGE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final Lockstep node;
  private volatile @Nullable ReplicaStats last;
  private volatile long lastNanos;

  public LockstepMeterBinder(Lockstep node) {
    this.node = node;
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    gauge(
        registry,
        "lockstep.replica.applied.revision",
        "Last revision applied here",
        s -> s.appliedRevision());
    gauge(
        registry,
        "lockstep.replica.head.revision",
        "Newest revision the source reported",
        s -> s.headRevision());
    gauge(
        registry,
        "lockstep.replica.lag.revisions",
        "Head revision minus applied revision",
        s -> s.lagRevisions());
    TimeGauge.builder(
            "lockstep.replica.lag", this, TimeUnit.MILLISECONDS, b -> b.value(s -> s.lagMillis()))
        .description("How long the oldest change not yet applied has been waiting")
        .register(registry);
    gauge(registry, "lockstep.replica.keys", "Keys in memory", s -> s.keys());
    gauge(
        registry,
        "lockstep.replica.waiters",
        "Reads and writes waiting for a revision",
        s -> s.waiters());
    gauge(
        registry,
        "lockstep.replica.pending.changes",
        "Changes received and not yet applied (queue depth)",
        s -> s.pendingChanges());
    gauge(
        registry,
        "lockstep.replica.pending.changes.peak",
        "Most changes ever waiting to be applied",
        s -> s.peakPendingChanges());
    gauge(
        registry,
        "lockstep.replica.ready",
        "1 once the first listing is applied, else 0",
        s -> s.ready() ? 1 : 0);
    counter(registry, "lockstep.replica.relists", "Re-listings from the source", s -> s.relists());
    counter(
        registry,
        "lockstep.replica.gaps",
        "Revision gaps seen on the feed (each causes a re-listing)",
        s -> s.gaps());
    counter(
        registry,
        "lockstep.replica.resets",
        "Times the source's history went backwards and the replica reset",
        s -> s.resets());
    counter(registry, "lockstep.replica.reconnects", "Feed reconnects", s -> s.reconnects());
    counter(
        registry,
        "lockstep.replica.listener.failures",
        "Change listener calls that threw",
        s -> s.listenerFailures());
    counter(
        registry,
        "lockstep.replica.feed.pauses",
        "Feed pauses because too many changes were waiting",
        s -> s.feedPauses());
    counter(
        registry,
        "lockstep.replica.duplicates.dropped",
        "Revisions the feed delivered twice, dropped",
        s -> s.duplicatesDropped());
  }

  private void gauge(
      MeterRegistry registry, String name, String help, ToDoubleFunction<ReplicaStats> f) {
    Gauge.builder(name, this, b -> b.value(f)).description(help).register(registry);
  }

  private void counter(
      MeterRegistry registry, String name, String help, ToDoubleFunction<ReplicaStats> f) {
    FunctionCounter.builder(name, this, b -> b.value(f)).description(help).register(registry);
  }

  private double value(ToDoubleFunction<ReplicaStats> f) {
    long now = System.nanoTime();
    ReplicaStats s = last;
    if (s == null || now - lastNanos >= STATS_MAX_AGE_NANOS) {
      try {
        s = node.map().replica().stats();
      } catch (RuntimeException closed) {
        return Double.NaN;
      }
      last = s;
      lastNanos = now;
    }
    return f.applyAsDouble(s);
  }
}
