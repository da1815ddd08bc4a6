package io.lockstep.peer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lockstep.Digests;
import io.lockstep.process.TempDirs;
import io.lockstep.spi.Backend;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.jgroups.protocols.raft.RAFT;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A voter restarted on a wiped data folder says so in its log (WARNING) once its leader sends it
 * entries it has no record of, and the group keeps working: the voter is caught up and takes
 * writes. A group whose voters all start empty together logs no such warning.
 */
class PeerWipedVoterIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private final PeerGroup group = new PeerGroup("wiped-" + System.nanoTime(), 3);

  // System.Logger goes to java.util.logging here (no other provider on the test class path).
  private final Logger jul = Logger.getLogger(CurrentTermRaft.class.getName());
  private final List<LogRecord> warnings = new CopyOnWriteArrayList<>();
  private final Handler capture =
      new Handler() {
        @Override
        public void publish(LogRecord r) {
          if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
            warnings.add(r);
          }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  @AfterEach
  void close() {
    jul.removeHandler(capture);
    group.close();
  }

  private static RAFT raft(PeerBackend b) {
    return b.channel().getProtocolStack().findProtocol(RAFT.class);
  }

  private static void put(PeerBackend via, String key, String value) {
    assertThat(
            via.put(key, value.getBytes(UTF_8), "text/plain", Backend.ANY_REVISION)
                .orTimeout(10, TimeUnit.SECONDS)
                .join()
                .isApplied())
        .isTrue();
  }

  private static MapStateMachine machine(PeerBackend b) {
    return (MapStateMachine) raft(b).stateMachine();
  }

  private static long digest(PeerBackend b) {
    return Digests.of(b.snapshot().orTimeout(10, TimeUnit.SECONDS).join().entries());
  }

  @Test
  void voterRestartedOnAWipedFolder_warnsItHasNoRecord_groupKeepsWorking() {
    jul.addHandler(capture);
    PeerBackend[] voters = new PeerBackend[3];
    for (int i = 0; i < 3; i++) {
      voters[i] = group.backend(group.voterUri(i), "voter-" + i);
    }
    await()
        .atMost(PATIENCE)
        .until(() -> voters[0].isLeader() || voters[1].isLeader() || voters[2].isLeader());
    await().atMost(PATIENCE).ignoreExceptions().untilAsserted(() -> put(voters[0], "k", "v"));
    for (int i = 0; i < 20; i++) {
      put(voters[i % 3], "k" + i, "v" + i);
    }
    assertThat(warnings).as("voters that all started empty together").isEmpty();

    int leader = voters[0].isLeader() ? 0 : voters[1].isLeader() ? 1 : 2;
    int wiped = (leader + 1) % 3;
    voters[wiped].close();
    TempDirs.deleteTree(group.dataDir(wiped));
    voters[wiped] = group.backend(group.voterUri(wiped), "voter-" + wiped + "-again");

    await()
        .atMost(PATIENCE)
        .until(() -> warnings.stream().anyMatch(r -> r.getMessage().contains("empty data folder")));
    LogRecord w = warnings.get(0);
    assertThat(String.valueOf(w.getParameters()[1]))
        .isEqualTo(group.dataDir(wiped).toAbsolutePath().toString());

    // The group keeps working, through the wiped voter too, and it is caught up.
    PeerBackend again = voters[wiped];
    await().atMost(PATIENCE).ignoreExceptions().untilAsserted(() -> put(again, "after", "1"));
    put(voters[leader], "after-2", "2");
    await()
        .atMost(PATIENCE)
        .until(() -> raft(again).commitIndex() >= raft(voters[leader]).commitIndex());
    assertThat(machine(again).revision()).isEqualTo(machine(voters[leader]).revision());
    assertThat(digest(again)).isEqualTo(digest(voters[leader]));
    assertThat(warnings).as("one warning, from the wiped voter only").hasSize(1);
  }
}
