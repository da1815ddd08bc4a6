package io.lockstep;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The revision every registered member had applied when {@link Lockstep#fleet()} asked them: one
 * {@link MemberRevision} per member, as the membership listed them at {@code askedAt}, sorted by
 * member id. A member that could not be asked, or did not answer in time, is in the list with
 * {@code appliedRevision} -1 and the reason in {@code error}.
 *
 * <p>What it does not say: the members are those listed at that moment, so an instance that joins a
 * moment later is not in it, and one that crashed stays in it (unreachable) until its membership
 * expires (see {@link Lockstep#watchMembers}); each answer is one member's view at the moment it
 * answered, not one instant across the fleet. Applied revisions never go back, so "every member has
 * applied R" stays true for those members once seen.
 *
 * @param members one entry per member listed ({@link Lockstep#fleet()} sorts them by member id); an
 *     unmodifiable copy
 * @param askedAt when the membership was read
 */
public record FleetStatus(List<MemberRevision> members, Instant askedAt) {

  /**
   * The path every member serves its applied revision on, over HTTP at its {@link Member#url()}:
   * {@code GET /_lockstep/replica}, answering {@code
   * {"member":"<id>","appliedRevision":N,"headRevision":M}} (JSON; more fields may follow). It
   * needs the peer credential ({@link LockstepBuilder#peerSecret}) when one is set. The server
   * serves it; an application without an HTTP server of its own serves it with {@link
   * LockstepBuilder#listen}.
   */
  public static final String REPLICA_PATH = "/_lockstep/replica";

  public FleetStatus {
    members = List.copyOf(members);
    Objects.requireNonNull(askedAt, "askedAt");
  }

  /**
   * True when at least one member is listed, every member answered, and each has applied at least
   * {@code revision}. An empty list (no member registered yet, not even this one) has not
   * converged.
   */
  public boolean converged(long revision) {
    if (members.isEmpty()) {
      return false;
    }
    for (MemberRevision m : members) {
      if (!m.reachable() || m.appliedRevision() < revision) {
        return false;
      }
    }
    return true;
  }

  /** The lowest revision applied among the members that answered, or -1 when none answered. */
  public long minApplied() {
    long min = Long.MAX_VALUE;
    for (MemberRevision m : members) {
      if (m.reachable()) {
        min = Math.min(min, m.appliedRevision());
      }
    }
    return min == Long.MAX_VALUE ? -1 : min;
  }

  /** The members that did not answer (their {@code error} says why), in id order. */
  public List<MemberRevision> unreachable() {
    return members.stream().filter(m -> !m.reachable()).toList();
  }

  /**
   * The members that answered but had not applied {@code revision}, in id order: those an {@link
   * Lockstep#awaitFleet} for it still waits for, with {@link #unreachable()}.
   */
  public List<MemberRevision> behind(long revision) {
    return members.stream().filter(m -> m.reachable() && m.appliedRevision() < revision).toList();
  }

  /**
   * One member's answer: the revision it had applied, or, when it could not be asked or did not
   * answer in time, -1 and why. (A nested record of {@link FleetStatus}: it means nothing apart
   * from one.)
   *
   * @param member the member as the membership listed it
   * @param appliedRevision the highest revision it had applied ({@link Replica#appliedRevision()}),
   *     or -1 when it did not answer
   * @param error why it did not answer (no advertised URL, connection refused, timed out, refused
   *     the credential, answered for another instance...), or null when it answered
   */
  public record MemberRevision(Member member, long appliedRevision, @Nullable String error) {
    public MemberRevision {
      Objects.requireNonNull(member, "member");
      if (error != null && appliedRevision != -1) {
        throw new IllegalArgumentException(
            "appliedRevision: -1 for a member that did not answer, was " + appliedRevision);
      }
    }

    /** A member that answered. */
    public static MemberRevision answered(Member member, long appliedRevision) {
      return new MemberRevision(member, appliedRevision, null);
    }

    /** A member that did not answer, and why. */
    public static MemberRevision unreachable(Member member, String error) {
      return new MemberRevision(member, -1, Objects.requireNonNull(error, "error"));
    }

    /** True when the member answered ({@code error} is null). */
    public boolean reachable() {
      return error == null;
    }
  }
}
