package io.lockstep.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HistoryTest {
  private final History h = new History();

  private void read(String instance, long start, long end, long rev, long applied) {
    h.record(new History.Read(instance, "k", start, end, rev, applied, -1, History.Expect.NOTHING));
  }

  @Test
  void increasingRevisions_andOverlappingReads_pass() {
    read("a", 0, 10, 5, 5);
    read("a", 11, 20, 7, 7);
    read("a", 15, 30, 5, 6); // overlaps the read that saw 7: not ordered, allowed
    read("b", 0, 10, 3, 3); // another instance may lag
    assertThat(h.check()).isEmpty();
  }

  @Test
  void olderRevisionAfterNewer_onOneInstance_isReportedWithKeyAndInstance() {
    read("http://127.0.0.1:1", 0, 10, 7, 7);
    read("http://127.0.0.1:1", 11, 20, 5, 7);
    assertThat(h.check())
        .anySatisfy(
            v -> {
              assertThat(v.instance()).isEqualTo("http://127.0.0.1:1");
              assertThat(v.key()).isEqualTo("k");
              assertThat(v.what()).contains("revision 5 after it had returned revision 7");
            });
  }

  @Test
  void appliedRevisionGoingBack_isReported() {
    read("a", 0, 10, 5, 9);
    read("a", 11, 20, 5, 8);
    assertThat(h.check())
        .anySatisfy(v -> assertThat(v.what()).contains("applied revision went back from 9"));
  }

  @Test
  void valueAfterAbsence_atOrBelowTheAbsentRevision_isReported() {
    read("a", 0, 10, -1, 9);
    read("a", 11, 20, 8, 9);
    assertThat(h.check())
        .anySatisfy(v -> assertThat(v.what()).contains("after it had answered 404"));
  }

  @Test
  void sessionRead_olderThanMinRevision_isReported() {
    h.record(new History.Read("a", "k", 0, 1, 4, 6, 6, History.Expect.PRESENT));
    h.record(new History.Read("b", "k", 0, 1, 6, 5, 6, History.Expect.PRESENT));
    assertThat(h.check()).extracting(History.Violation::instance).contains("a", "b");
  }
}
