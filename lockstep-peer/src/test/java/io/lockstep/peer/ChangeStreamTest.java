package io.lockstep.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockstep.spi.Change;
import io.lockstep.spi.FeedListener;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Duplicates, holes, replay and compaction of what an instance received. */
class ChangeStreamTest {
  private final ChangeStream stream = new ChangeStream();

  private static final class Recorder implements FeedListener {
    final List<String> seen = new ArrayList<>();

    @Override
    public void onChanges(long revision, List<Change> changes, long headRevision) {
      seen.add("r" + revision);
    }

    @Override
    public void onProgress(long revision) {
      seen.add("p" + revision);
    }

    @Override
    public void onCompacted(long compactRevision) {
      seen.add("compacted" + compactRevision);
    }

    @Override
    public void onError(Throwable error) {
      seen.add("error");
    }
  }

  private void commit(long rev) {
    stream.onCommit(rev, Change.delete("k" + rev), 10);
  }

  @Test
  void feed_replaysWhatArrived_dropsDuplicates_passesAJumpOn() {
    commit(5);
    commit(6);
    commit(7);
    Recorder r = new Recorder();
    stream.open(6, r, () -> true);
    commit(7);
    commit(8);
    stream.onProgress(8);
    commit(10);
    assertThat(r.seen).containsExactly("r6", "r7", "r8", "p8", "r10");
  }

  @Test
  void feed_fromBeyondWhatArrived_waitsAndSkipsWhatTheListingHad() {
    commit(1);
    Recorder r = new Recorder();
    stream.open(4, r, () -> true);
    commit(2);
    commit(3);
    commit(4);
    assertThat(r.seen).containsExactly("r4");
  }

  @Test
  void feed_fromBeforeWhatIsKept_reportsCompacted() {
    commit(5);
    commit(6);
    commit(9); // a hole: 5 and 6 no longer join what comes
    Recorder r = new Recorder();
    PeerFeed f = stream.open(6, r, () -> true);
    assertThat(r.seen).containsExactly("compacted8");
    commit(10);
    assertThat(r.seen).containsExactly("compacted8");
    assertThat(f.requestProgress()).isFalse();
  }

  @Test
  void closedFeed_getsNothing_andFailAllReportsAnError() {
    Recorder closed = new Recorder();
    stream.open(1, closed, () -> true).close();
    Recorder open = new Recorder();
    stream.open(1, open, () -> true);
    commit(1);
    stream.failAll(new IllegalStateException("closed"));
    commit(2);
    assertThat(closed.seen).isEmpty();
    assertThat(open.seen).containsExactly("r1", "error");
  }

  @Test
  void nextProgress_completesOnAMarkAtOrAboveTheRevision_onlyOnesArrivingAfterTheAsk()
      throws Exception {
    stream.onProgress(7); // before the ask: proves nothing
    CompletableFuture<Long> mark = stream.nextProgress(5);
    CompletableFuture<Long> cancelled = stream.nextProgress(5);
    cancelled.cancel(false);
    assertThat(mark).isNotDone();
    commit(8); // a change is not a mark
    stream.onProgress(4); // below the listing's revision
    assertThat(mark).isNotDone();
    stream.onProgress(8);
    assertThat(mark.get()).isEqualTo(8);
    CompletableFuture<Long> failed = stream.nextProgress(1);
    stream.failAll(new IllegalStateException("closed"));
    assertThat(failed).isCompletedExceptionally();
  }
}
