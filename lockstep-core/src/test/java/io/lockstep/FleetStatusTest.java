package io.lockstep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.FleetStatus.MemberRevision;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** What a fleet status concludes from its members' answers. */
class FleetStatusTest {
  private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

  private static Member m(String id) {
    return new Member(id, "http://" + id + ".test", T);
  }

  private static FleetStatus of(MemberRevision... members) {
    return new FleetStatus(List.of(members), T);
  }

  @Test
  void everyMemberAtOrPastTheRevision_hasConverged() {
    FleetStatus s = of(MemberRevision.answered(m("a"), 7), MemberRevision.answered(m("b"), 9));
    assertThat(s.converged(7)).isTrue();
    assertThat(s.converged(8)).isFalse();
    assertThat(s.minApplied()).isEqualTo(7);
    assertThat(s.behind(8)).extracting(r -> r.member().id()).containsExactly("a");
    assertThat(s.unreachable()).isEmpty();
  }

  @Test
  void anUnreachableMember_keepsTheFleetFromConverging_andIsLeftOutOfTheMinimum() {
    FleetStatus s =
        of(
            MemberRevision.answered(m("a"), 7),
            MemberRevision.unreachable(m("b"), "connection refused"));
    assertThat(s.converged(0)).isFalse();
    assertThat(s.converged(-1)).isFalse();
    assertThat(s.minApplied()).isEqualTo(7);
    assertThat(s.unreachable())
        .extracting(MemberRevision::error)
        .containsExactly("connection refused");
    assertThat(s.unreachable().get(0).appliedRevision()).isEqualTo(-1);
    assertThat(s.behind(100)).extracting(r -> r.member().id()).containsExactly("a");
  }

  @Test
  void noAnswer_hasMinusOneAsMinimum_andAnEmptyFleetNeverConverges() {
    assertThat(of(MemberRevision.unreachable(m("a"), "x")).minApplied()).isEqualTo(-1);
    assertThat(of().minApplied()).isEqualTo(-1);
    assertThat(of().converged(0)).isFalse();
  }

  @Test
  void anUnreachableMember_cannotCarryARevision() {
    assertThatThrownBy(() -> new MemberRevision(m("a"), 3, "timed out"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("appliedRevision");
    assertThat(new MemberRevision(m("a"), 3, null).reachable()).isTrue();
  }

  @Test
  void theStatusIsACopy() {
    java.util.ArrayList<MemberRevision> list = new java.util.ArrayList<>();
    list.add(MemberRevision.answered(m("a"), 1));
    FleetStatus s = new FleetStatus(list, T);
    list.add(MemberRevision.unreachable(m("b"), "x"));
    assertThat(s.members()).hasSize(1);
    assertThatThrownBy(() -> s.members().add(MemberRevision.answered(m("c"), 1)))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void theTimeoutException_namesWhoIsBehindAndWhoDidNotAnswer() {
    FleetStatus s =
        of(
            MemberRevision.answered(m("a"), 9),
            MemberRevision.answered(m("b"), 4),
            MemberRevision.unreachable(m("c"), "no answer within 50 ms"));
    FleetNotConvergedException e =
        new FleetNotConvergedException(9, s, java.time.Duration.ofMillis(300));
    assertThat(e.revision()).isEqualTo(9);
    assertThat(e.lastStatus()).isSameAs(s);
    assertThat(e.getCause()).isInstanceOf(TimeoutException.class);
    assertThat(e.getMessage())
        .contains("revision 9", "300 ms", "members=3", "b@4", "c: no answer within 50 ms")
        .doesNotContain("a@9");
  }
}
