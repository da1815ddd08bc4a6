package io.lockstep.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockstep.testkit.InMemorySource;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ForwardingBackendTest {

  /**
   * Every method of {@link Backend}, its default methods included, is forwarded: a method added to
   * the SPI later fails this test until {@link ForwardingBackend} passes it on too (otherwise a
   * decorator would quietly run {@link Backend}'s default instead of the wrapped backend's own).
   */
  @Test
  void forwardsEveryMethodOfTheSpi() throws Exception {
    List<String> missing = new ArrayList<>();
    for (Method m : Backend.class.getMethods()) {
      if (Modifier.isStatic(m.getModifiers())) {
        continue;
      }
      Method impl = ForwardingBackend.class.getMethod(m.getName(), m.getParameterTypes());
      if (impl.getDeclaringClass() != ForwardingBackend.class) {
        missing.add(m.toString());
      }
    }
    assertThat(missing).isEmpty();
  }

  @Test
  void passesCallsToTheWrappedBackend() {
    try (InMemorySource source = new InMemorySource(RevisionModel.CONTIGUOUS)) {
      Backend wrapped = new ForwardingBackend(source.backend()) {};
      assertThat(wrapped.revisionModel()).isEqualTo(RevisionModel.CONTIGUOUS);
      long r =
          wrapped
              .put("k", new byte[] {7}, "application/octet-stream", -1, "req-1")
              .join()
              .revision();
      assertThat(source.revision()).isEqualTo(r);
      assertThat(wrapped.get("k").join().entry().value()).containsExactly(7);
      assertThat(wrapped.snapshot(ListingProgress.NONE).join().entries()).hasSize(1);
      assertThat(wrapped.delete("k", r, "req-2").join().revision()).isGreaterThan(r);
      assertThat(wrapped.snapshot().join().entries()).isEmpty();
    }
  }
}
