package io.lockstep.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.BackendUnavailableException;
import java.io.IOException;
import java.net.ConnectException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class BackendSupportTest {
  private static final Function<Throwable, RuntimeException> UNAVAILABLE =
      t -> new BackendUnavailableException("test failed: " + BackendSupport.detail(t), t);

  @Test
  void revisions_areCheckedAsTheContractSays() {
    assertThatNoException().isThrownBy(() -> BackendSupport.checkFromRevision(1));
    assertThatThrownBy(() -> BackendSupport.checkFromRevision(0))
        .hasMessage("fromRevision: must be >= 1, was 0");
    for (long ok : new long[] {Backend.ANY_REVISION, 0, 1, Long.MAX_VALUE}) {
      assertThatNoException().isThrownBy(() -> BackendSupport.checkExpectedRevision(ok));
    }
    assertThatThrownBy(() -> BackendSupport.checkExpectedRevision(-2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("expectedRevision: must be >= 0 or ANY_REVISION, was -2");
  }

  @Test
  void translate_unwraps_passesContractExceptions_andTranslatesTheRest() {
    BackendUnavailableException unavailable = new BackendUnavailableException("gone", null);
    IllegalArgumentException invalid = new IllegalArgumentException("bad");
    IOException io = new IOException("reset");

    assertThat(
            BackendSupport.translate(
                new CompletionException(new ExecutionException(unavailable)), UNAVAILABLE))
        .isSameAs(unavailable);
    assertThat(BackendSupport.translate(new CompletionException(invalid), UNAVAILABLE))
        .isSameAs(invalid);
    assertThat(BackendSupport.translate(new CompletionException(io), UNAVAILABLE))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessage("test failed: reset")
        .hasCause(io);
    assertThat(BackendSupport.detail(new IllegalStateException()))
        .isEqualTo("IllegalStateException");
  }

  @Test
  void translated_failsWithTheTranslation_andPassesValues() {
    assertThat(BackendSupport.translated(CompletableFuture.completedFuture(7), UNAVAILABLE).join())
        .isEqualTo(7);
    assertThatThrownBy(
            () ->
                BackendSupport.translated(
                        CompletableFuture.failedFuture(new IOException("x")), UNAVAILABLE)
                    .join())
        .hasCauseInstanceOf(BackendUnavailableException.class)
        .hasRootCauseMessage("x");
  }

  @Test
  void anyCause_walksTheChain_andStopsOnACycle() {
    Throwable deep =
        new RuntimeException("outer", new IOException("mid", new ConnectException("refused")));
    assertThat(BackendSupport.anyCause(deep, ConnectException.class::isInstance)).isTrue();
    assertThat(BackendSupport.anyCause(deep, IllegalStateException.class::isInstance)).isFalse();

    RuntimeException a = new RuntimeException("a");
    RuntimeException b = new RuntimeException("b", a);
    a.initCause(b);
    assertThat(BackendSupport.anyCause(a, ConnectException.class::isInstance)).isFalse();
  }

  @Test
  void threads_areDaemons_withTheirNames() throws Exception {
    Thread t = BackendSupport.daemonThreads("pool").newThread(() -> {});
    assertThat(t.isDaemon()).isTrue();
    assertThat(t.getName()).isEqualTo("pool-1");

    ScheduledThreadPoolExecutor housekeeping = BackendSupport.housekeeping("lockstep-test-i1");
    try {
      assertThat(housekeeping.getRemoveOnCancelPolicy()).isTrue();
      Thread ran = housekeeping.submit(Thread::currentThread).get(5, TimeUnit.SECONDS);
      assertThat(ran.getName()).isEqualTo("lockstep-test-i1");
      assertThat(ran.isDaemon()).isTrue();
    } finally {
      housekeeping.shutdownNow();
    }
  }
}
