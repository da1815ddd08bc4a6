package io.lockstep.etcd;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.process.EtcdProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The harness itself: same ports and data across stop, kill and start; nothing left behind. */
class EtcdProcessIT {

  @Test
  void killAndStart_keepPortAndData_closeLeavesNothingBehind() {
    Path dir;
    long pid;
    try (EtcdProcess etcd = new EtcdProcess()) {
      dir = etcd.directory();
      assertThat(etcd.backendUri()).isEqualTo("etcd://127.0.0.1:" + etcd.clientPort());
      assertThat(etcd.clientUrl()).isEqualTo("http://" + etcd.endpoint());
      long rev;
      try (EtcdSource source = new EtcdSource(etcd)) {
        rev = source.put("h", "k", "v".getBytes(UTF_8));
      }
      etcd.kill();
      assertThat(etcd.isRunning()).isFalse();
      etcd.start();
      etcd.restart();
      try (EtcdSource source = new EtcdSource(etcd)) {
        assertThat(source.list("h").getKvs())
            .singleElement()
            .satisfies(kv -> assertThat(kv.getModRevision()).isEqualTo(rev));
      }
      assertThatThrownBy(etcd::start)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("already running");
      assertThat(etcd.logTail(5)).isNotBlank();
      pid = etcd.pid();
    }
    assertThat(dir).doesNotExist();
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(Files.exists(dir)).isFalse();
  }
}
