package io.lockstep.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ForwardingFeedListenerTest {

  /** Every method of {@link FeedListener}, {@code onEpoch}'s default included, is forwarded. */
  @Test
  void forwardsEveryMethod() throws Exception {
    List<String> missing = new ArrayList<>();
    for (Method m : FeedListener.class.getMethods()) {
      Method impl = ForwardingFeedListener.class.getMethod(m.getName(), m.getParameterTypes());
      if (impl.getDeclaringClass() != ForwardingFeedListener.class) {
        missing.add(m.toString());
      }
    }
    assertThat(missing).isEmpty();
  }

  @Test
  void passesEveryCallOn() {
    List<String> calls = new ArrayList<>();
    FeedListener target =
        new FeedListener() {
          @Override
          public void onChanges(long revision, List<Change> changes, long headRevision) {
            calls.add("changes " + revision + " " + changes.size() + " " + headRevision);
          }

          @Override
          public void onProgress(long revision) {
            calls.add("progress " + revision);
          }

          @Override
          public void onCompacted(long compactRevision) {
            calls.add("compacted " + compactRevision);
          }

          @Override
          public void onError(Throwable error) {
            calls.add("error " + error.getMessage());
          }

          @Override
          public void onEpoch(String epoch) {
            calls.add("epoch " + epoch);
          }
        };
    FeedListener f = new ForwardingFeedListener(target) {};
    f.onEpoch("e1");
    f.onChanges(3, List.of(), 4);
    f.onProgress(5);
    f.onCompacted(2);
    f.onError(new IllegalStateException("x"));
    assertThat(calls)
        .containsExactly("epoch e1", "changes 3 0 4", "progress 5", "compacted 2", "error x");
  }
}
