package io.lockstep.redis;

import io.lettuce.core.MapScanCursor;
import io.lettuce.core.ScanCursor;
import io.lockstep.BackendUnavailableException;
import io.lockstep.Versioned;
import io.lockstep.spi.Change;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.Snapshot;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.IntFunction;
import org.jspecify.annotations.Nullable;

/**
 * One listing of the map, page by page, never blocking Redis for more than one page, exact at one
 * revision however the map changes meanwhile.
 *
 * <h2>How</h2>
 *
 * <ol>
 *   <li><em>Start</em>: {@code snapshot.lua} reads the counter {@code R0}, the history id ({@code
 *       <ns>:epoch}, created with {@code SET NX} when missing) and the number of entries,
 *       atomically; {@code INFO server} before it names the server process ({@code run_id}).
 *   <li><em>Pages</em>: {@code HSCAN <ns>:data cursor COUNT page_size}, one command per page, each
 *       bounded by the timeout and reported to the {@link ListingProgress}; none is sent once the
 *       listing is cancelled. A key met twice (HSCAN may return an element more than once) keeps
 *       the later read.
 *   <li><em>End</em>: {@code range.lua} from {@code R0 + 1} reads the counter {@code R1}, the epoch
 *       and the stream's first changes after {@code R0}, atomically; more {@code range.lua} calls
 *       read the rest up to {@code R1}. The changes {@code R0 + 1 .. R1} are replayed on the
 *       scanned entries in order (a put sets the key's envelope, a delete removes the key). Then
 *       {@code INFO server} again.
 * </ol>
 *
 * <p>Why that is the map at {@code R1} exactly: HSCAN returns every field present from the start to
 * the end of the scan, and the scan runs after {@code R0} was read and before {@code R1} was. A key
 * no change of {@code R0 + 1 .. R1} touched kept one value (or its absence) the whole time, and the
 * scan read that; a key one of them touched ends as its last such change says, whatever the scan
 * read (or missed) of it.
 *
 * <p>It fails, and the engine lists again after its backoff, when that reasoning does not hold: the
 * stream no longer holds every change of {@code R0 + 1 .. R1} (trimmed by {@code stream_max_len}:
 * more changes during the listing than the stream keeps), a change in that range is malformed, the
 * epoch changed (Redis lost its data meanwhile), the counter went back, or the server process
 * changed ({@code run_id}: a restart or a failover, after which an HSCAN cursor no longer
 * guarantees anything and writes may have been lost). Values that are not Lockstep envelopes are
 * skipped, counted and logged once per key, as {@link RedisBackend} says.
 *
 * <p>Thread safety: one step at a time, each started by the completion of the one before (on
 * Lettuce's event loop, or the test hook's thread); the completions order them.
 */
final class RedisListing {
  private static final System.Logger LOG = System.getLogger(RedisListing.class.getName());

  private final RedisBackend backend;
  private final ListingProgress progress;
  private final String ns;
  private final @Nullable IntFunction<? extends CompletionStage<?>> beforePage;
  private final CompletableFuture<Snapshot> result = new CompletableFuture<>();

  private String runId = "";
  private long startRevision;
  private String epoch = Snapshot.NO_EPOCH;
  private Map<String, Versioned> entries = new HashMap<>();
  private final Map<String, String> foreign = new HashMap<>(); // key -> why it is not an envelope
  private int pages;
  private long revision = -1; // R1, once the end read it
  private long next; // the next revision to replay

  RedisListing(
      RedisBackend backend,
      ListingProgress progress,
      @Nullable IntFunction<? extends CompletionStage<?>> beforePage) {
    this.backend = backend;
    this.progress = progress;
    this.ns = backend.namespace();
    this.beforePage = beforePage;
  }

  /** Runs the listing; the future fails with the SPI's exceptions, or when cancelled. */
  CompletableFuture<Snapshot> run() {
    if (!stopped(null)) {
      backend
          .runId()
          .thenCompose(
              id -> {
                runId = id;
                return backend.listingStart();
              })
          .whenComplete((reply, err) -> step(err, () -> started(reply)));
    }
    return result;
  }

  private void started(List<Object> reply) {
    startRevision = (Long) reply.get(0);
    epoch = RedisBackend.epochOf(reply.get(1));
    long size = (Long) reply.get(2);
    entries = HashMap.newHashMap((int) Math.min(size, 50_000_000));
    page(ScanCursor.INITIAL);
  }

  private void page(ScanCursor cursor) {
    if (stopped(null)) {
      return;
    }
    IntFunction<? extends CompletionStage<?>> hook = beforePage;
    if (hook == null) {
      scan(cursor);
    } else {
      hook.apply(pages).whenComplete((v, err) -> step(err, () -> scan(cursor)));
    }
  }

  private void scan(ScanCursor cursor) {
    if (stopped(null)) {
      return;
    }
    backend.scanPage(cursor).whenComplete((c, err) -> step(err, () -> scanned(c)));
  }

  private void scanned(MapScanCursor<byte[], byte[]> c) {
    Map<byte[], byte[]> page = c.getMap();
    for (Map.Entry<byte[], byte[]> e : page.entrySet()) {
      String key = new String(e.getKey(), StandardCharsets.UTF_8);
      try {
        entries.put(key, RedisValueCodec.decodeEnvelope(key, e.getValue()));
        if (!foreign.isEmpty()) {
          foreign.remove(key);
        }
      } catch (IllegalArgumentException ex) {
        entries.remove(key);
        foreign.put(key, ex.getMessage());
      }
    }
    pages++;
    progress.page(page.size());
    if (c.isFinished()) {
      next = startRevision + 1;
      replay();
    } else {
      page(c);
    }
  }

