package io.lockstep.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.lockstep.BackendUnavailableException;
import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One watch session: a jetcd watcher on the namespace, translated into {@link FeedListener} calls.
 *
 * <h2>What it does</h2>
 *
 * <ul>
 *   <li>Events of one watch response are grouped by mod revision; each revision with at least one
 *       map key becomes one {@link FeedListener#onChanges} call, in order. Membership records and
 *       keys that are not map keys are left out; a revision holding only those produces no call.
 *   <li>A response without events (a progress notification) becomes {@link
 *       FeedListener#onProgress}. Its revision is the response's header revision only when the
 *       server orders requested progress notifications with events (see {@link ProgressMode});
 *       otherwise it is the last revision this session delivered, which proves the watch alive
 *       without claiming anything etcd did not prove. Likewise the head revision passed with
 *       changes is the response header's only then, and the changes' own revision otherwise.
 *   <li>The first failure ends the session: a compaction becomes {@link FeedListener#onCompacted},
 *       anything else (including the server ending the stream) {@link FeedListener#onError},
 *       exactly once, and the jetcd watcher is closed so that jetcd's own resume never runs: the
 *       engine resumes by opening a new session.
 *   <li>After {@link #close()} or the terminal signal, nothing more is delivered.
 * </ul>
 *
 * <p>Thread safety: jetcd calls in from its gRPC threads, the engine calls {@link
 * #requestProgress()} and {@link #close()} from its own; one lock serialises delivery and state.
 * The lock is never held while calling into jetcd's watch client lock, so the two cannot deadlock.
 */
final class EtcdFeed implements Feed, Watch.Listener {
  private final EtcdBackend backend;
  private final FeedListener listener;
  private final Object lock = new Object();

  // Guarded by lock.
  private Watch.Watcher watcher;
  private boolean done;
  private long lastDelivered;
  private String epoch; // the cluster's history id as last reported; guarded by lock
  private Thread delivering;

  EtcdFeed(EtcdBackend backend, long fromRevision, FeedListener listener) {
    this.backend = backend;
    this.listener = listener;
    this.lastDelivered = fromRevision - 1;
  }

  /** Opens the jetcd watcher; a failure to open is reported like any other failure. */
  void start(Watch watchClient, ByteSequence prefix, long fromRevision) {
    WatchOption option =
        WatchOption.builder()
            .isPrefix(true)
            .withRevision(fromRevision)
            .withPrevKV(false)
            .withProgressNotify(true)
            .withRequireLeader(true)
            .build();
    Watch.Watcher w;
    try {
      w = watchClient.watch(prefix, option, this);
    } catch (RuntimeException e) {
      onError(e);
      return;
    }
    boolean closeNow;
    synchronized (lock) {
      watcher = w;
      closeNow = done; // failed (or closed) while jetcd was still opening it
    }
    if (closeNow) {
      backend.closeLater(w);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // jetcd -> engine
  // ---------------------------------------------------------------------------------------------

  @Override
  public void onNext(WatchResponse response) {
    Watch.Watcher failed = null;
    synchronized (lock) {
      if (done || response.isCreatedNotify()) {
        return;
      }
      delivering = Thread.currentThread();
      try {
        deliver(response);
      } finally {
        delivering = null;
      }
      if (done) {
        failed = watcher; // the response itself was bad
      }
    }
    if (failed != null) {
      backend.closeLater(failed);
    }
  }

  private void deliver(WatchResponse response) {
    long header = response.getHeader().getRevision();
    String clusterEpoch = EtcdBackend.epochOf(response.getHeader().getClusterId());
    if (!clusterEpoch.equals(epoch)) {
      epoch = clusterEpoch;
      listener.onEpoch(clusterEpoch); // before the first delivery from this cluster
    }
    List<WatchEvent> events = response.getEvents();
    if (events.isEmpty()) {
      // A header below what was delivered is never too high to trust: etcd's revisions went back
      // (a restore, a cluster rebuilt empty), which the engine answers with a listing.
      listener.onProgress(
          backend.progressMode().trusted() ? header : Math.min(header, lastDelivered));
      return;
    }
    long rev = 0;
    Map<String, Change> batch = new LinkedHashMap<>();
    for (WatchEvent e : events) {
      KeyValue kv = e.getKeyValue();
      long r = kv.getModRevision();
      if (r != rev) {
        flush(rev, batch, header);
        rev = r;
      }
      String key = backend.mapKey(kv.getKey());
      if (key == null) {
        continue;
      }
      switch (e.getEventType()) {
        case PUT -> batch.put(key, Change.put(backend.toVersioned(key, kv)));
        case DELETE -> batch.put(key, Change.delete(key));
        default -> {
          fail(
              new BackendUnavailableException(
                  "etcd watch sent an event of unknown type at revision "
                      + r
                      + " for key '"
                      + key
                      + "'",
                  null));
          return;
        }
      }
    }
    flush(rev, batch, header);
  }

  private void flush(long rev, Map<String, Change> batch, long header) {
    if (rev == 0) {
      return;
    }
    if (!batch.isEmpty()) {
      // The header is the store's revision, foreign writes included: a head this replica can only
      // reach through progress notifications, so it is reported only when those advance it.
      long head = backend.progressMode().trusted() ? Math.max(header, rev) : rev;
      listener.onChanges(rev, List.copyOf(batch.values()), head);
      batch.clear();
    }
    lastDelivered = Math.max(lastDelivered, rev);
  }

  @Override
  public void onError(Throwable throwable) {
    Watch.Watcher w;
    synchronized (lock) {
      if (done) {
        return;
      }
      w = watcher;
      fail(throwable);
    }
    if (w != null) {
      // Not here: jetcd calls onError holding its watch lock and ends the stream afterwards.
      backend.closeLater(w);
    }
  }

  @Override
  public void onCompleted() {
    // From Watcher.close() (ours: already done, ignored) or the server ending the stream.
    onError(new BackendUnavailableException("etcd ended the watch stream", null));
  }

  /** Delivers the terminal signal. Caller holds the lock. */
  private void fail(Throwable throwable) {
    done = true;
    backend.forget(this);
    Throwable t = EtcdErrors.unwrap(throwable);
    Thread previous = delivering;
    delivering = Thread.currentThread();
    try {
      if (t instanceof CompactedException c) {
        listener.onCompacted(c.getCompactedRevision());
      } else {
        listener.onError(backend.translate(t, "watch", false));
      }
    } finally {
      delivering = previous;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // engine -> jetcd
  // ---------------------------------------------------------------------------------------------

  /**
   * Sends a progress request on this session's stream.
   *
   * @return false when the session has ended or is still opening
   */
  @Override
  public boolean requestProgress() {
    synchronized (lock) {
      if (done || watcher == null) {
        return false;
      }
      try {
        watcher.requestProgress();
        return true;
      } catch (RuntimeException e) {
        return false; // the stream is going away; its error follows
      }
    }
  }

  /** Stops delivery at once and cancels the watch on the server. Closing twice is harmless. */
  @Override
  public void close() {
    Watch.Watcher w;
    boolean insideCallback;
    synchronized (lock) {
      done = true;
      w = watcher;
      watcher = null;
      insideCallback = delivering == Thread.currentThread();
    }
    backend.forget(this);
    if (w == null) {
      return;
    }
    if (insideCallback) {
      backend.closeLater(w);
    } else {
      w.close(); // cancels the gRPC stream; the server drops the watch
    }
  }

  /** Whether this session ended (closed, failed or compacted). */
  boolean isDone() {
    synchronized (lock) {
      return done;
    }
  }

  /**
   * What a requested progress notification proves, by server version.
   *
   * <p>etcd before 3.4.25 and 3.5.8 answers a progress request at once with the store's current
   * revision, on a path that races with the events still queued for the stream (etcd issue 15220):
   * a client can see "progress R" and then an event at a revision below R, and an engine that
   * believed R would drop that event as old. Versions up to 3.4.30 and 3.5.12 may leave a request
   * unanswered on a new watch (etcd issue 17507). Kubernetes relies on requested progress only from
   * 3.4.31, 3.5.13 and 3.6.0 on; so does this backend.
   */
  enum ProgressMode {
    /** Not known yet, or some endpoint is older or did not say: liveness only. */
    LIVENESS_ONLY,
    /** Every endpoint orders requested progress with events: the header revision is used. */
    TRUSTED;

    boolean trusted() {
      return this == TRUSTED;
    }

    /** Whether an etcd server version orders requested progress notifications with events. */
    static boolean ordersProgress(String version) {
      if (version == null) {
        return false;
      }
      String[] parts = version.trim().split("[.-]");
      if (parts.length < 3) {
        return false;
      }
      int major;
      int minor;
      int patch;
      try {
        major = Integer.parseInt(parts[0]);
        minor = Integer.parseInt(parts[1]);
        patch = Integer.parseInt(parts[2]);
      } catch (NumberFormatException e) {
        return false;
      }
      if (major != 3) {
        return major > 3;
      }
      return switch (minor) {
        case 4 -> patch >= 31;
        case 5 -> patch >= 13;
        default -> minor > 5;
      };
    }
  }
}
