package io.lockstep.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The life cycle of a plain child process: start, readiness, signals, restart, log, close. */
class ManagedProcessTest {
  private static final Duration READY = Duration.ofSeconds(10);

  @TempDir Path tmp;

  private ManagedProcess.Builder shell(String script) {
    return ManagedProcess.builder("test-shell")
        .command(() -> List.of("/bin/sh", "-c", script))
        .log(tmp.resolve("out.log"));
  }

  @Test
  void lifeCycle_startPauseResumeStopKillRestart_onTheSameCommand() {
    try (ManagedProcess p = shell("echo started; exec sleep 60").build()) {
      assertThat(p.isAlive()).isFalse();
      p.start().awaitReady(READY);
      long first = p.pid();
      assertThat(p.isAlive()).isTrue();
      assertThatThrownBy(p::start)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("already running");
      p.pause();
      assertThat(p.isPaused()).isTrue();
      p.resume();
      assertThat(p.isPaused()).isFalse();
      p.pause();
      p.stop(); // thaws first: a stopped process does not act on SIGTERM
      assertThat(p.isAlive()).isFalse();
      p.restart(READY);
      assertThat(p.pid()).isNotEqualTo(first);
      p.kill();
      assertThat(p.isAlive()).isFalse();
      p.start();
      assertThat(p.logTail(10)).contains("=== start /bin/sh -c", "started");
    }
  }

  @Test
  void awaitReady_pollsTheProbe_andReportsItsLastAnswer_whenNeverReady() {
    AtomicInteger checks = new AtomicInteger();
    try (ManagedProcess ready =
        shell("exec sleep 60")
            .readiness(
                () -> {
                  if (checks.incrementAndGet() < 3) {
                    throw new IOException("not yet " + checks.get());
                  }
                })
            .build()) {
      ready.start().awaitReady(READY);
      assertThat(checks.get()).isEqualTo(3);
    }
    try (ManagedProcess never =
        shell("exec sleep 60")
            .readiness(
                () -> {
                  throw new IOException("still warming up");
                })
            .build()) {
      assertThatThrownBy(() -> never.start().awaitReady(Duration.ofMillis(200)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("test-shell not ready within 200 ms (last: still warming up)");
      assertThat(never.isAlive()).as("left as it is").isTrue();
    }
  }

  @Test
  void awaitReady_failsWithTheExitStatusAndTheLogTail_whenTheProcessExitsFirst() {
    try (ManagedProcess p =
        shell("echo 'bad flag --x'; exit 3")
            .readiness(
                () -> {
                  throw new IOException("refused");
                })
            .build()) {
      assertThatThrownBy(() -> p.start().awaitReady(READY))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("test-shell exited with status 3 before it was ready")
          .hasMessageContaining("bad flag --x");
    }
  }

  @Test
  void close_killsTheProcess_deletesTheOwnedDirectory_andForbidsAStart() throws IOException {
    Path owned = Files.createDirectory(tmp.resolve("owned"));
    ManagedProcess p =
        ManagedProcess.builder("owner")
            .command(() -> List.of("sleep", "60"))
            .log(owned.resolve("log"))
            .deleteOnClose(owned)
            .environment(Map.of("X_TEST", "1"))
            .build();
    p.start();
    long pid = p.pid();
    p.close();
    p.close();
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(owned).doesNotExist();
    assertThatThrownBy(p::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("was closed");
  }

  @Test
  void builder_requiresACommandAndALog() {
    assertThatThrownBy(() -> ManagedProcess.builder("x").log(tmp.resolve("l")).build())
        .hasMessageContaining("command");
    assertThatThrownBy(() -> ManagedProcess.builder("x").command(List::of).build())
        .hasMessageContaining("log");
  }
}