  /** Reads the stream from {@link #next}, the first time fixing {@code R1}, and replays it. */
  private void replay() {
    if (stopped(null)) {
      return;
    }
    backend.range(next).whenComplete((reply, err) -> step(err, () -> replayed(reply)));
  }

  private void replayed(List<Object> reply) {
    if (revision < 0) {
      revision = (Long) reply.get(0);
      String endEpoch = RedisBackend.epochOf(reply.size() > 2 ? reply.get(2) : null);
      if (!endEpoch.equals(epoch)) {
        fail(
            "the history id "
                + ns
                + ":epoch changed from "
                + epoch
                + " to "
                + endEpoch
                + " while it ran (Redis lost its data)");
        return;
      }
      if (revision < startRevision) {
        fail(
            "the revision counter went back from "
                + startRevision
                + " to "
                + revision
                + " while it ran (Redis lost acknowledged writes)");
        return;
      }
    }
    List<?> batch = (List<?>) reply.get(1);
    for (Object o : batch) {
      if (next > revision) {
        break;
      }
      List<?> entry = (List<?>) o;
      long rev = RedisFeed.revisionOf((byte[]) entry.get(0));
      if (rev < next) {
        continue;
      }
      if (rev > next) {
        trimmed(rev);
        return;
      }
      RedisValueCodec.Message m;
      try {
        m = RedisValueCodec.decodeMessage(RedisFeed.field((List<?>) entry.get(1)));
        if (m.revision() != rev) {
          throw new IllegalArgumentException("it carries revision " + m.revision());
        }
      } catch (IllegalArgumentException ex) {
        backend.countUndecodable();
        fail(
            "stream entry "
                + rev
                + "-0 of "
                + ns
                + ":log, a change it must replay, is malformed ("
                + ex.getMessage()
                + ")");
        return;
      }
      apply(m.change());
      next = rev + 1;
    }
    progress.page(0); // progress, but changes rather than entries
    if (next > revision) {
      finish();
    } else if (batch.size() >= RedisBackend.RANGE_BATCH) {
      replay();
    } else {
      trimmed(-1);
    }
  }

  private void apply(Change change) {
    if (change.type() == Change.Type.PUT) {
      entries.put(change.key(), change.value());
    } else {
      entries.remove(change.key());
    }
    if (!foreign.isEmpty()) {
      foreign.remove(change.key());
    }
  }

  /**
   * The stream lacks revision {@link #next}: its first entry from there is {@code found}, or none.
   */
  private void trimmed(long found) {
    fail(
        "the stream "
            + ns
            + ":log no longer holds revision "
            + next
            + (found < 0 ? " (it ends before)" : " (it goes on at " + found + ")")
            + ", which the listing must replay up to "
            + revision
            + ": more than stream_max_len changes ("
            + backend.streamMaxLen()
            + ") came while it read "
            + pages
            + " pages from revision "
            + startRevision
            + "; it is retried, a larger stream_max_len or page_size lets it finish under more"
            + " writes");
  }

  private void finish() {
    if (stopped(null)) {
      return;
    }
    backend.runId().whenComplete((id, err) -> step(err, () -> finished(id)));
  }

  private void finished(String endRunId) {
    if (!endRunId.equals(runId)) {
      fail(
          "the Redis server changed while it ran (run_id "
              + runId
              + ", now "
              + endRunId
              + ": a restart or a failover; a scan cursor does not carry over)");
      return;
    }
    int skipped = foreign.size();
    if (skipped > 0) {
      int fresh = 0; // skipped keys not logged before
      for (Map.Entry<String, String> f : foreign.entrySet()) {
        if (backend.foundUndecodable(f.getKey())) {
          fresh++;
          LOG.log(
              Level.WARNING,
              "listing of {0}: skipping key ''{1}'', its value in {0}:data is not a"
                  + " Lockstep envelope (written outside write.lua?): {2}",
              ns,
              f.getKey(),
              f.getValue());
        }
      }
      LOG.log(
          fresh > 0 ? Level.WARNING : Level.DEBUG,
          "listing of {0} at revision {1}: skipped {2} foreign value(s) of {3}",
          ns,
          revision,
          skipped,
          skipped + entries.size());
    }
    result.complete(new Snapshot(revision, new ArrayList<>(entries.values()), epoch));
  }

  /**
   * Runs the next step unless {@code err} failed this one or the listing is over (done, or
   * cancelled by the engine); a step that throws fails the listing.
   */
  private void step(@Nullable Throwable err, Runnable next) {
    if (stopped(err)) {
      return;
    }
    try {
      next.run();
    } catch (RuntimeException e) {
      result.completeExceptionally(e);
    }
  }

  /** Whether the listing is over: done already, failed by {@code err}, or cancelled now. */
  private boolean stopped(@Nullable Throwable err) {
    if (result.isDone()) {
      return true;
    }
    if (err != null) {
      result.completeExceptionally(backend.translate(err, "listing of " + ns, false));
      return true;
    }
    if (progress.isCancelled()) {
      result.completeExceptionally(
          new CancellationException(
              "listing of "
                  + ns
                  + " cancelled after "
                  + pages
                  + " pages ("
                  + entries.size()
                  + " entries)"));
      return true;
    }
    return false;
  }

  private void fail(String why) {
    result.completeExceptionally(
        new BackendUnavailableException(
            "listing of " + ns + " at " + backend.address() + " failed: " + why, null));
  }
}
