package io.lockstep.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.lockstep.Member;
import io.lockstep.spi.Backoff;
import io.lockstep.spi.MemberWatchers;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The membership's event source for {@link MemberWatchers}: lists the records under {@code
 * <keyPrefix>/_members/} with the listing's revision, then watches that prefix from the next
 * revision; a put is a join (or a record replaced), a delete a leave, whether by a revoked lease (a
 * clean close) or an expired one (a crash, {@code member_ttl} after the last keep-alive). When the
 * watch fails or its revision was compacted, it lists and watches again (at once after a
 * compaction, with capped backoff after a failure), so a change missed meanwhile shows in the new
 * listing. jetcd's threads only hand events to the sink, which calls listeners elsewhere.
 */
final class EtcdMembersWatch implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(EtcdMembership.class.getName());
  private static final Backoff RETRY = Backoff.of(Duration.ofMillis(200), Duration.ofSeconds(5));

  private final EtcdBackend backend;
  private final MemberWatchers.Sink sink;
  private final ByteSequence prefix;

  // Guarded by this.
  private Watch.Watcher watcher;
  private ScheduledFuture<?> retry;
  private int failures;
  private long session; // which listing-and-watch the callbacks belong to
  private boolean closed;

  EtcdMembersWatch(EtcdBackend backend, MemberWatchers.Sink sink) {
    this.backend = backend;
    this.sink = sink;
    this.prefix = backend.membersPrefix();
  }

  /** Lists the records, then watches from the listing's revision on. */
  void start() {
    long mine;
    synchronized (this) {
      if (closed) {
        return;
      }
      mine = ++session;
    }
    backend
        .mapped(
            backend.kv().get(prefix, GetOption.builder().isPrefix(true).build()),
            "membership listing",
            false)
        .whenComplete(
            (resp, err) -> {
              if (err != null) {
                restart(mine, err, false);
                return;
              }
              List<Member> members = new ArrayList<>();
              for (KeyValue kv : resp.getKvs()) {
                Member m = EtcdMembership.parse(kv.getValue().getBytes());
                if (m != null) {
                  members.add(m);
                }
              }
              synchronized (this) {
                if (closed || mine != session) {
                  return;
                }
                sink.members(members);
              }
              watchFrom(mine, resp.getHeader().getRevision() + 1);
            });
  }

  private void watchFrom(long mine, long revision) {
    WatchOption option =
        WatchOption.builder().isPrefix(true).withRevision(revision).withRequireLeader(true).build();
    Watch.Watcher w;
    try {
      w = backend.watchClient().watch(prefix, option, new Session(mine));
    } catch (RuntimeException e) {
      restart(mine, e, false);
      return;
    }
    boolean stale;
    synchronized (this) {
      stale = closed || mine != session;
      if (!stale) {
        watcher = w;
      }
    }
    if (stale) {
      backend.closeLater(w);
    }
  }

  /** Session {@code mine} failed: list and watch again, unless that is old news. */
  private void restart(long mine, Throwable error, boolean compacted) {
    Watch.Watcher old;
    long delay;
    synchronized (this) {
      if (closed || mine != session) {
        return;
      }
      session++; // later callbacks of the failed session are ignored
      old = watcher;
      watcher = null;
      failures = compacted ? 0 : failures + 1;
      delay =
          compacted
              ? 0
              : TimeUnit.NANOSECONDS.toMillis(
                  RETRY.delayNanos(failures, ThreadLocalRandom.current()));
      retry = backend.schedule(this::start, delay);
    }
    if (old != null) {
      backend.closeLater(old); // never inside jetcd's own callback
    }
    LOG.log(
        Level.DEBUG,
        "membership watch of {0} {1}; listing again in {2} ms",
        prefix.toString(StandardCharsets.UTF_8),
        compacted ? "was compacted" : "failed: " + EtcdErrors.unwrap(error),
        delay);
  }

  @Override
  public void close() {
    Watch.Watcher w;
    synchronized (this) {
      closed = true;
      w = watcher;
      watcher = null;
      if (retry != null) {
        retry.cancel(false);
      }
    }
    if (w != null) {
      backend.closeLater(w);
    }
  }

  /** The callbacks of one watch session. */
  private final class Session implements Watch.Listener {
    private final long mine;

    Session(long mine) {
      this.mine = mine;
    }

    @Override
    public void onNext(WatchResponse response) {
      synchronized (EtcdMembersWatch.this) {
        if (closed || mine != session) {
          return;
        }
        failures = 0;
        for (WatchEvent e : response.getEvents()) {
          KeyValue kv = e.getKeyValue();
          byte[] key = kv.getKey().getBytes();
          int p = prefix.size();
          if (key.length <= p) {
            continue;
          }
          String id = new String(key, p, key.length - p, StandardCharsets.UTF_8);
          switch (e.getEventType()) {
            case PUT -> {
              Member m = EtcdMembership.parse(kv.getValue().getBytes());
              if (m != null) {
                sink.joined(m);
              } else {
                sink.left(id); // a record that is not one lists as nobody
              }
            }
            case DELETE -> sink.left(id);
            default -> {
              // an event type this client does not know: a listing tells what is there
              restart(mine, new IllegalStateException("unknown event " + e.getEventType()), true);
              return;
            }
          }
        }
      }
    }

    @Override
    public void onError(Throwable throwable) {
      Throwable t = EtcdErrors.unwrap(throwable);
      restart(mine, t, t instanceof CompactedException);
    }

    @Override
    public void onCompleted() {
      restart(mine, new IllegalStateException("etcd ended the watch stream"), false);
    }
  }
}
